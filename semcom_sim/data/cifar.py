"""CIFAR-10 and CIFAR-100 from the standard "python version" files, read with numpy and pickle.

The files are the ones distributed at https://www.cs.toronto.edu/~kriz/cifar.html, as downloaded
(``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``, read straight from the archive, nothing is
extracted to disk) or extracted (``cifar-10-batches-py/`` / ``cifar-100-python/``):

- CIFAR-10: ``data_batch_1`` .. ``data_batch_5`` (train, 5 x 10000) and ``test_batch`` (10000), each a
  pickled dict with ``b"data"`` (uint8 ``[N, 3072]``: per image the 1024 red, then green, then blue
  values of a 32 x 32 picture in row-major order) and ``b"labels"`` (N ints in 0..9);
  ``batches.meta`` holds ``b"label_names"``.
- CIFAR-100: ``train`` (50000) and ``test`` (10000) with ``b"data"``, ``b"fine_labels"`` (0..99) and
  ``b"coarse_labels"`` (0..19, the 20 superclasses); ``meta`` holds ``b"fine_label_names"`` and
  ``b"coarse_label_names"``.

The standard train/test split is the fixed split. Directory search: ``data.data_dir``, else
``$SEMCOM_DATA``, else ``data/`` under the working directory; in it the extracted folder is preferred
to the archive, and the directory may also be the extracted folder itself.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from semcom_sim.data.base import DataError, fingerprint_arrays, read_only, resolve_data_dir

__all__ = ["SPECS", "ENV_VAR", "DEFAULT_DATA_DIR", "IMAGE_SHAPE", "CifarSpec", "CifarArrays", "find_source",
           "load_arrays", "to_float", "clear_cache"]

ENV_VAR = "SEMCOM_DATA"
DEFAULT_DATA_DIR = "data"  # relative to the working directory, like teacher_cache/
IMAGE_SHAPE = (32, 32, 3)
_PIXELS = 32 * 32 * 3


@dataclasses.dataclass(frozen=True)
class CifarSpec:
    """The files of one CIFAR variant.

    :param title: the name in messages.
    :param archive: the distributed archive's file name.
    :param folder: the folder the archive holds (its extracted form).
    :param train: the train members, in order.
    :param test: the test member.
    :param meta: the member with the class names.
    :param label_keys: label mode -> (key of the labels in a batch, key of the names in ``meta``, count).
    """

    title: str
    archive: str
    folder: str
    train: tuple[str, ...]
    test: str
    meta: str
    label_keys: dict[str, tuple[str, str, int]]

    @property
    def members(self) -> tuple[str, ...]:
        return (*self.train, self.test, self.meta)


SPECS = {
    "cifar10": CifarSpec("CIFAR-10", "cifar-10-python.tar.gz", "cifar-10-batches-py",
                         tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta",
                         {"fine": ("labels", "label_names", 10)}),
    "cifar100": CifarSpec("CIFAR-100", "cifar-100-python.tar.gz", "cifar-100-python", ("train",), "test", "meta",
                          {"fine": ("fine_labels", "fine_label_names", 100),
                           "coarse": ("coarse_labels", "coarse_label_names", 20)}),
}


# -- unpickling ---------------------------------------------------------------------------------------
# The batches are Python pickles. They are read only from files the user put in the data directory,
# and with an unpickler that builds nothing but numpy arrays, dtypes and plain containers.

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],  # the name in Python 2 pickles
    ("numpy._core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],  # numpy >= 2
    ("numpy.core.multiarray", "scalar"): np.float64(0).__reduce__()[0],
    ("numpy._core.multiarray", "scalar"): np.float64(0).__reduce__()[0],
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # bytes in a protocol-2 pickle written by Python 3
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}; a CIFAR batch holds only "
                                         "numpy arrays, lists and strings") from None


def _unpickle(raw: bytes, where: str) -> dict[str, object]:
    """The dict of one batch (keys decoded to str: Python 2 pickles read with ``encoding="bytes"``
    give bytes keys)."""
    try:
        obj = _ArraysOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means a broken or foreign file
        raise DataError(f"{where}: not a CIFAR python-version batch ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); the file is corrupt, truncated or "
                        "from another version (use the python version)") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: holds a {type(obj).__name__}, a CIFAR batch is a dict")
    return {(k.decode("latin-1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def _text(name) -> str:
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)


# -- locating -----------------------------------------------------------------------------------------

def _has_members(directory: Path, spec: CifarSpec) -> bool:
    return all((directory / m).is_file() for m in spec.members)


def find_source(dataset: str, data_dir: str | None) -> tuple[str, Path]:
    """Where ``dataset`` (``"cifar10"`` or ``"cifar100"``) is: ``("folder", path)`` or ``("archive", path)``.

    In the directory (``data_dir``, else ``$SEMCOM_DATA``, else ``data/``): the directory itself if it
    holds the extracted files, else its extracted folder (``cifar-10-batches-py/``,
    ``cifar-100-python/``), else the archive. An extracted folder with files missing is an error.
    ``data_dir`` may also name the archive file itself.

    :raises DataError: nothing found (one line: the dataset, the file names, the directory searched and
        where that directory came from).
    """
    spec = SPECS[dataset]
    directory, source = resolve_data_dir(data_dir, ENV_VAR, DEFAULT_DATA_DIR, "data.data_dir")
    if directory.is_file():  # the archive itself, under any name
        return "archive", directory
    if _has_members(directory, spec):
        return "folder", directory
    folder = directory / spec.folder
    if folder.is_dir():
        missing = [m for m in spec.members if not (folder / m).is_file()]
        if missing:
            raise DataError(f"{spec.title}: {folder} lacks {', '.join(missing)}; extract "
                            f"{spec.archive} again or delete the folder and keep the archive")
        return "folder", folder
    if (directory / spec.archive).is_file():
        return "archive", directory / spec.archive
    origin = ("the default: neither data.data_dir nor $SEMCOM_DATA is set" if source == "default"
              else f"from {source}")
    raise DataError(f"{spec.title} not found in {directory.absolute()} ({origin}): put {spec.archive} (the python "
                    f"version from https://www.cs.toronto.edu/~kriz/cifar.html) or its extracted folder {spec.folder}/ "
                    "there, or set data.data_dir or $SEMCOM_DATA to the directory that holds it")


def _read_folder(folder: Path, spec: CifarSpec) -> dict[str, bytes]:
    out = {}
    for member in spec.members:
        try:
            out[member] = (folder / member).read_bytes()
        except OSError as exc:
            raise DataError(f"{folder / member}: cannot read ({exc.strerror or exc})") from None
    return out


def _read_archive(path: Path, spec: CifarSpec) -> dict[str, bytes]:
    """The members' bytes, read from the gzipped tar in one pass (nothing written to disk); a truncated or
    corrupt archive raises :class:`DataError`."""
    wanted = {f"{spec.folder}/{m}": m for m in spec.members}
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info in tar:
                name = info.name[2:] if info.name.startswith("./") else info.name
                if name in wanted and info.isfile():
                    out[wanted[name]] = tar.extractfile(info).read()
            while tar.fileobj.read(1 << 20):  # to the end of the gzip stream, which checks its CRC and length
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read the archive ({type(exc).__name__}: {exc}); it is corrupt or "
                        "truncated, download it again") from None
    missing = [f"{spec.folder}/{m}" for m in spec.members if m not in out]
    if missing:
        raise DataError(f"{path}: the archive lacks {', '.join(missing)}; it is not the python version of "
                        f"{spec.title} (or it is truncated)")
    return out


# -- parsing ------------------------------------------------------------------------------------------

def _images(batch: dict, where: str) -> np.ndarray:
    """uint8 ``[N, 32, 32, 3]`` from a batch's ``data`` (rows of R, G, B planes, each 32 x 32 row-major)."""
    data = batch.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{where}: 'data' must be uint8 [N, {_PIXELS}], got {got}; not a CIFAR batch")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _labels(batch: dict, key: str, count: int, n: int, where: str) -> np.ndarray:
    if key not in batch:
        raise DataError(f"{where}: no '{key}' in the batch; not a CIFAR batch of this variant")
    try:
        labels = np.asarray(batch[key], dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: '{key}' is not a list of integers") from None
    if labels.shape != (n,):
        raise DataError(f"{where}: {labels.shape[0] if labels.ndim else 0} entries in '{key}' for {n} images")
    if n and (labels.min() < 0 or labels.max() >= count):
        raise DataError(f"{where}: '{key}' holds {int(labels.max())}, outside 0..{count - 1}")
    return labels.astype(np.int32)


@dataclasses.dataclass(frozen=True, eq=False)
class CifarArrays:
    """The parsed set: uint8 images and every label mode's labels and names (read-only arrays)."""

    x_train: np.ndarray  # uint8 [N, 32, 32, 3]
    x_test: np.ndarray   # uint8 [M, 32, 32, 3]
    labels: dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]]  # mode -> (y_train, y_test, names)


