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
from semcom_sim.scenario import IMAGE_TEACHERS, TEXT_TEACHERS, Scenario
from semcom_sim.teacher.cache import TeacherIdentity, compress_topk, fit_pca, write_cache
from semcom_sim.teacher.runner_base import TeacherError


def _report_path(weights_path: Path) -> Path:
    return weights_path.with_name(weights_path.name + ".json")


def prepare_teacher(scenario: Scenario, dataset: Dataset, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Fine-tunes the image teacher, or fits the text teacher's head (``teacher.finetune_encoder``: fine-tunes
    it end to end), and writes it with a report (``<weights_path>.json``).

    A Hugging Face teacher (``teacher.kind``) is prepared as ``teacher.finetune_mode`` says
    (:func:`semcom_sim.teacher.hub_teacher.finetune_hub_teacher`).
    """
    _check_modality(scenario, dataset)
    cfg = scenario.teacher
    path = cfg.resolved_weights_path(dataset.name)
    log(f"[teacher] preparing {cfg.name} on {dataset.name} -> {path}")
    if cfg.kind is not None:
        from semcom_sim.teacher.hub_teacher import finetune_hub_teacher

        report = finetune_hub_teacher(dataset, kind=cfg.kind, model_dir=cfg.model_dir, mode=cfg.resolved_finetune_mode,
                                      out_path=path, epochs=cfg.finetune_epochs, batch_size=cfg.finetune_batch_size,
                                      lr=cfg.finetune_learning_rate, seed=scenario.training.seed,
                                      inference_batch_size=cfg.batch_size, log=log)
    elif cfg.name in IMAGE_TEACHERS:
        from semcom_sim.teacher.efficientnet import finetune

        report = finetune(dataset, variant=cfg.name, resolution=cfg.resolution, epochs=cfg.finetune_epochs,
                          batch_size=cfg.finetune_batch_size, lr=cfg.finetune_learning_rate,
                          seed=scenario.training.seed, out_path=path, log=log)
    elif cfg.finetune_encoder:
        from semcom_sim.teacher.minilm import finetune_minilm_teacher

        if cfg.finetune_learning_rate >= 1e-3:
            log(f"[teacher] warning: teacher.finetune_learning_rate={cfg.finetune_learning_rate:g} is high for "
                "fine-tuning a pretrained transformer (about 1e-4 suits all-MiniLM-L6-v2)")
        report = finetune_minilm_teacher(dataset, path, epochs=cfg.finetune_epochs, batch_size=cfg.finetune_batch_size,
                                         lr=cfg.finetune_learning_rate, max_length=cfg.max_length,
                                         seed=scenario.training.seed, log=log)
    else:
        from semcom_sim.teacher.minilm import fit_minilm_teacher

        report = fit_minilm_teacher(dataset, path, log=log, max_length=cfg.max_length)
    report = {**report, "teacher": cfg.name, "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint}
    atomic_write_text(_report_path(path), json.dumps(report, indent=2, default=str) + "\n")
    log(f"[teacher] test accuracy {report['test_accuracy']:.4f}, {report['num_parameters']:,} parameters, "
        f"{report['latency_ms_per_sample']:.2f} ms per sample (batch 1, CPU)")
    return report


def _check_modality(scenario: Scenario, dataset: Dataset) -> None:
    kind = scenario.teacher.kind
    if kind is not None:
        if (kind == "text-encoder") != (dataset.modality == "text"):
            use = "text-encoder" if dataset.modality == "text" else "image-classification or clip-vision"
            raise TeacherError(f"teacher.kind: a {kind} teacher cannot read the {dataset.modality} data of "
                               f"{dataset.name!r}; use {use}")
        return
    if scenario.teacher.name not in IMAGE_TEACHERS + TEXT_TEACHERS:
        raise TeacherError(f"teacher.name: {scenario.teacher.name!r} is not a teacher semcom-sim can prepare; "
                           f"use one of {', '.join(IMAGE_TEACHERS + TEXT_TEACHERS)}")
    text_teacher = scenario.teacher.name not in IMAGE_TEACHERS
    if text_teacher != (dataset.modality == "text"):
        raise TeacherError(f"teacher.name: {scenario.teacher.name!r} cannot read the {dataset.modality} data of "
                           f"{dataset.name!r}; choose a {'text' if dataset.modality == 'text' else 'image'} teacher")


class LoadedTeacher:
    """A prepared teacher of a scenario, run over the training set.

    ``predict(rows, split="train")`` takes positions in the training (or ``"test"``) set (int [B])
    and returns the teacher's probabilities float32 [B, C] and features float32 [B, D].

    ``model`` is an :class:`~semcom_sim.teacher.efficientnet.EfficientNetTeacher`, a
    :class:`~semcom_sim.teacher.minilm.MiniLMTeacher` or, for ``teacher.kind``, a prepared
    :class:`~semcom_sim.teacher.hub.HubTeacher` (features: the Hugging Face model's embedding).

    :param scenario: the scenario (its ``teacher`` section).
    :param dataset: the :class:`~semcom_sim.data.Dataset` the teacher was prepared on.
    """

    def __init__(self, scenario: Scenario, dataset: Dataset):
        _check_modality(scenario, dataset)
        cfg = scenario.teacher
        path = cfg.resolved_weights_path(dataset.name)
        if not path.is_file():
            raise TeacherError(f"teacher {cfg.name} is not prepared ({path} missing): run "
                               "semcom-sim teacher finetune SCENARIO.py")
        if cfg.kind is not None:
            from semcom_sim.teacher.hub_teacher import load_prepared

            self.model = load_prepared(path, kind=cfg.kind, model_dir=cfg.model_dir)
        elif cfg.name in IMAGE_TEACHERS:
            from semcom_sim.teacher.efficientnet import EfficientNetTeacher

            self.model = EfficientNetTeacher.load(path)
            if self.model.resolution != cfg.resolution:
                raise TeacherError(f"teacher {path} was fine-tuned at {self.model.resolution} px, but "
                                   f"teacher.resolution is {cfg.resolution}: run semcom-sim teacher finetune again")
        else:
            from semcom_sim.teacher.minilm import MiniLMTeacher

            self.model = MiniLMTeacher.load(path)
            if self.model.finetuned != cfg.finetune_encoder:
                kind = "fine-tuned end to end" if self.model.finetuned else "a head on the frozen encoder"
                raise TeacherError(f"teacher {path} is {kind}, but teacher.finetune_encoder is "
                                   f"{cfg.finetune_encoder}: run semcom-sim teacher finetune again, or set "
                                   f"teacher.finetune_encoder={self.model.finetuned}")
            if self.model.max_length != cfg.max_length:
                raise TeacherError(f"teacher {path} was prepared with max_length {self.model.max_length}, but "
                                   f"teacher.max_length is {cfg.max_length}: run semcom-sim teacher finetune again")
        if dataset.modality == "text":
            self._inputs = {"train": np.asarray(dataset.texts_train, dtype=object),
                            "test": np.asarray(dataset.texts_test, dtype=object)}
        else:
            self._inputs = {"train": dataset.x_train, "test": dataset.x_test}
        own = self.model.identity
        # The cache names the teacher as the scenario does; the weights hash pins the exact weights.
        self.identity = TeacherIdentity(cfg.name, own.weights_sha256, own.description)
        self.batch_size = cfg.batch_size

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
    values, indices = compress_topk(probs, cfg.top_k)
    features = np.concatenate(features) if cfg.store_features else None
    projection = fit_pca(features, cfg.feature_dim) if cfg.store_features and cfg.feature_dim else None
    if projection is not None:
        log(f"[teacher] features projected from {features.shape[1]} to their first {cfg.feature_dim} principal "
            f"components ({100 * projection.explained_variance:.1f} % of the variance)")
        features = projection(features)
    path = cfg.resolved_cache_path(dataset.name)
    manifest = write_cache(
        path, topk_probs=values, topk_indices=indices, num_classes=dataset.num_classes,
        dataset_name=dataset.name, dataset_fingerprint=dataset.fingerprint, teacher=teacher.identity,
        features=features[:, None, :] if features is not None else None, feature_projection=projection,
        logits=np.log(np.maximum(probs, 1e-30)) if cfg.store_logits else None,
        creation={"teacher_seconds": round(time.perf_counter() - start, 1), "top_k": cfg.top_k,
                  "resolution": cfg.resolution if cfg.name in IMAGE_TEACHERS and cfg.kind is None else None,
                  **({"teacher_kind": cfg.kind, "input_size": teacher.model.input_size} if cfg.kind else {}),
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

    def __call__(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """``{"teacher_probs": float32 [len(rows), C]}`` for training-set positions ``rows``."""
        probs, _ = self.teacher.predict(np.asarray(rows))
        return {"teacher_probs": self._scale(probs, self.temperature)}
