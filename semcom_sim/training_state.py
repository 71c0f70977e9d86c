"""A training's full state on disk, so that a killed training resumes where it was and ends bit-identical.

The state of a training in progress is one file beside its checkpoint,
``{run_dir}/checkpoints/{scheme}-{fingerprint}.state.npz``, rewritten atomically at the end of every epoch
(and every ``training.state_every_steps`` steps within one). It holds every variable of the model (weights,
batch-normalisation statistics, the states of its seed generators), every variable of the stage's optimiser
(the iteration count, hence the learning-rate schedule's position, and Adam's moments), Sionna's generators
(channels, noise, training Eb/N0), the data-order generator and the epoch's order, the position (stage, epoch
within the stage, step within the epoch), the running sums of the epoch and the history so far. The file is
removed once the final checkpoint is written.

A state is used only by the training it was written for: the same scheme, checkpoint fingerprint and variable
shapes, and the same TensorFlow, Keras and Sionna versions (another version may compute other bits). Anything
else is refused with one line, never silently reused.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from semcom_sim.errors import InputError
from semcom_sim.io import atomic_path

__all__ = ["EpochState", "TrainingState", "TrainingStateError", "TrainingDiverged", "state_path_of", "versions"]

FORMAT = 1


class TrainingStateError(InputError):
    """A saved training state that does not belong to the training that found it (one line)."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names scheme, stage, epoch and step (one line)."""


def versions() -> dict[str, str]:
    """The library versions whose arithmetic a bit-identical resume relies on."""
    return {"tensorflow": importlib.metadata.version("tensorflow"), "keras": keras.__version__,
            "sionna": importlib.metadata.version("sionna-no-rt")}


def state_path_of(weights_path: Path) -> Path:
    """The state file of a training whose checkpoint weights are ``weights_path``."""
    name = weights_path.name.removesuffix(".weights.h5")
    return weights_path.with_name(f"{name}.state.npz")


