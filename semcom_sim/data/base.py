"""The :class:`Dataset` container, :class:`DataError`, stratified subsets and fingerprints (numpy only)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "DataError", "fingerprint_arrays", "stratified_indices", "seeded_rng"]


class DataError(RuntimeError):
    """A dataset cannot be loaded. The message is one line saying what to install or where to put files."""


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset, split into train and test: images, or texts as token ids.

    The arrays are read-only (they may be shared with an in-process cache); copy before modifying.
    Equality is identity (``eq=False``): compare :attr:`fingerprint` to compare contents.

    :param name: ``"fashion-mnist"``, ``"cifar10"``, ``"cifar100"``, ``"cifar100-coarse"``, ``"image-folder"``,
        ``"npz"``, a registered dataset's name, ``"synthetic"`` or ``"wordnet-nouns"``.
    :param x_train: images float32 ``[N, H, W, C]`` in [0, 1] (any size, grey or RGB), token ids int32
        ``[N, max_len]``, or feature vectors float32 ``[N, D]`` (a frozen teacher's features, see
        ``teacher/features.py``).
    :param y_train: int32 ``[N]``, values in ``0 .. num_classes - 1``.
    :param x_test: like ``x_train``, ``M`` samples.
    :param y_test: int32 ``[M]``.
    :param num_classes: number of classes.
    :param class_names: ``num_classes`` human-readable names, index = label.
    :param fingerprint: first 16 hex chars of a sha256 over ``name`` and the four arrays.
    :param modality: ``"image"``, ``"text"`` or ``"features"``.
    :param texts_train: the raw texts of a text dataset (what a text teacher reads), else ``None``.
    :param texts_test: likewise for the test split.
    :param vocabulary: the tokenizer that made the token ids of a text dataset, else ``None``.
    """

    name: str
    x_train: np.ndarray = dataclasses.field(repr=False)
    y_train: np.ndarray = dataclasses.field(repr=False)
    x_test: np.ndarray = dataclasses.field(repr=False)
    y_test: np.ndarray = dataclasses.field(repr=False)
    num_classes: int
    class_names: tuple[str, ...] = dataclasses.field(repr=False)
    fingerprint: str
    modality: str = "image"
    texts_train: tuple[str, ...] | None = dataclasses.field(default=None, repr=False)
    texts_test: tuple[str, ...] | None = dataclasses.field(default=None, repr=False)
    vocabulary: object | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if self.modality == "image" and (x.dtype != np.float32 or x.ndim != 4 or min(x.shape[1:]) < 1):
                raise ValueError(f"x_{split} must be float32 images [N, H, W, C], got {x.dtype} {x.shape}")
            if self.modality == "text" and (x.dtype != np.int32 or x.ndim != 2):
                raise ValueError(f"x_{split} must be int32 token ids [N, max_len], got {x.dtype} {x.shape}")
            if self.modality == "features" and (x.dtype != np.float32 or x.ndim != 2):
                raise ValueError(f"x_{split} must be float32 features [N, D], got {x.dtype} {x.shape}")
            if self.modality not in ("image", "text", "features"):
                raise ValueError(f"modality must be 'image', 'text' or 'features', got {self.modality!r}")
            if y.dtype != np.int32 or y.shape != (x.shape[0],):
                raise ValueError(f"y_{split} must be int32 [{x.shape[0]}], got {y.dtype} {y.shape}")
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    @property
    def num_train(self) -> int:
        """Number of training samples ``N``."""
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test samples ``M``."""
        return int(self.x_test.shape[0])


def resolve_data_dir(data_dir: str | None, env_var: str, default: str, given: str) -> tuple[Path, str]:
    """The directory to read and where that choice came from: ``data_dir`` (reported as ``given``),
    else ``$env_var``, else ``default``."""
    if data_dir:
        return Path(data_dir).expanduser(), given
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser(), f"${env_var}"
    return Path(default), "default"


def seeded_rng(seed: int, *stream: int) -> np.random.Generator:
    """A generator determined by ``seed`` (any int, negative allowed) and the ``stream`` integers (>= 0)."""
    return np.random.default_rng([abs(int(seed)), int(seed < 0), *stream])


def read_only(a: np.ndarray) -> np.ndarray:
    """Returns ``a`` with its write flag cleared (in place; ``a`` itself is returned)."""
    a.setflags(write=False)
    return a


def fingerprint_arrays(name: str, arrays: Sequence[np.ndarray]) -> str:
    """First 16 hex chars of sha256 over ``name`` and each array's dtype, shape and C-order bytes."""
    h = hashlib.sha256(name.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"|{a.dtype.str}{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def stratified_counts(class_counts: np.ndarray, n: int) -> np.ndarray:
    """Splits ``n`` over classes in proportion to ``class_counts`` (int ``[C]``) -> int64 ``[C]``.

    Largest-remainder rounding: every class gets ``floor(n * count / total)``, and the samples left
    over go to the classes with the largest fractional parts (ties: lower class index first). No class
    gets more than it has.
    """
    class_counts = np.asarray(class_counts, dtype=np.int64)
    total = int(class_counts.sum())
    exact = class_counts * n / total
    counts = np.floor(exact).astype(np.int64)
    leftover = n - int(counts.sum())
    order = np.lexsort((np.arange(len(exact)), -(exact - counts)))
    counts[order[:leftover]] += 1
    return np.minimum(counts, class_counts)


def stratified_indices(labels: np.ndarray, n: int, rng: np.random.Generator, what: str) -> np.ndarray:
    """Indices of a class-stratified random subset of size ``n`` of ``labels`` (int ``[K]``).

    Each class contributes in proportion to its frequency (see :func:`stratified_counts`); within a
    class the samples are drawn uniformly without replacement. Returns sorted int64 ``[n]`` (so the
    subset keeps the original order). ``what`` names the setting in the error if ``n`` exceeds ``K``.
    """
    if n > labels.shape[0]:
        raise DataError(f"{what}={n} exceeds the {labels.shape[0]} samples available; "
                        f"lower {what} or set it to None to use all")
    classes, class_counts = np.unique(labels, return_counts=True)
    picks = []
    for c, k in zip(classes, stratified_counts(class_counts, n)):
        members = np.flatnonzero(labels == c)
        picks.append(rng.choice(members, size=int(k), replace=False))
    return np.sort(np.concatenate(picks))