def _parse(raw: dict[str, bytes], spec: CifarSpec, origin: str) -> CifarArrays:
    batches = {m: _unpickle(raw[m], f"{origin}: {m}") for m in (*spec.train, spec.test)}
    meta = _unpickle(raw[spec.meta], f"{origin}: {spec.meta}")
    images = {m: _images(b, f"{origin}: {m}") for m, b in batches.items()}
    labels = {}
    for mode, (label_key, names_key, count) in spec.label_keys.items():
        names = meta.get(names_key)
        if not isinstance(names, (list, tuple)) or len(names) != count:
            raise DataError(f"{origin}: {spec.meta}: '{names_key}' must list {count} names, got "
                            f"{len(names) if isinstance(names, (list, tuple)) else type(names).__name__}")
        y = {m: _labels(b, label_key, count, images[m].shape[0], f"{origin}: {m}") for m, b in batches.items()}
        labels[mode] = (read_only(np.concatenate([y[m] for m in spec.train])), read_only(y[spec.test]),
                        tuple(_text(n) for n in names))
    x_train = read_only(np.ascontiguousarray(np.concatenate([images[m] for m in spec.train])))
    return CifarArrays(x_train, read_only(np.ascontiguousarray(images[spec.test])), labels)


def _signature(kind: str, path: Path, spec: CifarSpec) -> tuple:
    """What identifies the files' content for the in-process cache: path, sizes and modification times."""
    files = [path] if kind == "archive" else [path / m for m in spec.members]
    return tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