def _write(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """One ``.npz`` with ``meta`` (JSON, plus ``format`` and the library versions) and ``arrays``, atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps({"format": FORMAT, "versions": versions(), **meta})), **arrays)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def _read(path: Path, identity: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a state written by :func:`_write` whose ``meta`` holds ``identity``; anything else
    (unreadable, another identity, other library versions) is refused in one line."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as exc:
        raise TrainingStateError(f"{path}: not a readable training state ({type(exc).__name__}); delete it to "
                                 "train from the start") from None
    found = {key: meta.get(key) for key in identity}
    if meta.get("format") != FORMAT or found != identity:
        what = ", ".join(f"{key} {found[key]!r}" for key in identity)
        wanted = ", ".join(f"{key} {value!r}" for key, value in identity.items())
        raise TrainingStateError(f"{path}: a partial training of {what}, not of {wanted}; delete it to train from "
                                 "the start")
    if meta["versions"] != versions():
        raise TrainingStateError(f"{path}: written with {meta['versions']}, this is {versions()}; it would not "
                                 "resume bit-identically: delete it to train from the start")
    return meta, arrays


def _numbered(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [arrays[f"{prefix}_{i}"] for i in range(sum(name.startswith(prefix + "_") for name in arrays))]


def _values(variables) -> list[np.ndarray]:
    return [np.array(v.numpy()) for v in variables]  # Variable.numpy(): a copy, on every backend


def _assign(variables, values: list[np.ndarray], what: str, path: Path) -> None:
    shapes = [tuple(v.shape) for v in variables]
    saved = [tuple(a.shape) for a in values]
    if shapes != saved:
        raise TrainingStateError(f"{path}: its {what} has {len(saved)} variables of other shapes than this training's "
                                 f"{len(shapes)}; delete it to train from the start")
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


@dataclass
class TrainingState:
    """Where a training is and everything it needs to go on from there.

    :param stage: index of the stage in ``training.resolved_stages()``.
    :param stage_epoch: epochs of that stage finished.
    :param step: steps of the current epoch finished (0 at an epoch's end).
    :param history: one record per finished epoch.
    :param totals: the current epoch's sums of the loss terms; ``correct``: its correct decisions so far;
        ``seconds``: its training time so far.
    :param order: the current epoch's order of training rows (empty at an epoch's end).
    :param data_rng: the data-order generator's state (NumPy ``bit_generator.state``).
    :param generators: Sionna's generators (:func:`semcom_sim.phy.generator_state`).
    :param model: the values of ``model.variables``; ``optimizer``: of the stage optimiser's ``variables``.
    """

    scheme: str
    fingerprint: str
    stage: int
    stage_epoch: int
    step: int
    history: list[dict]
    totals: dict[str, float]
    correct: float
    seconds: float
    order: np.ndarray
    data_rng: dict
    generators: dict
    model: list[np.ndarray] = field(repr=False)
    optimizer: list[np.ndarray] = field(repr=False)

    def where(self) -> str:
        """``epoch E, step S`` (epochs counted across stages, as the history numbers them)."""
        epoch = len(self.history) + (1 if self.step else 0)
        return f"epoch {epoch}, step {self.step}" if self.step else f"the end of epoch {len(self.history)}"

    def save(self, path: Path) -> None:
        """Writes the state to ``path`` atomically (a kill during the write leaves the previous state)."""
        generators = dict(self.generators)
        tf_rng = np.asarray(generators.pop("tf_rng"))
        meta = {"scheme": self.scheme, "fingerprint": self.fingerprint, "stage": self.stage,
                "stage_epoch": self.stage_epoch, "step": self.step, "history": self.history, "totals": self.totals,
                "correct": self.correct, "seconds": self.seconds, "data_rng": self.data_rng, "generators": generators}
        arrays = {"order": np.asarray(self.order), "tf_rng": tf_rng}
        arrays.update({f"model_{i}": a for i, a in enumerate(self.model)})
        arrays.update({f"optimizer_{i}": a for i, a in enumerate(self.optimizer)})
        _write(path, meta, arrays)

    @classmethod
    def load(cls, path: Path, scheme: str, fingerprint: str) -> TrainingState:
        """Reads the state at ``path``; refuses (one line) a state of another training or library version."""
        meta, arrays = _read(path, {"scheme": scheme, "fingerprint": fingerprint})
        return cls(scheme=scheme, fingerprint=fingerprint, stage=meta["stage"], stage_epoch=meta["stage_epoch"],
                   step=meta["step"], history=meta["history"], totals=meta["totals"], correct=meta["correct"],
                   seconds=meta["seconds"], order=arrays["order"], data_rng=meta["data_rng"],
                   generators={**meta["generators"], "tf_rng": arrays["tf_rng"]},
                   model=_numbered(arrays, "model"), optimizer=_numbered(arrays, "optimizer"))

    def restore_model(self, model, path: Path) -> None:
        _assign(model.variables, self.model, "model", path)

    def restore_optimizer(self, optimizer, path: Path) -> None:
        _assign(optimizer.variables, self.optimizer, "optimiser", path)

    @staticmethod
    def variables_of(model, optimizer) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return _values(model.variables), _values(optimizer.variables)


@dataclass
class EpochState:
    """The state of a loop of epochs whose randomness is one NumPy generator (the architecture search and its
    retrainings): after ``epoch`` epochs, the values of ``variables`` (every variable of the networks and
    optimisers, in a fixed order), the generator's state and what the loop has recorded so far (``record``,
    JSON). Saved at every epoch's end; a loop finds it with :meth:`load` and goes on from the next epoch.

    :param key: what loop this is (e.g. the search's identity and ``lambda``); a state of another key is refused.
    """

    key: str
    epoch: int
    variables: list[np.ndarray] = field(repr=False)
    rng: dict
    record: dict

    def save(self, path: Path) -> None:
        _write(path, {"key": self.key, "epoch": self.epoch, "rng": self.rng, "record": self.record},
               {f"variable_{i}": a for i, a in enumerate(self.variables)})

    @classmethod
    def load(cls, path: Path, key: str) -> EpochState | None:
        """The state at ``path`` (``None`` if there is none); one of another loop is refused in one line."""
        if not path.is_file():
            return None
        meta, arrays = _read(path, {"key": key})
        return cls(key, meta["epoch"], _numbered(arrays, "variable"), meta["rng"], meta["record"])

    @classmethod
    def of(cls, key: str, epoch: int, variables, rng: np.random.Generator, record: dict) -> EpochState:
        """The state of a loop now: ``variables`` (Keras variables) read, ``rng``'s state taken."""
        return cls(key, epoch, _values(variables), rng.bit_generator.state, record)

    def restore(self, variables, rng: np.random.Generator, path: Path) -> None:
        """Assigns the saved values to ``variables`` and the saved state to ``rng``."""
        _assign(variables, self.variables, "networks", path)
        rng.bit_generator.state = self.rng
