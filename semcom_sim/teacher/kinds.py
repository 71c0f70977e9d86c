"""The teacher registry: one :class:`TeacherKind` per family of teachers, picked once from the scenario's
``teacher`` section by :func:`teacher_kind`.

A kind knows how its teacher is **prepared** (fine-tuned, or its head fitted; written to
``teacher.weights_path``), **loaded** (with the checks that the prepared file matches the scenario) and what
its cache records about it; the loaded model **predicts** (``predict(inputs, batch_size) -> (probabilities,
features)``), carries its **identity** (``identity``: name, weights hash, description) and measures its
**cost** (``cost(sample, component, runs, warmup)``). Adding a teacher family means one subclass here and
its runner module; nothing else dispatches on the teacher.

The runners import torch; this module imports them only inside its methods.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from semcom_sim.data import Dataset
from semcom_sim.scenario import Scenario
from semcom_sim.teacher.registry import IMAGE_TEACHERS, TEXT_TEACHERS
from semcom_sim.teacher.runner_base import TeacherError

__all__ = ["TeacherKind", "EfficientNetKind", "MiniLMKind", "HubKind", "TEACHER_KINDS", "teacher_kind"]


class TeacherKind(abc.ABC):
    """A family of teachers. ``reads_text``: whether its teachers read texts (else images)."""

    name: str = ""

    @abc.abstractmethod
    def reads_text(self, scenario: Scenario) -> bool:
        """Whether the scenario's teacher of this kind reads texts."""

    @abc.abstractmethod
    def prepare(self, scenario: Scenario, dataset: Dataset, path: Path, log: Callable[[str], Any]) -> dict:
        """Prepares the teacher on ``dataset``, writes it to ``path`` and returns its report (``test_accuracy``,
        ``num_parameters``, ``latency_ms_per_sample``, ...)."""

    @abc.abstractmethod
    def load(self, scenario: Scenario, path: Path) -> Any:
        """The prepared teacher at ``path``; a file that does not match the scenario is refused in one line."""

    def creation(self, scenario: Scenario, model: Any) -> dict:
        """What the cache's manifest records about the teacher beside its identity."""
        return {}

    def check(self, scenario: Scenario, dataset: Dataset) -> None:
        """Refuses, in one line, a teacher that cannot read ``dataset``."""
        cfg = scenario.teacher
        if self.reads_text(scenario) != (dataset.modality == "text"):
            raise TeacherError(f"teacher.name: {cfg.name!r} cannot read the {dataset.modality} data of "
                               f"{dataset.name!r}; choose a {'text' if dataset.modality == 'text' else 'image'} "
                               "teacher")


class EfficientNetKind(TeacherKind):
    """ImageNet EfficientNet-Lite, fine-tuned on the images (:mod:`semcom_sim.teacher.efficientnet`)."""

    name = "efficientnet"

    def reads_text(self, scenario: Scenario) -> bool:
        return False

    def prepare(self, scenario: Scenario, dataset: Dataset, path: Path, log: Callable[[str], Any]) -> dict:
        from semcom_sim.teacher.efficientnet import finetune

        cfg = scenario.teacher
        return finetune(dataset, variant=cfg.name, resolution=cfg.resolution, epochs=cfg.finetune_epochs,
                        batch_size=cfg.finetune_batch_size, lr=cfg.finetune_learning_rate,
                        seed=scenario.training.seed, out_path=path, log=log)

    def load(self, scenario: Scenario, path: Path) -> Any:
        from semcom_sim.teacher.efficientnet import EfficientNetTeacher

        model = EfficientNetTeacher.load(path)
        if model.resolution != scenario.teacher.resolution:
            raise TeacherError(f"teacher {path} was fine-tuned at {model.resolution} px, but teacher.resolution is "
                               f"{scenario.teacher.resolution}: run semcom-sim teacher finetune again")
        return model

    def creation(self, scenario: Scenario, model: Any) -> dict:
        return {"resolution": scenario.teacher.resolution}


