"""Fashion-MNIST from the standard idx files (gzipped or plain), parsed with numpy.

Directory search order: ``data.data_dir``, else ``$SEMCOM_DATA``, else
``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``).
"""

from __future__ import annotations

import functools
import gzip
import zlib
from pathlib import Path

import numpy as np

from semcom_sim.data.base import DataError, fingerprint_arrays, read_only, resolve_data_dir

IMAGE_SHAPE = (28, 28, 1)

__all__ = [
    "CLASS_NAMES", "NAME", "DEFAULT_DATA_DIR", "ENV_VAR", "FILES", "IMAGES_MAGIC", "LABELS_MAGIC",
    "find_data_dir", "load_arrays", "read_idx", "write_idx",
]

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
NAME = "fashion-mnist"
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "SEMCOM_DATA"
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
FILES = {  # (split, kind) -> file stem; each may also carry a ".gz" suffix
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def find_data_dir(data_dir: str | None) -> tuple[Path, str]:
    """The directory to read and where that choice came from (``"data.data_dir"``, ``"$SEMCOM_DATA"``
    or ``"default"``)."""
    return resolve_data_dir(data_dir, ENV_VAR, DEFAULT_DATA_DIR, "data.data_dir")


def _not_found(directory: Path, source: str, missing: list[str]) -> DataError:
    notes = [] if source == "default" else [f"from {source}"]
    if 0 < len(missing) < len(FILES):
        notes.append(f"missing {', '.join(missing)}")
    where = f"{directory} ({'; '.join(notes)})" if notes else str(directory)
    names = ", ".join(f"{stem}[.gz]" for stem in FILES.values())
    return DataError(
        f"Fashion-MNIST not found in {where}: install the Debian package dataset-fashion-mnist "
        f"(sudo apt-get install dataset-fashion-mnist), or put {names} in data.data_dir or ${ENV_VAR}")


def _locate(directory: Path, stem: str) -> Path | None:
    """``directory/stem`` if it is a file, else ``directory/stem.gz`` if that is, else ``None``."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if its name ends in ``.gz``; a broken gzip stream raises DataError."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is corrupt or "
                        "truncated, download it again") from None


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Parses an unsigned-byte idx file (plain or ``.gz``) -> uint8 array of the header's shape.

    The header is a big-endian int32 magic (``0x0000080D``: unsigned bytes, ``D`` dimensions) and
    ``D`` big-endian uint32 dimensions; the payload must hold exactly ``prod(dims)`` bytes.
    A wrong magic number or payload length raises :class:`DataError` naming the file.
    """
    path = Path(path)
    buf = _read_bytes(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(buf) < 4:
        raise DataError(f"{path}: {len(buf)} bytes is too short for an idx header; the file is truncated")
    found = int.from_bytes(buf[:4], "big")
    if found != magic:
        raise DataError(f"{path}: bad magic number {found} (expected {magic}); not an idx{ndim} "
                        "unsigned-byte file or corrupt")
    if len(buf) < header:
        raise DataError(f"{path}: {len(buf)} bytes is too short for the {header}-byte idx header; "
                        "the file is truncated")
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64))
    if len(buf) - header != expected:
        state = "truncated" if len(buf) - header < expected else "longer than its header says"
        raise DataError(f"{path}: header {dims} needs {expected} payload bytes, file has "
                        f"{len(buf) - header}; the file is {state}")
    return np.frombuffer(buf, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Writes a uint8 array (1 to 255 dimensions) as an idx file, gzipped if ``path`` ends in ``.gz``."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = (0x0800 | array.ndim).to_bytes(4, "big") + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _load_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images float32 ``[N, 28, 28, 1]`` in [0, 1] and labels int32 ``[N]`` of one split (read-only)."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != IMAGE_SHAPE[:2]:
        raise DataError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                        "Fashion-MNIST images are 28x28")
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{labels_path}: {labels.shape[0]} labels for the {images.shape[0]} images of "
                        f"{images_path.name}; the files do not belong together")
    if labels.size and int(labels.max()) >= len(CLASS_NAMES):
        raise DataError(f"{labels_path}: label {int(labels.max())} is outside 0..{len(CLASS_NAMES) - 1}")
    x = images.reshape(-1, *IMAGE_SHAPE).astype(np.float32)
    x *= np.float32(1.0 / 255.0)
    return read_only(x), read_only(labels.astype(np.int32))


@functools.lru_cache(maxsize=4)
def _load_dir(directory: str) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], str]:
    """Parsed (x_train, y_train, x_test, y_test) of an existing, complete directory and their
    fingerprint, cached in-process (hashing the full set costs about as much as a cached load)."""
    d = Path(directory)
    paths = {key: _locate(d, stem) for key, stem in FILES.items()}
    arrays = (*_load_split(paths["train", "images"], paths["train", "labels"]),
              *_load_split(paths["test", "images"], paths["test", "labels"]))
    return arrays, fingerprint_arrays(NAME, arrays)


def load_arrays(data_dir: str | None = None
                ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], str]:
    """The full Fashion-MNIST and its fingerprint (read-only, cached per directory).

    :param data_dir: directory of the idx files; ``None``: ``$SEMCOM_DATA``, else :data:`DEFAULT_DATA_DIR`.
    :returns: ((x_train float32 ``[60000, 28, 28, 1]`` in [0, 1], y_train int32 ``[60000]``,
        x_test float32 ``[10000, 28, 28, 1]``, y_test int32 ``[10000]``), fingerprint of the four
        arrays under the name ``"fashion-mnist"``).
    :raises DataError: files missing, truncated or corrupt.
    """
    directory, source = find_data_dir(data_dir)
    missing = [f"{stem}[.gz]" for stem in FILES.values() if _locate(directory, stem) is None]
    if missing:
        raise _not_found(directory, source, missing)
    return _load_dir(str(directory.resolve()))


clear_cache = _load_dir.cache_clear
