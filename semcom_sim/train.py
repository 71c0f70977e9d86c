"""End-to-end training through the channel, and checkpoints. One of the two TensorFlow-specific
modules (with ``evaluate.py``): the train step is a ``tf.function``, XLA-compiled by default."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from semcom_sim.adaptation import fit_policy
from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.data import Dataset
from semcom_sim.data.base import seeded_rng
from semcom_sim.data.splits import training_rows
from semcom_sim.io import atomic_path, atomic_write_text
from semcom_sim.losses import make_loss
from semcom_sim.phy import generator_state, restore_generator_state, uniform_ebno_db
from semcom_sim.results import TENSORBOARD_DIR
from semcom_sim.scenario import Scenario, ScenarioError
from semcom_sim.system import SemanticLink, build_model_for, seed_everything
from semcom_sim.teacher.cache import CacheError, TeacherCache
from semcom_sim.training_state import TrainingDiverged, TrainingState, state_path_of

__all__ = ["CachedTeacherTargets", "TrainJob", "TrainingCurves", "train_model", "save_checkpoint", "load_or_train",
           "recompute_batch_norm_statistics", "precise_batch_norm", "train_step_fn"]

_BATCH_NORM_STREAM = 211  # seeded_rng stream of the batch order that recomputes the normalisation statistics


def _train_step_fn(model: SemanticLink, optimizer, loss_fn, ebno_db_range, jit_compile: bool, channel: bool = True):
    low, high = (float(v) for v in ebno_db_range)
    sandwich = model.nested and model.model_cfg.length_draw == "sandwich" and channel

    @tf.function(jit_compile=jit_compile)
    def train_step(images, labels, extras):
        num_frames = model.num_frames(images.shape[0])
        ebno_db = uniform_ebno_db(num_frames, low, high)
        with tf.GradientTape() as tape:
            outputs = model((images, ebno_db), training=True, bypass_channel=not channel)
            loss, parts = loss_fn(outputs, labels, extras)
            if sandwich:  # the same samples again at the full length; the two losses averaged
                full = model((images, ebno_db), training=True, length=float(model.model_cfg.num_channel_uses))
                loss_full, parts_full = loss_fn(full, labels, extras)
                loss = 0.5 * (loss + loss_full)
                parts = {key: 0.5 * (value + parts_full[key]) for key, value in parts.items()}
        if model.nested:  # variable length: the mean channel uses per sample, a curve of its own
            uses = tf.reduce_mean(outputs["channel_uses"])
            parts = {**parts, "channel_uses": 0.5 * (uses + float(model.model_cfg.num_channel_uses)) if sandwich
                     else uses}
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.argmax(outputs["logits"], -1, output_type=tf.int32) == labels,
                                        tf.float32))
        return loss, parts, correct

    return train_step


# the public name (benchmarks time it)
train_step_fn = _train_step_fn


class CachedTeacherTargets:
    """Per-batch teacher distributions from the teacher cache (the fast-distillation path).

    Opens and validates the cache of ``scenario.teacher`` against the dataset; the teacher model is
    never loaded. Calling it with training-set positions (and the epoch, counted from 1 across stages) returns
    ``{"teacher_probs": [batch, C]}``: a top-k cache's rebuilt distribution (paper A's Eq. 6), temperature-scaled
    with ``training.kd_temperature``; a sampled cache's empirical distribution of the epoch's draw.
    """

    def __init__(self, scenario: Scenario, dataset: Dataset):
        path = scenario.teacher.resolved_cache_path(dataset.name)
        self.cache = TeacherCache(path, dataset_fingerprint=dataset.fingerprint, teacher_name=scenario.teacher.name)
        if self.cache.num_samples != dataset.x_train.shape[0] or self.cache.num_classes != dataset.num_classes:
            raise CacheError(f"teacher cache {path} holds {self.cache.num_samples} samples of "
                             f"{self.cache.num_classes} classes, the training set {dataset.x_train.shape[0]} of "
                             f"{dataset.num_classes}; rebuild it")
        cfg = scenario.teacher
        if self.cache.kind != cfg.cache_kind:
            raise CacheError(f"teacher cache {path} is a {self.cache.kind} cache, but teacher.cache_kind is "
                             f"{cfg.cache_kind!r}; rebuild it")
        if self.cache.kind == "top-k" and self.cache.top_k != cfg.top_k:
            raise CacheError(f"teacher cache {path} keeps top-{self.cache.top_k}, but teacher.top_k is "
                             f"{cfg.top_k}; rebuild it")
        if self.cache.kind == "sampled":
            wanted = {"entries": ("teacher.sampled_entries", cfg.sampled_entries),
                      "draws": ("teacher.sample_draws", cfg.sample_draws),
                      "seed": ("teacher.sample_seed", cfg.sample_seed),
                      "temperature": ("training.kd_temperature", float(scenario.training.kd_temperature))}
            for key, (field_name, value) in wanted.items():
                if self.cache.sampling[key] != value:
                    raise CacheError(f"teacher cache {path} was drawn with {key} {self.cache.sampling[key]:g}, but "
                                     f"{field_name} is {value:g}; rebuild it")
        self.temperature = scenario.training.kd_temperature
        self.with_features = scenario.training.feature_kd_weight > 0
        if self.with_features and self.cache.features is None:
            raise CacheError(f"teacher cache {path} has no teacher features, which training.feature_kd_weight > 0 "
                             "needs: rebuild it with --set teacher.store_features=true")
        if self.with_features:
            wanted = scenario.teacher.feature_dim
            found = self.cache.feature_projection.components.shape[1] if self.cache.feature_projection else None
            if wanted != found:
                raise CacheError(f"teacher cache {path} stores the teacher's features "
                                 f"{f'projected to {found} principal components' if found else 'unprojected'}, but "
                                 f"teacher.feature_dim is {wanted}; rebuild it")

    @property
    def feature_dim(self) -> int | None:
        return int(self.cache.features.shape[-1]) if self.with_features else None

    def __call__(self, rows: np.ndarray, epoch: int = 1) -> dict:
        # view 0 is the un-augmented image: training does not augment, so no view is ever mismatched
        targets = {"teacher_probs": self.cache.targets(rows, view=0, temperature=self.temperature, epoch=epoch)}
        if self.with_features:
            targets["teacher_features"] = self.cache.features[rows, 0].astype(np.float32)
        return targets


def _batch_norm_layers(layer: keras.layers.Layer) -> list[keras.layers.BatchNormalization]:
    return [sub for sub in layer._flatten_layers(include_self=True, recursive=True)
            if isinstance(sub, keras.layers.BatchNormalization)]


def recompute_batch_norm_statistics(model: SemanticLink, inputs: np.ndarray, rows: np.ndarray, batch_size: int,
                                    seed: int, jit_compile: bool = True) -> int:
    """Sets every batch-normalisation layer's moving mean and variance to the average of its batch
    statistics over the training samples ``rows``, computed with the current weights ("precise BN").

    Keras' moving averages (momentum 0.99) mix statistics of weights from the last few hundred steps
    with their initial values (mean 0, variance 1): after a short training they do not match the
    weights, and the model evaluates near chance although it trains well. The batches visit ``rows``
    in a seeded random order, ``batch_size`` samples each (the batch statistics that training
    normalised with), all full batches. Only the encoder holds normalisation layers, so the channel is
    not needed: the encoder runs alone in training mode. A frozen (non-trainable) encoder keeps its
    statistics. Nothing random is drawn from TensorFlow's or Keras' generators.

    :param inputs: the model's training inputs (``dataset.x_train``); ``rows``: positions in it.
    :return: the number of layers whose statistics were recomputed.
    """
    if len(_batch_norm_layers(model)) != len(_batch_norm_layers(model.encoder)):
        raise NotImplementedError("batch normalisation outside the encoder would see the channel: recompute its "
                                  "statistics through the link or use training.batch_norm_statistics='moving-average'")
    return precise_batch_norm(model.encoder, inputs, rows, batch_size, seed, jit_compile)


def precise_batch_norm(encoder: keras.layers.Layer, inputs: np.ndarray, rows: np.ndarray, batch_size: int,
                       seed: int, jit_compile: bool = True) -> int:
    """What :func:`recompute_batch_norm_statistics` does, for any layer called as ``encoder(x, training=True)``
    (e.g. a derived network of the architecture search): its trainable batch-normalisation layers get
    the average of their batch statistics over ``rows``. Returns the number of layers recomputed."""
    layers = [layer for layer in _batch_norm_layers(encoder) if layer.trainable]
    num_batches = rows.size // batch_size
    if not layers or num_batches == 0:
        return 0
    order = rows[seeded_rng(seed, _BATCH_NORM_STREAM).permutation(rows.size)]
    momenta = [layer.momentum for layer in layers]
    sums = [[np.zeros(layer.moving_mean.shape, np.float64), np.zeros(layer.moving_variance.shape, np.float64)]
            for layer in layers]
    try:
        for layer in layers:  # with momentum 0 a training-mode call leaves the batch's own statistics behind
            layer.momentum = 0.0
        forward = tf.function(lambda x: encoder(x, training=True), jit_compile=jit_compile)
        for i in range(num_batches):
            forward(tf.constant(inputs[order[i * batch_size:(i + 1) * batch_size]]))
            for layer, (mean, variance) in zip(layers, sums):
                mean += np.asarray(layer.moving_mean.numpy(), np.float64)
                variance += np.asarray(layer.moving_variance.numpy(), np.float64)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    for layer, (mean, variance) in zip(layers, sums):
        layer.moving_mean.assign((mean / num_batches).astype(np.float32))
        layer.moving_variance.assign((variance / num_batches).astype(np.float32))
    return len(layers)


def set_trainable_parts(model: SemanticLink, parts: tuple[str, ...]) -> None:
    """Makes the named parts of ``model`` trainable and freezes the others (``("all",)``: every part)."""
    for name, layer in model.parts().items():
        layer.trainable = "all" in parts or name in parts


EpochCallback = Callable[[SemanticLink, int], dict]


class TrainingCurves:
    """TensorBoard event files of one training: ``{logdir}/{stage}/`` per stage, one point per epoch of every
    loss term, ``train_accuracy``, the held-out monitor's ``val_accuracy`` (when there is one), the learning
    rate at the epoch's end and, for variable-length schemes, the mean ``channel_uses`` per sample. The step is
    the epoch number (counted across stages, as the history)."""

    def __init__(self, logdir: str | Path):
        self.logdir = Path(logdir)
        self._writers: dict[str, Any] = {}

    def write(self, stage: str, record: dict, learning_rate: float) -> None:
        if stage not in self._writers:
            self._writers[stage] = tf.summary.create_file_writer(str(self.logdir / stage))
        writer = self._writers[stage]
        with writer.as_default():
            for name, value in record.items():
                if name not in ("epoch", "stage", "seconds"):
                    tf.summary.scalar(name, float(value), step=record["epoch"])
            tf.summary.scalar("learning_rate", learning_rate, step=record["epoch"])
        writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _finite_or_stop(loss: float, scheme: str, stage: str, epoch: int, step: int, state_path: Path | None) -> None:
    if not np.isfinite(loss):
        kept = (f"; the last good state is kept in {state_path}" if state_path is not None and state_path.is_file()
                else "")
        raise TrainingDiverged(f"[{scheme}] the loss is {loss} in stage {stage!r}, epoch {epoch}, step {step}: "
                               f"training stopped{kept}")


def train_model(trained: Scenario, scheme: str, dataset: Dataset, *, show_progress: bool = True,
                log: Callable[[str], None] = print, on_epoch_end: EpochCallback | None = None,
                state_path: str | Path | None = None, fingerprint: str = "",
                curves: TrainingCurves | None = None) -> tuple[SemanticLink, list[dict]]:
    """Trains ``scheme`` on ``dataset`` through the channel; ``trained`` is the scenario as the scheme trains
    it (its patch applied: :meth:`semcom_sim.experiment.Experiment` resolves every scheme once).

    Training runs the stages of ``training.stages`` in order (one joint stage by default): each stage
    updates only its ``trainable`` parts, with its loss terms, its own Adam optimiser and a cosine
    learning-rate decay from its learning rate to 5% of it over the stage. Each epoch visits the
    training set in a new random order (batches of ``training.batch_size``; a last partial batch is
    dropped so the compiled step keeps one shape); every frame of a batch draws its own Eb/N0
    uniformly from the stage's ``ebno_db_range``. With ``training.batch_norm_statistics = "recompute"``
    the normalisation statistics are recomputed for the trained weights
    (:func:`recompute_batch_norm_statistics`) before each epoch-end callback and at the end of each stage.
    A NaN or infinite loss stops the training (:class:`~semcom_sim.training_state.TrainingDiverged`).

    ``on_epoch_end(model, epoch)`` (optional) runs after each epoch, outside the timed part; the dict
    it returns (e.g. a validation accuracy) joins that epoch's history record.

    With ``state_path``, the training state (:class:`~semcom_sim.training_state.TrainingState`, checked against
    ``scheme`` and ``fingerprint``) is saved there at every epoch's end and every ``training.state_every_steps``
    steps; if the file exists, the training resumes from it and ends with the weights an uninterrupted
    training gives. ``curves`` (optional) receives every epoch's record.

    :return: the trained model (every part trainable again) and one history dict per epoch, numbered
        across stages (stage name, loss parts, train accuracy, seconds: the epoch's training time, the
        teacher's time included for online KD).
    """
    resolved = trained
    cfg = resolved.training
    rows = training_rows(resolved, dataset)
    if rows.size < cfg.batch_size:
        raise ScenarioError(f"training.batch_size: {cfg.batch_size} exceeds the {rows.size} training samples")
    state_path = Path(state_path) if state_path is not None else None
    resume = TrainingState.load(state_path, scheme, fingerprint) if state_path and state_path.is_file() else None
    if cfg.distillation == "cached":
        extras_for = CachedTeacherTargets(resolved, dataset)
    elif cfg.distillation == "online":
        from semcom_sim.teacher.stage import OnlineTeacherTargets  # the only training path that runs torch

        extras_for = OnlineTeacherTargets(resolved, dataset)
    else:
        extras_for = lambda idx, epoch: {}  # noqa: E731
    seed_everything(cfg.seed)
    model = build_model_for(resolved, dataset, getattr(extras_for, "feature_dim", None))
    num_steps = rows.size // cfg.batch_size
    rng = np.random.default_rng(cfg.seed)
    stages = cfg.resolved_stages()
    total_epochs = sum(stage.epochs for stage in stages)
    history: list[dict] = []
    saved: list[str] = []  # where the last saved state is
    if resume is not None:
        resume.restore_model(model, state_path)
        rng.bit_generator.state = resume.data_rng
        restore_generator_state(resume.generators)
        history = list(resume.history)
        if resume.step == 0 and resume.stage_epoch == stages[resume.stage].epochs:  # saved at a stage's end
            resume.stage, resume.stage_epoch = resume.stage + 1, 0
        log(f"[{scheme}] resuming from {state_path} at {resume.where()}")
        saved.append(resume.where())

    def save_state(stage_index, stage_epoch, step, totals, correct, seconds, order, optimizer):
        if state_path is None:
            return
        weights, moments = TrainingState.variables_of(model, optimizer)
        state = TrainingState(scheme, fingerprint, stage_index, stage_epoch, step, history, totals, correct, seconds,
                              order if step else np.zeros(0, np.int64), rng.bit_generator.state, generator_state(),
                              weights, moments)
        state.save(state_path)
        saved[:] = [state.where()]

    try:
        for stage_index, stage in enumerate(stages):
            if resume is not None and stage_index < resume.stage:
                continue
            label = scheme if len(stages) == 1 else f"{scheme}/{stage.name}"
            set_trainable_parts(model, stage.trainable)
            schedule = keras.optimizers.schedules.CosineDecay(stage.learning_rate, decay_steps=stage.epochs * num_steps,
                                                              alpha=0.05)
            optimizer = keras.optimizers.Adam(schedule)
            optimizer.build(model.trainable_variables)
            first_epoch = 0
            if resume is not None and stage_index == resume.stage:
                resume.restore_optimizer(optimizer, state_path)
                first_epoch = resume.stage_epoch
            step = _train_step_fn(model, optimizer, make_loss(cfg, stage.loss_terms), stage.ebno_db_range,
                                  cfg.jit_compile, stage.channel)
            for stage_epoch in range(first_epoch, stage.epochs):
                epoch = len(history) + 1
                first_step, totals, correct, elapsed = 0, {}, 0.0, 0.0
                if resume is not None and resume.step and stage_index == resume.stage and stage_epoch == first_epoch:
                    order, first_step = resume.order, resume.step
                    totals, correct, elapsed = dict(resume.totals), resume.correct, resume.seconds
                else:
                    order = rows[rng.permutation(rows.size)]
                start = time.perf_counter()
                bar = tqdm(range(first_step, num_steps), desc=f"{label} epoch {epoch}/{total_epochs}", leave=False,
                           disable=not show_progress, file=sys.stderr, mininterval=1.0, initial=first_step,
                           total=num_steps)
                for i in bar:
                    idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
                    extras = {name: tf.constant(value) for name, value in extras_for(idx, epoch).items()}
                    loss, parts, batch_correct = step(tf.constant(dataset.x_train[idx]),
                                                      tf.constant(dataset.y_train[idx]), extras)
                    loss_value = float(loss)
                    _finite_or_stop(loss_value, scheme, stage.name, epoch, i + 1, state_path)
                    totals["loss"] = totals.get("loss", 0.0) + loss_value
                    for name, value in parts.items():
                        totals[name] = totals.get(name, 0.0) + float(value)
                    correct += float(batch_correct)
                    if show_progress and i % 20 == 0:
                        bar.set_postfix(loss=f"{totals['loss'] / (i + 1):.3f}")
                    if cfg.state_every_steps and (i + 1) % cfg.state_every_steps == 0 and i + 1 < num_steps:
                        save_state(stage_index, stage_epoch, i + 1, totals, correct,
                                   elapsed + time.perf_counter() - start, order, optimizer)
                record = {"epoch": epoch, "stage": stage.name, **{k: v / num_steps for k, v in totals.items()},
                          "train_accuracy": correct / (num_steps * cfg.batch_size),
                          "seconds": elapsed + time.perf_counter() - start}
                if on_epoch_end is not None or stage_epoch + 1 == stage.epochs:
                    if cfg.batch_norm_statistics == "recompute":
                        recompute_batch_norm_statistics(model, dataset.x_train, rows, cfg.batch_size, cfg.seed,
                                                        cfg.jit_compile)
                if on_epoch_end is not None:
                    record.update(on_epoch_end(model, epoch))
                history.append(record)
                if curves is not None:
                    curves.write(stage.name, record, float(optimizer.learning_rate))
                save_state(stage_index, stage_epoch + 1, 0, {}, 0.0, 0.0, order, optimizer)
                parts_text = "  ".join(f"{k} {v:.4g}" for k, v in record.items()
                                       if k not in ("epoch", "stage", "seconds"))
                log(f"[{label}] epoch {epoch}/{total_epochs}  {parts_text}  ({record['seconds']:.1f} s)")
    except KeyboardInterrupt:
        if state_path is not None:
            where = saved[0] if saved else "the start (no state saved yet)"
            log(f"[{scheme}] interrupted; the same command resumes this training from {where} ({state_path})")
        raise
    set_trainable_parts(model, ("all",))
    if model.nested:
        fit_policy(model, resolved, dataset, log=log)
    return model, history


def save_checkpoint(model: SemanticLink, checkpoint: Checkpoint, resolved: Scenario, dataset: Dataset,
                    history: list[dict]) -> None:
    """Writes the weights and their metadata (the resolved scenario, its stages, the history) atomically."""
    with atomic_path(checkpoint.weights_path) as tmp:
        model.save_weights(str(tmp))
    meta = {"scheme": checkpoint.scheme, "fingerprint": checkpoint.fingerprint,
            "dataset_fingerprint": dataset.fingerprint, "num_classes": dataset.num_classes,
            "input_shape": list(dataset.x_train.shape[1:]), "modality": dataset.modality,
            "teacher_feature_dim": model.teacher_feature_dim,
            "scenario": resolved.to_dict(), "history": history,
            "stages": [dataclasses.asdict(stage) for stage in resolved.training.resolved_stages()],
            "length_policy": getattr(model, "length_policy_fit", None),
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                         "sionna": importlib.metadata.version("sionna-no-rt")}}
    atomic_write_text(checkpoint.meta_path, json.dumps(meta, indent=2))


def load_or_train(trained: Scenario, scheme: str, dataset: Dataset, out_dir: str | Path, *,
                  retrain: bool = False, show_progress: bool = True, log: Callable[[str], None] = print,
                  on_epoch_end: EpochCallback | None = None) -> tuple[SemanticLink, Checkpoint]:
    """Loads the matching checkpoint of ``scheme`` (trained as ``trained``) from ``out_dir``, or trains and
    saves one. A training in progress keeps its state beside the checkpoint (``.state.npz``) and resumes from
    it when run again (with ``retrain`` too: the state is of a training that has not finished); the state is
    removed once the checkpoint is written. The training curves go to ``out_dir/tensorboard/{checkpoint
    name}/{stage}``; a training that starts from scratch first removes the curves an earlier, unfinished
    one left there."""
    checkpoint = Checkpoint.of(out_dir, scheme, trained, dataset)
    if checkpoint.exists() and not retrain:
        log(f"[{scheme}] reusing checkpoint {checkpoint.weights_path}")
        return load_model(checkpoint, trained, dataset), checkpoint
    state_path = state_path_of(checkpoint.weights_path)
    curves = TrainingCurves(Path(out_dir) / TENSORBOARD_DIR / checkpoint.weights_path.name.removesuffix(".weights.h5"))
    if not state_path.is_file():
        shutil.rmtree(curves.logdir, ignore_errors=True)  # curves of a training that starts again from scratch
    try:
        model, history = train_model(trained, scheme, dataset, show_progress=show_progress, log=log,
                                     on_epoch_end=on_epoch_end, state_path=state_path,
                                     fingerprint=checkpoint.fingerprint, curves=curves)
    finally:
        curves.close()
    save_checkpoint(model, checkpoint, trained, dataset, history)
    state_path.unlink(missing_ok=True)
    log(f"[{scheme}] saved checkpoint {checkpoint.weights_path}")
    return model, checkpoint


@dataclass(frozen=True, eq=False)
class TrainJob:
    """The training of one scheme under one scenario as a picklable job: calling it trains the scheme
    (unless its checkpoint exists and ``retrain`` is false) and saves the checkpoint under ``out_dir``,
    which the driver and every worker must share; returns the checkpoint's weights path.

    :param scenario: the scenario as the scheme trains it (its patch applied).
    :param dataset: what it trains on; a distributed executor ships it once through its object store.
    :param validator: the per-epoch validation (:class:`semcom_sim.evaluate.EpochValidator`), or none.
    """

    scenario: Scenario
    scheme: str
    dataset: Dataset
    out_dir: str
    retrain: bool = False
    validator: Any = None

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.of(self.out_dir, self.scheme, self.scenario, self.dataset)

    def __call__(self, log: Callable[[str], None] = print) -> str:
        on_epoch_end = self.validator.bind(self.dataset, log) if self.validator is not None else None
        _, checkpoint = load_or_train(self.scenario, self.scheme, self.dataset, self.out_dir, retrain=self.retrain,
                                      show_progress=False, log=log, on_epoch_end=on_epoch_end)
        return str(checkpoint.weights_path)
