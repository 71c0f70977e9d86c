"""Trained models on disk: where a scheme's checkpoint lives and how a model is rebuilt from it.

A checkpoint is ``{run_dir}/checkpoints/{scheme}-{fingerprint}.weights.h5`` with its metadata
``.json`` beside it (written by :func:`semcom_sim.train.save_checkpoint`). Everything here takes the
scenario **as the scheme trains it** (its patch applied by the orchestrator): nothing resolves a scheme.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from semcom_sim.data import Dataset
from semcom_sim.results import CHECKPOINTS_DIR
from semcom_sim.scenario import Scenario
from semcom_sim.system import SemanticLink, build_model_for
from semcom_sim.teacher.cache import cache_checksum

__all__ = ["Checkpoint", "load_model"]


@dataclass(frozen=True)
class Checkpoint:
    """Where a trained scheme lives: ``{dir}/{scheme}-{fingerprint}.weights.h5`` and ``.json`` beside it.

    The fingerprint covers the scheme-resolved data, model, phy and training sections and the
    dataset's fingerprint, so a checkpoint is reused only for exactly the experiment it was trained for.
    """

    directory: Path
    scheme: str
    fingerprint: str

    @classmethod
    def of(cls, out_dir: str | Path, scheme: str, trained: Scenario, dataset: Dataset) -> Checkpoint:
        """The checkpoint of ``scheme`` trained as ``trained`` (the scenario with the scheme's patch applied)
        on ``dataset``, under the run directory ``out_dir``."""
        extra = ""
        if trained.training.distillation == "cached":  # a rebuilt cache is another experiment
            extra = cache_checksum(trained.teacher.resolved_cache_path(dataset.name))[:6]
        fingerprint = f"{trained.fingerprint()}-{dataset.fingerprint[:8]}{extra and '-' + extra}"
        return cls(Path(out_dir) / CHECKPOINTS_DIR, scheme, fingerprint)

    @property
    def weights_path(self) -> Path:
        return self.directory / f"{self.scheme}-{self.fingerprint}.weights.h5"

    @property
    def meta_path(self) -> Path:
        return self.directory / f"{self.scheme}-{self.fingerprint}.json"

    def exists(self) -> bool:
        return self.weights_path.is_file() and self.meta_path.is_file()

    def meta(self) -> dict:
        """The checkpoint's metadata (the resolved scenario, the history, the length policy, ...)."""
        return json.loads(self.meta_path.read_text())

    def weights_digest(self) -> str:
        """sha256 of the weights file (identifies one training run of this experiment)."""
        return hashlib.sha256(self.weights_path.read_bytes()).hexdigest()


def load_model(checkpoint: Checkpoint, scenario: Scenario, dataset: Dataset) -> SemanticLink:
    """Builds the model of ``scenario`` (the scheme as trained, or as evaluated: its test patch or a test-time
    study variant applied) and loads the weights of ``checkpoint`` into it."""
    model = build_model_for(scenario, dataset, checkpoint.meta().get("teacher_feature_dim"))
    model.load_weights(str(checkpoint.weights_path))
    return model