class MiniLMKind(TeacherKind):
    """all-MiniLM-L6-v2 with a linear head: the head fitted on the frozen encoder, or fine-tuned end to end
    (``teacher.finetune_encoder``; :mod:`semcom_sim.teacher.minilm`)."""

    name = "minilm"

    def reads_text(self, scenario: Scenario) -> bool:
        return True

    def prepare(self, scenario: Scenario, dataset: Dataset, path: Path, log: Callable[[str], Any]) -> dict:
        from semcom_sim.teacher.minilm import finetune_minilm_teacher, fit_minilm_teacher

        cfg = scenario.teacher
        if not cfg.finetune_encoder:
            return fit_minilm_teacher(dataset, path, log=log, max_length=cfg.max_length)
        if cfg.finetune_learning_rate >= 1e-3:
            log(f"[teacher] warning: teacher.finetune_learning_rate={cfg.finetune_learning_rate:g} is high for "
                "fine-tuning a pretrained transformer (about 1e-4 suits all-MiniLM-L6-v2)")
        return finetune_minilm_teacher(dataset, path, epochs=cfg.finetune_epochs, batch_size=cfg.finetune_batch_size,
                                       lr=cfg.finetune_learning_rate, max_length=cfg.max_length,
                                       seed=scenario.training.seed, log=log)

    def load(self, scenario: Scenario, path: Path) -> Any:
        from semcom_sim.teacher.minilm import MiniLMTeacher

        cfg = scenario.teacher
        model = MiniLMTeacher.load(path)
        if model.finetuned != cfg.finetune_encoder:
            kind = "fine-tuned end to end" if model.finetuned else "a head on the frozen encoder"
            raise TeacherError(f"teacher {path} is {kind}, but teacher.finetune_encoder is {cfg.finetune_encoder}: "
                               "run semcom-sim teacher finetune again, or set "
                               f"teacher.finetune_encoder={model.finetuned}")
        if model.max_length != cfg.max_length:
            raise TeacherError(f"teacher {path} was prepared with max_length {model.max_length}, but "
                               f"teacher.max_length is {cfg.max_length}: run semcom-sim teacher finetune again")
        return model

    def creation(self, scenario: Scenario, model: Any) -> dict:
        return {"resolution": None}


class HubKind(TeacherKind):
    """A Hugging Face model from ``teacher.model_dir`` (``teacher.kind``: image classification, a CLIP vision
    tower or a text encoder; :mod:`semcom_sim.teacher.hub_teacher`)."""

    name = "hub"

    def reads_text(self, scenario: Scenario) -> bool:
        return scenario.teacher.kind == "text-encoder"

    def check(self, scenario: Scenario, dataset: Dataset) -> None:
        kind = scenario.teacher.kind
        if self.reads_text(scenario) != (dataset.modality == "text"):
            use = "text-encoder" if dataset.modality == "text" else "image-classification or clip-vision"
            raise TeacherError(f"teacher.kind: a {kind} teacher cannot read the {dataset.modality} data of "
                               f"{dataset.name!r}; use {use}")

    def prepare(self, scenario: Scenario, dataset: Dataset, path: Path, log: Callable[[str], Any]) -> dict:
        from semcom_sim.teacher.hub_teacher import finetune_hub_teacher

        cfg = scenario.teacher
        return finetune_hub_teacher(dataset, kind=cfg.kind, model_dir=cfg.model_dir, mode=cfg.resolved_finetune_mode,
                                    out_path=path, epochs=cfg.finetune_epochs, batch_size=cfg.finetune_batch_size,
                                    lr=cfg.finetune_learning_rate, seed=scenario.training.seed,
                                    inference_batch_size=cfg.batch_size, log=log)

    def load(self, scenario: Scenario, path: Path) -> Any:
        from semcom_sim.teacher.hub_teacher import load_prepared

        return load_prepared(path, kind=scenario.teacher.kind, model_dir=scenario.teacher.model_dir)

    def creation(self, scenario: Scenario, model: Any) -> dict:
        return {"resolution": None, "teacher_kind": scenario.teacher.kind, "input_size": model.input_size}


TEACHER_KINDS: dict[str, TeacherKind] = {kind.name: kind for kind in (EfficientNetKind(), MiniLMKind(), HubKind())}
"""The registry, by kind name."""


def teacher_kind(scenario: Scenario) -> TeacherKind:
    """The kind of the scenario's teacher: a Hugging Face model when ``teacher.kind`` is set, else the shipped
    image (EfficientNet-Lite) or text (all-MiniLM-L6-v2) teacher ``teacher.name`` names."""
    cfg = scenario.teacher
    if cfg.kind is not None:
        return TEACHER_KINDS["hub"]
    if cfg.name in IMAGE_TEACHERS:
        return TEACHER_KINDS["efficientnet"]
    if cfg.name in TEXT_TEACHERS:
        return TEACHER_KINDS["minilm"]
    raise TeacherError(f"teacher.name: {cfg.name!r} is not a teacher semcom-sim can prepare; use one of "
                       f"{', '.join(IMAGE_TEACHERS + TEXT_TEACHERS)}")
