"""Datasets for the semantic link, numpy only: Fashion-MNIST (idx files), CIFAR-10/100 (python-version
archives), a folder of images, arrays from a ``.npz`` or from a function in the scenario file
(:func:`register_dataset`), WordNet noun glosses, and a synthetic set. ``docs/datasets.md`` has the formats.

    from semcom_sim import Data
    from semcom_sim.data import load_dataset

    ds = load_dataset(Data(dataset="fashion-mnist", num_train=6000, seed=0))
    ds.x_train.shape   # (6000, 28, 28, 1), float32 in [0, 1]; ds.y_train: int32 (6000,)

This package imports neither TensorFlow, Keras, Sionna nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from semcom_sim.data import arrays, cifar, fashion_mnist, image_folder, synthetic, wordnet
from semcom_sim.data.base import (
    DataError,
    Dataset,
    fingerprint_arrays,
    read_only,
    seeded_rng,
    stratified_indices,
)
from semcom_sim.data.registry import register_dataset, registered_dataset

if TYPE_CHECKING:
    from semcom_sim.scenario import Data

__all__ = ["Dataset", "DataError", "load_dataset", "register_dataset"]

_SUBSET_TRAIN_STREAM, _SUBSET_TEST_STREAM = 101, 102


def _subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int, stream: int, what: str
            ) -> tuple[np.ndarray, np.ndarray]:
    """A stratified random subset of ``n`` samples of (x ``[K, ...]``, y int32 ``[K]``).

    ``n`` None, or equal to ``K``, returns the inputs themselves.
    """
    if n is None:
        return x, y
    idx = stratified_indices(y, n, seeded_rng(seed, stream), what)
    if idx.shape[0] == y.shape[0]:
        return x, y
    return read_only(x[idx]), read_only(y[idx])


def _load_fashion_mnist(data: Data) -> Dataset:
    """Fashion-MNIST from ``data``'s directory, subset as ``data.num_train`` / ``data.num_test`` say."""
    full, full_fingerprint = fashion_mnist.load_arrays(data.data_dir)
    x_train, y_train = _subset(full[0], full[1], data.num_train, data.seed, _SUBSET_TRAIN_STREAM,
                               "data.num_train")
    x_test, y_test = _subset(full[2], full[3], data.num_test, data.seed, _SUBSET_TEST_STREAM, "data.num_test")
    arrays = (x_train, y_train, x_test, y_test)
    same = all(a is b for a, b in zip(arrays, full))
    return _make(fashion_mnist.NAME, arrays, fashion_mnist.CLASS_NAMES, full_fingerprint if same else None)


def _load_synthetic(data: Data) -> Dataset:
    """The synthetic set of ``data.seed`` with ``data.num_train`` / ``data.num_test`` samples."""
    shape = data.image_shape or synthetic.IMAGE_SHAPE
    arrays = synthetic.make_arrays(data.seed, data.num_train, data.num_test, shape)
    return _make(synthetic.NAME, tuple(read_only(a) for a in arrays), synthetic.CLASS_NAMES)


def _make(name: str, arrays: tuple[np.ndarray, ...], class_names: tuple[str, ...],
          fingerprint: str | None = None) -> Dataset:
    """A :class:`Dataset` of (x_train, y_train, x_test, y_test); ``fingerprint`` if already known."""
    x_train, y_train, x_test, y_test = arrays
    return Dataset(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                   num_classes=len(class_names), class_names=tuple(class_names),
                   fingerprint=fingerprint or fingerprint_arrays(name, arrays))


def _subsets(full: tuple[np.ndarray, ...], data: Data) -> tuple[tuple[np.ndarray, ...], bool]:
    """The stratified subsets of (x_train, y_train, x_test, y_test) that ``data`` asks for, and whether
    they are the full arrays themselves."""
    x_train, y_train = _subset(full[0], full[1], data.num_train, data.seed, _SUBSET_TRAIN_STREAM, "data.num_train")
    x_test, y_test = _subset(full[2], full[3], data.num_test, data.seed, _SUBSET_TEST_STREAM, "data.num_test")
    selected = (x_train, y_train, x_test, y_test)
    return selected, all(a is b for a, b in zip(selected, full))


def _load_cifar(data: Data) -> Dataset:
    """CIFAR-10 or CIFAR-100 (``data.label_mode``) from the python-version files, subset as ``data`` says.

    The subsets are drawn on the uint8 pixels; the fingerprint covers those and the labels under the name
    (``cifar10``, ``cifar100`` or ``cifar100-coarse``), and the images become float32 in [0, 1] last."""
    full, class_names, name, full_fingerprint = cifar.load_arrays(data.dataset, data.data_dir, data.label_mode)
    selected, same = _subsets(full, data)
    fingerprint = full_fingerprint if same else fingerprint_arrays(name, selected)
    x_train, y_train, x_test, y_test = selected
    return Dataset(name=name, x_train=cifar.to_float(x_train), y_train=y_train, x_test=cifar.to_float(x_test),
                   y_test=y_test, num_classes=len(class_names), class_names=class_names, fingerprint=fingerprint)


