"""Image arrays from a ``.npz`` file or from a function in the scenario file, checked and normalised.

A ``.npz`` (``data.dataset="npz"``) holds ``x_train``, ``y_train``, ``x_test``, ``y_test`` and
optionally ``class_names``; ``data.data_dir`` is the file, or a directory that holds exactly one
``.npz``. It is read with ``allow_pickle=False``: ``class_names`` must be a string array
(``np.array(["cat", "dog"])``), not an object array.

A function registered with :func:`semcom_sim.data.registry.register_dataset` returns the same arrays as a
tuple ``(x_train, y_train, x_test, y_test)`` or ``(x_train, y_train, x_test, y_test, class_names)``.

Both go through :func:`check_arrays`: images uint8 (0..255) or float (finite, in [0, 1]),
``[N, H, W, C]`` or ``[N, H, W]`` (one channel added); labels integers in ``0 .. C - 1`` with ``C`` the
number of class names (without names: the largest label + 1, named ``class-0`` ...).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from semcom_sim.data.base import DataError, read_only

__all__ = ["NPZ_NAME", "KEYS", "find_npz", "load_npz", "check_arrays", "fingerprint_name"]

NPZ_NAME = "npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")


def fingerprint_name(name: str, class_names: Sequence[str]) -> str:
    """The name a dataset's fingerprint is computed under: its name and its class names."""
    return f"{name}|{'|'.join(class_names)}"


def _images(source: str, key: str, x) -> np.ndarray:
    """float32 ``[N, H, W, C]`` in [0, 1] from uint8 or float images (read-only; a new array)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or min(x.shape[1:], default=0) < 1:
        raise DataError(f"{source}: {key} must be images [N, H, W, C] or [N, H, W], got shape {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"{source}: {key} holds no images")
    if x.dtype == np.uint8:
        out = x.astype(np.float32)
        out *= np.float32(1.0 / 255.0)
    elif np.issubdtype(x.dtype, np.floating):
        out = x.astype(np.float32)
        if not np.isfinite(out).all():
            raise DataError(f"{source}: {key} holds NaN or infinite values; images are uint8 0..255 or float in "
                            "[0, 1]")
        if out.min() < 0.0 or out.max() > 1.0:
            raise DataError(f"{source}: {key} is float with values outside [0, 1] (min {out.min():g}, max "
                            f"{out.max():g}); scale float images to [0, 1] or give uint8 0..255")
    else:
        raise DataError(f"{source}: {key} must be uint8 (0..255) or float in [0, 1], got {x.dtype}")
    return read_only(np.ascontiguousarray(out))


def _labels(source: str, key: str, y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{source}: {key} must be integer class indices, got {y.dtype}")
    if y.shape != (n,):
        raise DataError(f"{source}: {key} must be [{n}] (one label per image), got shape {y.shape}")
    if y.min() < 0:
        raise DataError(f"{source}: {key} holds {int(y.min())}; labels are class indices 0 .. C - 1")
    if y.max() > np.iinfo(np.int32).max:
        raise DataError(f"{source}: {key} holds {int(y.max())}, too large for a class index")
    return read_only(y.astype(np.int32))


def _class_names(source: str, names, num_classes: int) -> tuple[str, ...]:
    if names is None:
        return tuple(f"class-{k}" for k in range(num_classes))
    values = names.tolist() if isinstance(names, np.ndarray) else names
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise DataError(f"{source}: class_names must be a sequence of strings, got {type(names).__name__}")
    if len(values) < num_classes:
        raise DataError(f"{source}: the labels go up to {num_classes - 1} but class_names lists {len(values)} "
                        "classes")
    return tuple(values)


def check_arrays(source: str, x_train, y_train, x_test, y_test, class_names=None
                 ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[str, ...]]:
    """The four arrays as a :class:`~semcom_sim.data.Dataset` holds them, and the class names.

    :param source: what the arrays come from, for the messages (a file, a registered dataset).
    :returns: ((x_train float32 ``[N, H, W, C]`` in [0, 1], y_train int32 ``[N]``, x_test float32
        ``[M, H, W, C]``, y_test int32 ``[M]``), class names); all arrays read-only.
    :raises DataError: one line naming the array and what is wrong.
    """
    xs = {"x_train": _images(source, "x_train", x_train), "x_test": _images(source, "x_test", x_test)}
    if xs["x_test"].shape[1:] != xs["x_train"].shape[1:]:
        raise DataError(f"{source}: x_test images are {xs['x_test'].shape[1:]}, x_train images "
                        f"{xs['x_train'].shape[1:]}; both splits need one image shape")
    y_tr = _labels(source, "y_train", y_train, xs["x_train"].shape[0])
    y_te = _labels(source, "y_test", y_test, xs["x_test"].shape[0])
    names = _class_names(source, class_names, int(max(y_tr.max(), y_te.max())) + 1)
    return (xs["x_train"], y_tr, xs["x_test"], y_te), names


def find_npz(data_dir: str | None) -> Path:
    """The ``.npz`` that ``data.data_dir`` names: the file itself, or the one ``.npz`` in a directory.

    :raises DataError: not set, missing, or a directory with no or several ``.npz`` files.
    """
    if not data_dir:
        raise DataError("npz: data.data_dir is not set; set it to the .npz file (arrays x_train, y_train, x_test, "
                        "y_test, optional class_names)")
    path = Path(data_dir).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(p for p in path.glob("*.npz") if p.is_file())
        if len(found) == 1:
            return found[0]
        if found:
            raise DataError(f"npz: {path.absolute()} (data.data_dir) holds {len(found)} .npz files "
                            f"({', '.join(p.name for p in found[:4])}{', ...' if len(found) > 4 else ''}); "
                            "set data.data_dir to the file")
    raise DataError(f"npz: no .npz file at {path.absolute()} (data.data_dir); put a .npz with arrays "
                    f"{', '.join(KEYS)} (optional class_names) there, or set data.data_dir to it")


def load_npz(data_dir: str | None) -> tuple[tuple[np.ndarray, ...], tuple[str, ...], Path]:
    """The checked arrays and class names of the ``.npz`` that ``data_dir`` names (see :func:`find_npz`),
    and its path.

    :raises DataError: not found, not a readable ``.npz``, a key missing, or arrays that fail
        :func:`check_arrays` (one line).
    """
    path = find_npz(data_dir)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: holds a single array (.npy); a dataset .npz holds {', '.join(KEYS)} and "
                            "optionally class_names (np.savez)")
        with loaded as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: no {', '.join(missing)} in the file (it has "
                                f"{', '.join(npz.files) or 'nothing'}); a dataset .npz holds {', '.join(KEYS)} and "
                                "optionally class_names")
            arrays = {k: npz[k] for k in (*KEYS, "class_names") if k in npz.files}
    except DataError:
        raise
    except ValueError as exc:  # an object array (pickled) under allow_pickle=False, or a bad array header
        raise DataError(f"{path}: cannot read an array ({(str(exc).splitlines() or [''])[0]}); store numbers, "
                        "and class_names as a string array (np.array([...]), not dtype=object)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc}); write it with np.savez or "
                        "np.savez_compressed") from None
    checked, names = check_arrays(str(path), *(arrays[k] for k in KEYS), arrays.get("class_names"))
    return checked, names, path
