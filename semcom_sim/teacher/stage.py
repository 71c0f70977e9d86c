"""The teacher stage of a scenario: prepare the teacher once, then run it once to fill the cache.

    semcom-sim teacher finetune SCENARIO.py   # image: fine-tune EfficientNet-Lite; text: fit MiniLM's head,
                                              # or fine-tune MiniLM end to end (teacher.finetune_encoder);
                                              # teacher.kind: prepare the Hugging Face model in teacher.model_dir
    semcom-sim teacher cache SCENARIO.py      # run the teacher over the training set, write the HDF5 cache

This module imports torch (through the runners) only inside its functions, so importing it is cheap;
training from the cache never calls it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semcom_sim.data import Dataset
from semcom_sim.io import atomic_write_text
from semcom_sim.scenario import Scenario
from semcom_sim.teacher.cache import (
    TeacherIdentity,
    compress_topk,
    draw_classes,
    fit_pca,
    temperature_scale,
    write_cache,
)
from semcom_sim.teacher.kinds import teacher_kind
from semcom_sim.teacher.runner_base import TeacherError


def _report_path(weights_path: Path) -> Path:
    return weights_path.with_name(weights_path.name + ".json")


def prepare_teacher(scenario: Scenario, dataset: Dataset, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Prepares the scenario's teacher once (:meth:`~semcom_sim.teacher.kinds.TeacherKind.prepare`: fine-tunes
    the image teacher; fits the text teacher's head, or fine-tunes it end to end with
    ``teacher.finetune_encoder``; a Hugging Face teacher as ``teacher.finetune_mode`` says) and writes it with a
    report (``<weights_path>.json``)."""
    kind = teacher_kind(scenario)
    kind.check(scenario, dataset)
    cfg = scenario.teacher
    path = cfg.resolved_weights_path(dataset.name)
    log(f"[teacher] preparing {cfg.name} on {dataset.name} -> {path}")
    report = kind.prepare(scenario, dataset, path, log)
    report = {**report, "teacher": cfg.name, "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint}
    atomic_write_text(_report_path(path), json.dumps(report, indent=2, default=str) + "\n")
    log(f"[teacher] test accuracy {report['test_accuracy']:.4f}, {report['num_parameters']:,} parameters, "
        f"{report['latency_ms_per_sample']:.2f} ms per sample (batch 1, CPU)")
    return report


class LoadedTeacher:
    """A prepared teacher of a scenario, run over the training set.

    ``predict(rows, split="train")`` takes positions in the training (or ``"test"``) set (int [B])
    and returns the teacher's probabilities float32 [B, C] and features float32 [B, D].

    ``model`` is what the teacher's kind (:func:`~semcom_sim.teacher.kinds.teacher_kind`) loads: an
    :class:`~semcom_sim.teacher.efficientnet.EfficientNetTeacher`, a
    :class:`~semcom_sim.teacher.minilm.MiniLMTeacher` or, for ``teacher.kind``, a prepared
    :class:`~semcom_sim.teacher.hub.HubTeacher` (features: the Hugging Face model's embedding).
    :meth:`cost` measures it as the scenario names it.

    :param scenario: the scenario (its ``teacher`` section).
    :param dataset: the :class:`~semcom_sim.data.Dataset` the teacher was prepared on.
    """

    def __init__(self, scenario: Scenario, dataset: Dataset):
        self.kind = teacher_kind(scenario)
        self.kind.check(scenario, dataset)
        cfg = scenario.teacher
        path = cfg.resolved_weights_path(dataset.name)
        if not path.is_file():
            raise TeacherError(f"teacher {cfg.name} is not prepared ({path} missing): run "
                               "semcom-sim teacher finetune SCENARIO.py")
        self.model = self.kind.load(scenario, path)
        if dataset.modality == "text":
            self._inputs = {"train": np.asarray(dataset.texts_train, dtype=object),
                            "test": np.asarray(dataset.texts_test, dtype=object)}
        else:
            self._inputs = {"train": dataset.x_train, "test": dataset.x_test}
        own = self.model.identity
        # The cache names the teacher as the scenario does; the weights hash pins the exact weights.
        self.identity = TeacherIdentity(cfg.name, own.weights_sha256, own.description)
        self.batch_size = cfg.batch_size

    def cost(self, sample: Any, runs: int = 50, warmup: int = 10, component: str | None = None):
        """Size, FLOPs and batch-1 latency of the teacher on one sample (its model's ``cost``), named as the
        scenario names it."""
        return self.model.cost(sample, runs=runs, warmup=warmup, component=component or self.identity.name)

    def predict(self, rows: np.ndarray, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        inputs = self._inputs[split][rows]
        return self.model.predict(inputs if isinstance(inputs, np.ndarray) and inputs.dtype != object
                                  else list(inputs), batch_size=self.batch_size)


def build_cache(scenario: Scenario, dataset: Dataset, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Runs the prepared teacher once over the training set and writes the teacher cache atomically.

    One view per sample (the un-augmented input): the student trains without augmentation, so every
    cached output belongs to exactly the input the student sees.
    """
    cfg = scenario.teacher
    teacher = LoadedTeacher(scenario, dataset)
    num = dataset.x_train.shape[0]
    start = time.perf_counter()
    probs, features = [], []
    chunk = max(cfg.batch_size, 2048)
    for begin in range(0, num, chunk):
        p, f = teacher.predict(np.arange(begin, min(begin + chunk, num)))
        probs.append(p)
        features.append(f if cfg.store_features else None)
        log(f"[teacher] {min(begin + chunk, num)}/{num} samples ({time.perf_counter() - start:.0f} s)")
    probs = np.concatenate(probs)[:, None, :]
    if cfg.cache_kind == "sampled":
        temperature = scenario.training.kd_temperature
        sampling = {"entries": cfg.sampled_entries, "draws": cfg.sample_draws, "seed": cfg.sample_seed,
                    "temperature": temperature}
        stored = {"sampled_indices": draw_classes(temperature_scale(probs, temperature), cfg.sampled_entries,
                                                  cfg.sample_draws, cfg.sample_seed), "sampling": sampling}
        kept = {"sampling": sampling}
    else:
        values, indices = compress_topk(probs, cfg.top_k)
        stored, kept = {"topk_probs": values, "topk_indices": indices}, {"top_k": cfg.top_k}
    features = np.concatenate(features) if cfg.store_features else None
    projection = fit_pca(features, cfg.feature_dim) if cfg.store_features and cfg.feature_dim else None
    if projection is not None:
        log(f"[teacher] features projected from {features.shape[1]} to their first {cfg.feature_dim} principal "
            f"components ({100 * projection.explained_variance:.1f} % of the variance)")
        features = projection(features)
    path = cfg.resolved_cache_path(dataset.name)
    manifest = write_cache(
        path, **stored, num_classes=dataset.num_classes,
        dataset_name=dataset.name, dataset_fingerprint=dataset.fingerprint, teacher=teacher.identity,
        features=features[:, None, :] if features is not None else None, feature_projection=projection,
        logits=np.log(np.maximum(probs, 1e-30)) if cfg.store_logits else None,
        creation={"teacher_seconds": round(time.perf_counter() - start, 1), **kept,
                  **teacher.kind.creation(scenario, teacher.model),
                  "teacher_train_accuracy": float(np.mean(probs[:, 0].argmax(-1) == dataset.y_train))})
    log(f"[teacher] wrote {path} ({path.stat().st_size / 1e6:.2f} MB; teacher train accuracy "
        f"{manifest['creation']['teacher_train_accuracy']:.4f})")
    return manifest


class OnlineTeacherTargets:
    """Online KD (the standard-KD baseline): the teacher runs on every batch; full distribution at T.

    :param scenario: the scenario (its ``teacher`` section names the prepared teacher).
    :param dataset: the :class:`~semcom_sim.data.Dataset` whose training set the rows index.
    """

    def __init__(self, scenario: Scenario, dataset: Dataset):
        from semcom_sim.teacher.cache import temperature_scale

        self.teacher = LoadedTeacher(scenario, dataset)
        self.temperature = scenario.training.kd_temperature
        self._scale = temperature_scale

    def __call__(self, rows: np.ndarray, epoch: int = 1) -> dict[str, np.ndarray]:
        """``{"teacher_probs": float32 [len(rows), C]}`` for training-set positions ``rows`` (the teacher's full
        distribution, whatever the epoch)."""
        probs, _ = self.teacher.predict(np.asarray(rows))
        return {"teacher_probs": self._scale(probs, self.temperature)}