@functools.lru_cache(maxsize=2)
def _load_cached(dataset: str, kind: str, path: str, signature: tuple) -> CifarArrays:
    spec = SPECS[dataset]
    raw = _read_archive(Path(path), spec) if kind == "archive" else _read_folder(Path(path), spec)
    return _parse(raw, spec, path)


@functools.lru_cache(maxsize=4)
def _full_fingerprint(name: str, arrays: CifarArrays, mode: str) -> str:
    y_train, y_test, _ = arrays.labels[mode]
    return fingerprint_arrays(name, (arrays.x_train, y_train, arrays.x_test, y_test))


def load_arrays(dataset: str, data_dir: str | None = None, label_mode: str = "fine"
                ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[str, ...], str, str]:
    """The full set, read-only and cached in-process per source (path, sizes and modification times).

    :param dataset: ``"cifar10"`` or ``"cifar100"``.
    :param label_mode: ``"fine"`` (CIFAR-10's only labels; CIFAR-100's 100 classes) or ``"coarse"``
        (CIFAR-100's 20 superclasses).
    :returns: ((x_train uint8 ``[N, 32, 32, 3]``, y_train int32 ``[N]``, x_test uint8 ``[M, 32, 32, 3]``,
        y_test int32 ``[M]``), class names, the dataset's name (``"cifar10"``, ``"cifar100"`` or
        ``"cifar100-coarse"``), and the fingerprint of the uint8 pixels and labels under that name).
    :raises DataError: files missing, truncated, corrupt or of another format (one line).
    """
    spec = SPECS[dataset]
    if label_mode not in spec.label_keys:
        raise DataError(f"{spec.title} has no {label_mode!r} labels; it has {', '.join(spec.label_keys)}")
    kind, path = find_source(dataset, data_dir)
    arrays = _load_cached(dataset, kind, str(path.resolve()), _signature(kind, path, spec))
    name = dataset if label_mode == "fine" else f"{dataset}-{label_mode}"
    y_train, y_test, names = arrays.labels[label_mode]
    return (arrays.x_train, y_train, arrays.x_test, y_test), names, name, _full_fingerprint(name, arrays, label_mode)


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1] (a new, read-only array)."""
    x = images.astype(np.float32)
    x *= np.float32(1.0 / 255.0)
    return read_only(x)


def clear_cache() -> None:
    """Forgets the parsed files (the next load reads them again)."""
    _load_cached.cache_clear()
    _full_fingerprint.cache_clear()
