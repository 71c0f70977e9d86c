"""The frozen teacher's feature vectors of a dataset, for the teacher-over-channel reference.

The teacher runs once over the training and test sets; the features are kept in an HDF5 file
(float16, written atomically) named by the dataset's fingerprint and a hash of the prepared
teacher's weights file, so a later run reuses them and a re-prepared teacher gets a new file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from semcom_sim.data import Dataset
from semcom_sim.io import atomic_path
from semcom_sim.scenario import Scenario
from semcom_sim.teacher.runner_base import TeacherError

__all__ = ["feature_dataset", "features_path"]


def features_path(scenario: Scenario, dataset: Dataset, directory: str | Path) -> Path:
    """Where the teacher features of ``dataset`` live under ``directory``."""
    weights = scenario.teacher.resolved_weights_path(dataset.name)
    if not weights.is_file():
        raise TeacherError(f"teacher {scenario.teacher.name} is not prepared ({weights} missing): run "
                           "semcom-sim teacher finetune SCENARIO.py")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:8]
    return Path(directory) / f"teacher-features-{scenario.teacher.name}-{dataset.fingerprint[:8]}-{digest}.h5"


def _compute(scenario: Scenario, dataset: Dataset, log: Callable[[str], Any]) -> dict[str, np.ndarray]:
    from semcom_sim.teacher.stage import LoadedTeacher

    teacher = LoadedTeacher(scenario, dataset)
    out = {}
    start = time.perf_counter()
    for split, num in (("train", dataset.num_train), ("test", dataset.num_test)):
        chunks = []
        for begin in range(0, num, 4096):
            _, features = teacher.predict(np.arange(begin, min(begin + 4096, num)), split=split)
            chunks.append(features.astype(np.float16))
        out[split] = np.concatenate(chunks)
        log(f"[teacher-features] {split}: {num} samples, {out[split].shape[1]} features "
            f"({time.perf_counter() - start:.0f} s)")
    return out


def feature_dataset(scenario: Scenario, dataset: Dataset, directory: str | Path,
                    log: Callable[[str], Any] = print) -> Dataset:
    """``dataset`` with its inputs replaced by the teacher's features (modality ``"features"``,
    float32 [N, D]); computed once and cached under ``directory``."""
    path = features_path(scenario, dataset, directory)
    if path.is_file():
        with h5py.File(path, "r") as f:
            arrays = {split: f[split][...] for split in ("train", "test")}
        log(f"[teacher-features] reusing {path}")
    else:
        arrays = _compute(scenario, dataset, log)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for split, values in arrays.items():
                f.create_dataset(split, data=values)
        log(f"[teacher-features] wrote {path}")
    if arrays["train"].shape[0] != dataset.num_train or arrays["test"].shape[0] != dataset.num_test:
        raise TeacherError(f"{path}: holds {arrays['train'].shape[0]}/{arrays['test'].shape[0]} samples, the "
                           f"dataset {dataset.num_train}/{dataset.num_test}; delete the file to recompute it")
    return Dataset(name=f"{dataset.name}+{scenario.teacher.name}-features",
                   x_train=arrays["train"].astype(np.float32), y_train=dataset.y_train,
                   x_test=arrays["test"].astype(np.float32), y_test=dataset.y_test,
                   num_classes=dataset.num_classes, class_names=dataset.class_names,
                   fingerprint=hashlib.sha256(path.name.encode()).hexdigest()[:16], modality="features")
