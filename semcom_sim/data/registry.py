"""The dataset names a scenario may give: the built-in datasets and those registered in a scenario file.

Light on purpose (the standard library, :mod:`semcom_sim.errors` and :mod:`semcom_sim.constraints`):
:mod:`semcom_sim.scenario` reads it to check ``data.dataset``, and the loaders in :mod:`semcom_sim.data`
read the registered functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from semcom_sim.constraints import Constraint
from semcom_sim.errors import ScenarioError

__all__ = ["DATASETS", "LABEL_MODES", "DatasetName", "register_dataset", "registered_dataset"]

DATASETS = ("fashion-mnist", "synthetic", "wordnet-nouns", "cifar10", "cifar100", "image-folder", "npz")
"""The built-in datasets (``data.dataset``)."""

LABEL_MODES = ("fine", "coarse")
"""CIFAR-100's label sets (``data.label_mode``): the 100 classes or the 20 superclasses."""

# Datasets defined in scenario files: name -> function(data: Data) returning the arrays (semcom_sim.data.arrays).
_REGISTERED_DATASETS: dict[str, Callable] = {}
_DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def register_dataset(name: str):
    """Decorator: makes ``Data(dataset=name)`` load the arrays that the decorated function returns.

    The function takes the scenario's :class:`~semcom_sim.scenario.Data` and returns ``(x_train, y_train,
    x_test, y_test)`` or ``(x_train, y_train, x_test, y_test, class_names)``: images ``[N, H, W, C]`` (or
    ``[N, H, W]``) as uint8 0..255 or float in [0, 1], integer labels ``0 .. C - 1``. ``data.num_train`` /
    ``data.num_test`` then take stratified subsets as for every dataset, and the dataset's fingerprint covers
    the arrays it returned. Registering a name again replaces the function (a scenario file may be executed
    more than once)::

        @register_dataset("two-blobs")
        def two_blobs(data):
            ...
            return x_train, y_train, x_test, y_test, ("left", "right")

        scenario = Scenario(name="blobs", data=Data(dataset="two-blobs"))

    :param name: letters, digits, ``.``, ``_`` and ``-`` (it names cache files); not a built-in dataset.
    """
    if not isinstance(name, str) or not _DATASET_NAME.fullmatch(name):
        raise ScenarioError(f"register_dataset: a dataset name is letters, digits, '.', '_' and '-', got {name!r}")
    if name in DATASETS:
        raise ScenarioError(f"register_dataset: {name!r} is a built-in dataset; choose another name")

    def register(function):
        if not callable(function):
            raise ScenarioError(f"register_dataset: decorates a function, got {type(function).__name__}")
        _REGISTERED_DATASETS[name] = function
        return function

    return register


def registered_dataset(name: str) -> Callable | None:
    """The function registered under ``name`` with :func:`register_dataset`, else ``None``."""
    return _REGISTERED_DATASETS.get(name)


class DatasetName(Constraint):
    """``data.dataset``: a built-in dataset, or a name registered before the :class:`Data` is built."""

    def holds(self, value) -> bool:
        return value in DATASETS or value in _REGISTERED_DATASETS

    def _reason(self, value) -> str:
        registered = ", ".join(sorted(_REGISTERED_DATASETS)) or "none so far"
        return (f"{value!r} is not one of {', '.join(DATASETS)}, nor a name registered with @register_dataset "
                f"before this Data is built (registered: {registered})")

    def describe(self) -> str:
        return f"one of: {', '.join(DATASETS)}, or a name registered with @register_dataset"
