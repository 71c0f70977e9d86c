"""Which training samples a scheme trains on and which it holds out: the same rows for every scheme of a
scenario (both seeded by ``data.seed``)."""

from __future__ import annotations

import numpy as np

from semcom_sim.data.base import Dataset, seeded_rng, stratified_indices
from semcom_sim.errors import ScenarioError

__all__ = ["validation_rows", "training_rows"]


def validation_rows(scenario, dataset: Dataset) -> np.ndarray:
    """Positions of the ``training.validation_samples`` training samples held out from training (stratified,
    seeded by ``data.seed``; the same for every scheme); empty when there are none."""
    count = scenario.training.validation_samples
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if count >= dataset.x_train.shape[0]:
        raise ScenarioError(f"training.validation_samples: {count} leaves none of the {dataset.x_train.shape[0]} "
                            "training samples to train on")
    return np.sort(stratified_indices(dataset.y_train, count, seeded_rng(scenario.data.seed, 107),
                                      "training.validation_samples"))


def training_rows(scenario, dataset: Dataset) -> np.ndarray:
    """Positions of the training samples used: all but the held-out :func:`validation_rows`, or a stratified
    ``training.train_fraction`` of those (the same rows for every scheme and distillation mode of a
    scenario)."""
    pool = np.setdiff1d(np.arange(dataset.x_train.shape[0]), validation_rows(scenario, dataset))
    fraction = scenario.training.train_fraction
    if fraction >= 1.0:
        return pool
    count = max(dataset.num_classes, int(round(fraction * pool.size)))
    return pool[stratified_indices(dataset.y_train[pool], count, seeded_rng(scenario.data.seed, 103),
                                   "training.train_fraction")]