def _load_image_folder(data: Data) -> Dataset:
    """A folder of class subfolders, decoded to ``data.image_shape`` (default 32 x 32 x 3)."""
    full, class_names, full_fingerprint, _ = image_folder.load_arrays(data.data_dir, data.image_shape,
                                                                      data.test_fraction)
    selected, same = _subsets(full, data)
    fingerprint = full_fingerprint if same else fingerprint_arrays(image_folder.fingerprint_name(class_names),
                                                                   selected)
    return _make(image_folder.NAME, selected, class_names, fingerprint)


def _load_npz(data: Data) -> Dataset:
    """The arrays of the ``.npz`` that ``data.data_dir`` names."""
    full, class_names, _ = arrays.load_npz(data.data_dir)
    selected, _ = _subsets(full, data)
    return _make(arrays.NPZ_NAME, selected, class_names,
                 fingerprint_arrays(arrays.fingerprint_name(arrays.NPZ_NAME, class_names), selected))


def _load_registered(data: Data) -> Dataset:
    """The arrays that the function registered under ``data.dataset`` returns for ``data``."""
    function = registered_dataset(data.dataset)
    source = f"dataset {data.dataset!r} ({getattr(function, '__qualname__', function)})"
    returned = function(data)
    if not isinstance(returned, (tuple, list)) or len(returned) not in (4, 5):
        raise DataError(f"{source}: must return (x_train, y_train, x_test, y_test) or (x_train, y_train, x_test, "
                        f"y_test, class_names), got {type(returned).__name__}"
                        f"{f' of {len(returned)}' if isinstance(returned, (tuple, list)) else ''}")
    full, class_names = arrays.check_arrays(source, *returned)
    selected, _ = _subsets(full, data)
    return _make(data.dataset, selected, class_names,
                 fingerprint_arrays(arrays.fingerprint_name(data.dataset, class_names), selected))


def _load_wordnet(data: Data) -> Dataset:
    """WordNet noun glosses (26 lexicographer classes) as token ids of a vocabulary built on the train split."""
    text = wordnet.load_wordnet_nouns(data.data_dir, seed=data.seed, num_train=data.num_train,
                                      num_test=data.num_test)
    vocabulary = wordnet.Vocabulary.build(text.texts_train, max_size=data.vocab_size)
    x_train = read_only(vocabulary.encode(text.texts_train, data.max_len))
    x_test = read_only(vocabulary.encode(text.texts_test, data.max_len))
    fingerprint = fingerprint_arrays(f"{text.name}|{text.fingerprint}|{vocabulary.fingerprint}|{data.max_len}",
                                     (text.y_train, text.y_test))
    return Dataset(name=text.name, x_train=x_train, y_train=text.y_train, x_test=x_test, y_test=text.y_test,
                   num_classes=text.num_classes, class_names=text.class_names, fingerprint=fingerprint,
                   modality="text", texts_train=text.texts_train, texts_test=text.texts_test,
                   vocabulary=vocabulary)


_LOADERS = {"fashion-mnist": _load_fashion_mnist, "synthetic": _load_synthetic, "wordnet-nouns": _load_wordnet,
            "cifar10": _load_cifar, "cifar100": _load_cifar, "image-folder": _load_image_folder, "npz": _load_npz}


def load_dataset(data: Data) -> Dataset:
    """Loads the dataset that ``data`` describes.

    Fashion-MNIST is read from ``data.data_dir``, else ``$SEMCOM_DATA``, else
    ``/usr/share/datasets/fashion-mnist``; CIFAR-10/100 from ``data.data_dir``, else ``$SEMCOM_DATA``, else
    ``data/`` (parsed arrays are cached in-process per directory); an image folder or a ``.npz`` from
    ``data.data_dir``; a registered dataset from its function.
    ``data.num_train`` / ``data.num_test`` pick a class-stratified random subset, determined by
    ``data.seed``. The synthetic set is generated from ``data.seed`` with ``num_train`` / ``num_test``
    samples (default 2000 / 500).

    :returns: a :class:`Dataset` with read-only float32 ``[N, H, W, C]`` images in [0, 1] (28 x 28 x 1
        for Fashion-MNIST, 32 x 32 x 3 for CIFAR, ``data.image_shape`` for the synthetic set and an image
        folder, the arrays' own shape otherwise) and int32 ``[N]`` labels; its ``fingerprint`` covers
        exactly the selected samples.
    :raises DataError: files missing or corrupt, or a requested subset larger than the data (one line).
    """
    from semcom_sim.scenario import Data  # not at the top: the scenario module imports data.registry

    if not isinstance(data, Data):
        raise TypeError(f"load_dataset expects a semcom_sim.Data, got {type(data).__name__}")
    loader = _LOADERS.get(data.dataset)
    if loader is None:
        if registered_dataset(data.dataset) is None:  # built before the registering scenario file ran here
            raise DataError(f"data.dataset: no dataset is registered as {data.dataset!r} in this process; "
                            "load the scenario file that registers it (@register_dataset)")
        loader = _load_registered
    return loader(data)
