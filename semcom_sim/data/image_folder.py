"""A folder of images, one subfolder per class (PNG or JPEG), decoded with Pillow.

Layout (``data.data_dir``)::

    flowers/                     flowers/
      daisy/  001.jpg ...   or     train/  daisy/ ...  rose/ ...
      rose/   a.png ...            test/   daisy/ ...  rose/ ...

Classes are the subfolder names in sorted order (label = index). Files are found recursively inside a
class folder; only ``.png``, ``.jpg`` and ``.jpeg`` (any case) count, hidden files and folders are
skipped. With ``train/`` and ``test/`` the split is theirs; without them each image goes to the test
split when a hash of its path relative to ``data.data_dir`` falls below ``data.test_fraction`` (see
:func:`is_test`), so adding, removing or editing other files never moves an image between splits.

Each image is turned upright by its EXIF orientation, converted to RGB (``C = 3``) or to 8-bit grey
(``C = 1``, Pillow's ITU-R 601-2 luma), and resized to ``H x W`` (``data.image_shape``, default
32 x 32 x 3) with Pillow's bilinear filter, which averages over the footprint when it shrinks
(antialiased); the aspect ratio is not kept (no crop, like torchvision's ``Resize((H, W))``).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from semcom_sim.data.base import DataError, fingerprint_arrays, read_only

__all__ = ["NAME", "EXTENSIONS", "DEFAULT_IMAGE_SHAPE", "RESAMPLING", "is_test", "list_images", "decode",
           "load_arrays", "clear_cache"]

NAME = "image-folder"
EXTENSIONS = (".png", ".jpg", ".jpeg")
DEFAULT_IMAGE_SHAPE = (32, 32, 3)
RESAMPLING = "bilinear"


def is_test(relative_path: str, test_fraction: float) -> bool:
    """The hash split: whether the image at ``relative_path`` (POSIX, relative to the data directory,
    e.g. ``"rose/a.png"``) is a test image. The first 8 bytes of the path's SHA-1, read as a big-endian
    integer and divided by 2**64, are uniform in [0, 1); the image is a test image when that is below
    ``test_fraction``."""
    digest = hashlib.sha1(relative_path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < test_fraction


def _visible_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    """The PNG/JPEG files under ``folder`` (recursively, hidden entries skipped), sorted by path."""
    found = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if p.suffix.lower() in EXTENSIONS and p.is_file() and not any(part.startswith(".") for part in rel):
            found.append(p)
    return sorted(found)


def _class_files(directory: Path, what: str) -> dict[str, list[Path]]:
    classes = _visible_dirs(directory)
    if not classes:
        raise DataError(f"image-folder: {directory} has no class subfolders; put one folder of PNG/JPEG images "
                        f"per class in {what}")
    out = {}
    for folder in classes:
        files = _images_in(folder)
        if not files:
            raise DataError(f"image-folder: {folder} holds no PNG or JPEG images ({', '.join(EXTENSIONS)}); "
                            "add images or remove the folder")
        out[folder.name] = files
    return out


def list_images(root: Path, test_fraction: float
                ) -> tuple[tuple[str, ...], list[tuple[Path, int]], list[tuple[Path, int]], str]:
    """Class names, (path, label) of the train and test images, and the split rule (``"folders"`` when
    ``train/`` and ``test/`` exist, else ``"hash"``).

    :raises DataError: not a directory, only one of ``train/`` and ``test/``, no class folders, an empty
        class folder, a test class unknown to ``train/``, or an empty split (one line).
    """
    if not root.is_dir():
        raise DataError(f"image-folder: {root.absolute()} (data.data_dir) is not a directory; set data.data_dir "
                        "to a folder with one subfolder of PNG/JPEG images per class")
    has_train, has_test = (root / "train").is_dir(), (root / "test").is_dir()
    if has_train != has_test:
        there, absent = ("train", "test") if has_train else ("test", "train")
        raise DataError(f"image-folder: {root} has {there}/ but no {absent}/; give both (a fixed split) or "
                        "neither (class folders at the top, split by a hash of each path)")
    if has_train:
        train = _class_files(root / "train", "train/ and test/")
        test = _class_files(root / "test", "train/ and test/")
        unknown = sorted(set(test) - set(train))
        if unknown:
            raise DataError(f"image-folder: {root / 'test' / unknown[0]} is a class that train/ does not have; "
                            "every test class needs training images")
        names = tuple(train)
        label = {name: k for k, name in enumerate(names)}
        train_items = [(p, label[c]) for c, files in train.items() for p in files]
        test_items = [(p, label[c]) for c, files in test.items() for p in files]
        return names, train_items, test_items, "folders"
    files = _class_files(root, str(root))
    names = tuple(files)
    train_items, test_items = [], []
    for k, paths in enumerate(files.values()):
        for p in paths:
            (test_items if is_test(p.relative_to(root).as_posix(), test_fraction) else train_items).append((p, k))
    for split, items in (("train", train_items), ("test", test_items)):
        if not items:
            raise DataError(f"image-folder: the hash split (data.test_fraction={test_fraction}) puts none of the "
                            f"{len(train_items) + len(test_items)} images of {root} in the {split} split; add "
                            "images, change data.test_fraction, or give train/ and test/ folders")
    return names, train_items, test_items, "hash"


def decode(path: Path, image_shape: tuple[int, int, int]) -> np.ndarray:
    """One image as uint8 ``[H, W, C]`` (see the module docstring for the steps).

    :raises DataError: the file cannot be decoded (one line naming it).
    """
    from PIL import Image, ImageOps  # Pillow (a matplotlib dependency): only when an image folder is read

    h, w, c = image_shape
    try:
        with Image.open(path) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            converted = upright.convert("RGB" if c == 3 else "L")
            resized = converted.resize((w, h), Image.Resampling.BILINEAR)
            pixels = np.asarray(resized, dtype=np.uint8)
    except Exception as exc:  # decoding a user's file: any failure means the file is not a readable image
        first = (str(exc).splitlines() or [""])[0]
        raise DataError(f"image-folder: cannot decode {path} ({type(exc).__name__}: {first}); replace or remove "
                        "the file") from None
    return pixels.reshape(h, w, c)


def _decode_all(items: list[tuple[Path, int]], image_shape: tuple[int, int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    x = np.empty((len(items), *image_shape), dtype=np.float32)
    for i, (path, _) in enumerate(items):
        x[i] = decode(path, image_shape)
    x *= np.float32(1.0 / 255.0)
    return read_only(x), read_only(np.array([label for _, label in items], dtype=np.int32))


@functools.lru_cache(maxsize=2)
def _load_cached(root: str, image_shape: tuple[int, int, int], test_fraction: float, signature: tuple):
    names, train_items, test_items, rule = list_images(Path(root), test_fraction)
    arrays = (*_decode_all(train_items, image_shape), *_decode_all(test_items, image_shape))
    return arrays, names, fingerprint_arrays(fingerprint_name(names), arrays), rule


def fingerprint_name(class_names: tuple[str, ...]) -> str:
    """The name the fingerprint is computed under: the dataset and its class names."""
    return f"{NAME}|{'|'.join(class_names)}"


def load_arrays(data_dir: str, image_shape: tuple[int, int, int] | None = None, test_fraction: float = 0.2
                ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[str, ...], str, str]:
    """The whole folder, decoded (read-only, cached in-process while no file under it changes).

    :param data_dir: the folder (see the module docstring).
    :param image_shape: (H, W, C) with C 1 or 3; ``None``: :data:`DEFAULT_IMAGE_SHAPE`.
    :param test_fraction: the share of the images the hash split sends to the test split.
    :returns: ((x_train float32 ``[N, H, W, C]`` in [0, 1], y_train int32 ``[N]``, x_test, y_test),
        class names, fingerprint of the arrays under the class names, split rule ``"folders"``/``"hash"``).
    :raises DataError: see :func:`list_images` and :func:`decode`.
    """
    root = Path(data_dir).expanduser()
    shape = tuple(int(d) for d in (image_shape or DEFAULT_IMAGE_SHAPE))
    signature = ()
    if root.is_dir():  # what the cache keys on: every file's path, size and modification time
        signature = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
                          if p.is_file())
    return _load_cached(str(root.absolute()), shape, float(test_fraction), signature)


clear_cache = _load_cached.cache_clear
