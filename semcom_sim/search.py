"""KDL-DARTS: a first-order DARTS search whose architecture loss is the distillation loss against the
cached teacher plus ``lambda`` times the expected parameter count of the mixed operations
(``semcom-sim search SCENARIO.py``; the ``search`` section of a scenario; ``docs/rkd_sc.md``).

For each ``lambda`` of ``search.lambdas``: weight steps (SGD) on one split of the training set and
architecture steps (Adam on the logits ``alpha``) on a disjoint split, alternating per batch; then the
genotype (per node the two strongest incoming edges, each with its strongest operation other than
``none``) is written as ``genotype-lambda<lambda>.json`` with the search's provenance. Each derived
network, and the hand-designed encoder of ``model.encoder_filters`` as the reference, is trained from
scratch with the same loss on both splits and its accuracy measured without a channel on
``search.selection_samples`` held-out training rows (disjoint from both splits; the selection reads
these) and on the test split (reported, never used to choose): ``pareto.csv`` and ``pareto.png``
(backbone parameters against accuracy). ``genotype.json`` is the genotype with the fewest parameters
whose held-out accuracy is within ``search.tolerance`` of the best, and ``genotype.png`` draws its cells.
TensorFlow-specific (the training steps), like ``train.py``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from semcom_sim.cost import device_name
from semcom_sim.data import Dataset, load_dataset
from semcom_sim.genotype import backbone_config, load_genotype
from semcom_sim.io import atomic_write_text
from semcom_sim.losses import TermsLoss
from semcom_sim.report.figures import plot_genotype, plot_pareto, save_figure
from semcom_sim.results import git_commit
from semcom_sim.scenario import Scenario, ScenarioError
from semcom_sim.semantic.darts import Network, SearchedBackbone, num_edges, use_window_views
from semcom_sim.semantic.encoder import ConvBackbone
from semcom_sim.sweep import Executor, InProcessExecutor, wilson_interval
from semcom_sim.train import CachedTeacherTargets, precise_batch_norm
from semcom_sim.training_state import EpochState

__all__ = ["backbone_config", "choose_genotype", "derive_genotype", "expected_parameters", "finished_search",
           "load_genotype", "run_search", "search_identity", "SearchJob", "SearchTargets", "retrain", "search_split"]

PARETO_CSV = "pareto.csv"
PARETO_COLUMNS = ("kind", "lambda", "parameters", "expected_parameters", "selection_accuracy", "accuracy", "ci_low",
                  "ci_high", "search_seconds", "retrain_seconds", "genotype")
"""``selection_accuracy``: on the held-out training rows the choice reads; ``accuracy`` and its Wilson interval: on
the test split."""
GENOTYPE_JSON = "genotype.json"
SEARCH_JSON = "search.json"
PARTS_DIR = "parts"
"""While a search runs: each finished part's result (``reference.json``, ``lambda<lambda>.json``) and the states of
its unfinished loops (``*.state.npz``), so that a killed search goes on where it was; removed when it ends."""


def search_identity(scenario: Scenario, dataset: Dataset) -> dict:
    """What a search's genotypes depend on, as JSON: the ``search`` section but ``genotype``, the dataset (its
    fingerprint), the teacher (the fingerprint of its section, which names the cache) and the distillation
    temperature. ``search.json`` records it; a finished search is reused only for an equal identity."""
    config = {k: v for k, v in dataclasses.asdict(scenario.search).items() if k != "genotype"}
    return json.loads(json.dumps({"search": config, "dataset_fingerprint": dataset.fingerprint,
                                  "teacher": scenario.fingerprint("teacher"),
                                  "kd_temperature": scenario.training.kd_temperature}))


def finished_search(out_dir: str | Path, identity: dict) -> Path | None:
    """``out_dir/genotype.json`` if ``out_dir`` holds a finished search of ``identity``; ``None`` if it holds no
    finished search. A finished search of another identity is refused in one line (never overwritten)."""
    path = Path(out_dir) / SEARCH_JSON
    if not path.exists() or not (Path(out_dir) / GENOTYPE_JSON).exists():
        return None
    try:
        found = json.loads(path.read_text()).get("identity")
    except (json.JSONDecodeError, AttributeError):
        raise ScenarioError(f"search: {path} is not a search summary; remove it or choose another directory") from None
    if found != identity:
        differ = [key for key in identity if (found or {}).get(key) != identity[key]] or ["its identity"]
        if "search" in differ and isinstance(found, dict) and isinstance(found.get("search"), dict):
            differ[differ.index("search")] = ", ".join(
                f"search.{k}" for k in identity["search"] if found["search"].get(k) != identity["search"][k])
        raise ScenarioError(f"search: {out_dir} holds a search of another configuration ({', '.join(differ)} "
                            f"differ); remove it or choose another directory")
    return Path(out_dir) / GENOTYPE_JSON


def derive_genotype(weights: np.ndarray, nodes: int, op_names: tuple[str, ...]) -> list[list]:
    """The derived cell of architecture weights [num_edges, num_ops] (rows: softmax over operations):
    for each node the two incoming edges whose strongest operation other than ``none`` is strongest,
    as ``[operation, input]`` pairs in input order."""
    weights = np.asarray(weights)
    if weights.shape != (num_edges(nodes), len(op_names)):
        raise ValueError(f"derive_genotype: weights must be [{num_edges(nodes)}, {len(op_names)}], got {weights.shape}")
    usable = [k for k, name in enumerate(op_names) if name != "none"]
    out, start = [], 0
    for i in range(nodes):
        rows = weights[start:start + 2 + i][:, usable]
        strongest = rows.max(axis=1)
        chosen = sorted(np.argsort(-strongest, kind="stable")[:2])
        out += [[op_names[usable[int(rows[j].argmax())]], int(j)] for j in chosen]
        start += 2 + i
    return out


def expected_parameters(alphas: tuple, tables: tuple) -> tf.Tensor:
    """``sum over cell types and edges of softmax(alpha_e) . params(e)``: the expected parameters of the
    mixed operations, in the units of ``tables`` ([num_edges, num_ops] per cell type, summed over the
    cells of that type)."""
    return sum(ops.sum(ops.softmax(a, axis=-1) * t) for a, t in zip(alphas, tables))


class _Targets:
    """The cached teacher's targets of training-set rows: ``teacher_probs`` and, with ``feature_kd``,
    ``teacher_features``."""

    def __init__(self, scenario: Scenario, dataset: Dataset):
        weight = 1.0 if "feature_kd" in scenario.search.loss_terms else 0.0
        patched = dataclasses.replace(scenario, training=dataclasses.replace(
            scenario.training, distillation="cached", feature_kd_weight=weight))
        self.inner = CachedTeacherTargets(patched, dataset)
        self.feature_dim = self.inner.feature_dim

    def __call__(self, rows, epoch: int = 1):
        return {k: tf.constant(v) for k, v in self.inner(rows, epoch).items()}


SearchTargets = _Targets


def _loss_fn(terms: tuple[str, ...], temperature: float):
    """The search's distillation loss ``(logits, projected, extras) -> scalar``: the ``kd`` and/or
    ``feature_kd`` terms of :class:`~semcom_sim.losses.TermsLoss`, each with weight 1."""
    terms_loss = TermsLoss(terms, temperature=temperature, feature_weight=1.0)

    def loss(logits, projected, extras):
        return terms_loss({"logits": logits, "projected_features": projected}, None, extras)[0]
    return loss


class _Student:
    """A backbone with a classifier head (and a projection to the teacher's features)."""

    def __init__(self, backbone: keras.layers.Layer, num_classes: int, feature_dim: int | None, input_shape):
        self.backbone = backbone
        self.head = keras.layers.Dense(num_classes)
        self.projection = keras.layers.Dense(feature_dim) if feature_dim else None
        self.backbone.build((None,) + tuple(input_shape))
        width = int(self.backbone.compute_output_shape((None,) + tuple(input_shape))[-1])
        self.head.build((None, width))
        if self.projection is not None:
            self.projection.build((None, width))

    @property
    def layers(self) -> list[keras.layers.Layer]:
        return [self.backbone, self.head] + ([self.projection] if self.projection is not None else [])

    @property
    def trainable_variables(self):
        return [v for layer in self.layers for v in layer.trainable_variables]

    @property
    def variables(self):
        """Every variable (batch-normalisation statistics and seed-generator states included)."""
        return [v for layer in self.layers for v in layer.variables]

    def __call__(self, images, training, alphas=None):
        features = (self.backbone(images, alphas, training=training) if alphas is not None
                    else self.backbone(images, training=training))
        features = ops.reshape(features, (ops.shape(features)[0], -1))
        projected = self.projection(features) if self.projection is not None else None
        return self.head(features), projected


def _parameters(layer: keras.layers.Layer) -> int:
    return int(sum(math.prod(w.shape) for w in layer.weights))


def _split(dataset: Dataset, cfg, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The weight steps' and the architecture steps' training rows (disjoint, sorted)."""
    return _splits(dataset, cfg, seed)[:2]


def _splits(dataset: Dataset, cfg, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weight steps' rows, the architecture steps' rows and the held-out selection rows: three disjoint
    parts of one seeded permutation of the training set (the first two do not depend on the third's size)."""
    need = cfg.train_samples + cfg.validation_samples + cfg.selection_samples
    if need > dataset.num_train:
        raise ScenarioError(f"search.train_samples + search.validation_samples + search.selection_samples = {need} "
                            f"exceed the {dataset.num_train} training samples")
    order = np.random.default_rng(seed).permutation(dataset.num_train)
    first = cfg.train_samples + cfg.validation_samples
    return (np.sort(order[:cfg.train_samples]), np.sort(order[cfg.train_samples:first]),
            np.sort(order[first:need]))


search_split = _split


def _batches(rows: np.ndarray, batch_size: int, rng: np.random.Generator):
    order = rows[rng.permutation(rows.size)]
    for i in range(rows.size // batch_size):
        yield order[i * batch_size:(i + 1) * batch_size]


def _resume(state: tuple[Path, str] | None, variables, rng: np.random.Generator, log: Callable[[str], Any],
            label: str) -> tuple[int, dict | None]:
    """``(first epoch to run, what the loop had recorded)`` from the saved state of ``state = (path, key)``, its
    variables and generator restored; ``(0, None)`` without one."""
    saved = EpochState.load(*state) if state is not None else None
    if saved is None:
        return 0, None
    saved.restore(variables, rng, state[0])
    log(f"[{label}] resuming from {state[0]} after epoch {saved.epoch}")
    return saved.epoch, saved.record


def _save(state: tuple[Path, str] | None, epoch: int, variables, rng: np.random.Generator, record: dict) -> None:
    if state is not None:
        EpochState.of(state[1], epoch, variables, rng, record).save(state[0])


def _search_one(scenario: Scenario, dataset: Dataset, targets: _Targets, rows, lam: float,
                log: Callable[[str], Any], state: tuple[Path, str] | None = None) -> dict:
    """The search at one ``lambda``. With ``state = (path, key)``, the loop's state
    (:class:`~semcom_sim.training_state.EpochState`) is saved at ``path`` at every epoch's end and a saved one
    is resumed from (the same genotype and history as without the interruption)."""
    cfg = scenario.search
    keras.utils.set_random_seed(cfg.seed)
    net = use_window_views(Network(cfg.channels, cfg.cells, cfg.nodes, cfg.ops, stem_stride=cfg.stem_stride,
                                   name="supernet"), cfg.jit_compile)
    student = _Student(net, dataset.num_classes, targets.feature_dim, dataset.x_train.shape[1:])
    k = num_edges(cfg.nodes)
    init = keras.random.normal((2, k, len(cfg.ops)), stddev=1e-3, seed=cfg.seed)
    alphas = (keras.Variable(init[0], name="alpha_normal"), keras.Variable(init[1], name="alpha_reduce"))
    tables = []
    for reduction in (False, True):  # parameters (millions) of every operation of every edge, per cell type
        cells = [c for c in net.cells if c.reduction == reduction]
        table = np.zeros((k, len(cfg.ops)))
        for cell in cells:
            table += np.array([edge.op_parameters() for edge in cell.edges], dtype=np.float64)
        tables.append(tf.constant(table / 1e6, tf.float32))
    tables = tuple(tables)
    train_rows, val_rows = rows
    steps = train_rows.size // cfg.batch_size
    schedule = keras.optimizers.schedules.CosineDecay(cfg.weight_learning_rate, cfg.epochs * steps,
                                                      alpha=min(1.0, 1e-3 / cfg.weight_learning_rate))
    w_opt = keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=3e-4)
    a_opt = keras.optimizers.Adam(cfg.arch_learning_rate, beta_1=0.5, beta_2=0.999, weight_decay=1e-3)
    weights = student.trainable_variables
    w_opt.build(weights)
    a_opt.build(list(alphas))
    loss_fn = _loss_fn(cfg.loss_terms, scenario.training.kd_temperature)

    @tf.function(jit_compile=cfg.jit_compile)
    def weight_step(images, extras):
        with tf.GradientTape() as tape:
            logits, projected = student(images, True, alphas)
            loss = loss_fn(logits, projected, extras)
        w_opt.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    @tf.function(jit_compile=cfg.jit_compile)
    def arch_step(images, extras):
        with tf.GradientTape() as tape:
            logits, projected = student(images, True, alphas)
            distil = loss_fn(logits, projected, extras)
            penalty = expected_parameters(alphas, tables)
            loss = distil + lam * penalty
        a_opt.apply_gradients(zip(tape.gradient(loss, list(alphas)), list(alphas)))
        return distil, penalty

    rng = np.random.default_rng(cfg.seed)
    start = time.perf_counter()
    history = []
    state_variables = student.variables + list(alphas) + w_opt.variables + a_opt.variables
    first_epoch, earlier = _resume(state, state_variables, rng, log, f"search lambda={lam:g}")
    if earlier is not None:
        history, start = earlier["history"], start - earlier["seconds"]
    for epoch in range(first_epoch, cfg.epochs):
        totals = np.zeros(3)
        val_iter = _batches(val_rows, cfg.batch_size, rng)
        for idx in _batches(train_rows, cfg.batch_size, rng):
            w_loss = weight_step(tf.constant(dataset.x_train[idx]), targets(idx, epoch + 1))
            v_idx = next(val_iter, None)
            if v_idx is None:
                val_iter = _batches(val_rows, cfg.batch_size, rng)
                v_idx = next(val_iter)
            distil, penalty = arch_step(tf.constant(dataset.x_train[v_idx]), targets(v_idx, epoch + 1))
            totals += (float(w_loss), float(distil), float(penalty))
        totals /= max(1, steps)
        history.append({"epoch": epoch + 1, "train_loss": totals[0], "validation_loss": totals[1],
                        "expected_parameters_m": totals[2], "seconds": time.perf_counter() - start})
        log(f"[search lambda={lam:g}] epoch {epoch + 1}/{cfg.epochs}  train {totals[0]:.4f}  validation "
            f"{totals[1]:.4f}  expected parameters {1e3 * totals[2]:.1f} k  ({time.perf_counter() - start:.0f} s)")
        _save(state, epoch + 1, state_variables, rng, {"history": history, "seconds": time.perf_counter() - start})
    seconds = time.perf_counter() - start
    softmaxes = [np.asarray(ops.convert_to_numpy(ops.softmax(a, axis=-1))) for a in alphas]
    return {"lambda": lam, "normal": derive_genotype(softmaxes[0], cfg.nodes, cfg.ops),
            "reduce": derive_genotype(softmaxes[1], cfg.nodes, cfg.ops),
            "weights": {"normal": softmaxes[0].round(5).tolist(), "reduce": softmaxes[1].round(5).tolist()},
            "expected_parameters": int(round(1e6 * float(expected_parameters(alphas, tables)))),
            "history": history, "search_seconds": seconds}


def _retrain(scenario: Scenario, dataset: Dataset, targets: _Targets, backbone: keras.layers.Layer,
             rows: np.ndarray, label: str, log: Callable[[str], Any], keep_outcomes: bool = False,
             selection: np.ndarray | None = None, state: tuple[Path, str] | None = None) -> dict:
    """Trains ``backbone`` + head from scratch with the search loss on the training ``rows``; test accuracy
    without a channel (with ``keep_outcomes`` also ``correct``, one bool per test sample, for paired
    comparisons) and, given ``selection`` (training rows disjoint from ``rows``), ``selection_accuracy``
    on them. ``state``: as for :func:`_search_one`."""
    cfg = scenario.search
    keras.utils.set_random_seed(cfg.seed)
    student = _Student(use_window_views(backbone, cfg.jit_compile), dataset.num_classes, targets.feature_dim,
                       dataset.x_train.shape[1:])
    steps = rows.size // cfg.batch_size
    opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, cfg.retrain_epochs * steps, alpha=0.05))
    weights = student.trainable_variables
    opt.build(weights)
    loss_fn = _loss_fn(cfg.loss_terms, scenario.training.kd_temperature)

    @tf.function(jit_compile=cfg.jit_compile)
    def step(images, extras):
        with tf.GradientTape() as tape:
            logits, projected = student(images, True)
            loss = loss_fn(logits, projected, extras)
        opt.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    @tf.function(jit_compile=cfg.jit_compile)
    def predict(images):
        return ops.argmax(student(images, False)[0], axis=-1)

    rng = np.random.default_rng(cfg.seed + 1)
    start = time.perf_counter()
    state_variables = student.variables + opt.variables
    first_epoch, earlier = _resume(state, state_variables, rng, log, f"search {label}")
    if earlier is not None:
        start -= earlier["seconds"]
    for epoch in range(first_epoch, cfg.retrain_epochs):
        for idx in _batches(rows, cfg.batch_size, rng):
            step(tf.constant(dataset.x_train[idx]), targets(idx, epoch + 1))
        _save(state, epoch + 1, state_variables, rng, {"seconds": time.perf_counter() - start})
    precise_batch_norm(student.backbone, dataset.x_train, rows, cfg.batch_size, cfg.seed, cfg.jit_compile)
    seconds = time.perf_counter() - start

    def hits_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(predict(tf.constant(x[begin:begin + 500]))) == y[begin:begin + 500]
                               for begin in range(0, len(y), 500)])

    out = {"parameters": _parameters(backbone)}
    text = ""
    if selection is not None and selection.size:
        out["selection_accuracy"] = float(hits_of(dataset.x_train[selection], dataset.y_train[selection]).mean())
        text = f"held-out training rows {out['selection_accuracy']:.4f}, "
    hits = hits_of(dataset.x_test, dataset.y_test)
    correct = int(hits.sum())
    low, high = wilson_interval(correct, dataset.num_test)
    accuracy = correct / dataset.num_test
    log(f"[search] {label}: {_parameters(backbone):,} backbone parameters, {text}test accuracy {accuracy:.4f} "
        f"(no channel; {seconds:.0f} s)")
    out.update({"accuracy": accuracy, "ci_low": low, "ci_high": high, "retrain_seconds": seconds})
    return {**out, "correct": hits} if keep_outcomes else out


retrain = _retrain


def choose_genotype(candidates: list[dict], tolerance: float) -> dict:
    """The candidate with the fewest ``parameters`` among those whose ``selection_accuracy`` (held-out training
    rows, never the test split) is within ``tolerance`` of the best; among equally small ones, the first."""
    if not candidates:
        raise ValueError("choose_genotype: no candidates")
    best = max(r["selection_accuracy"] for r in candidates)
    return min((r for r in candidates if r["selection_accuracy"] >= best - tolerance), key=lambda r: r["parameters"])


def _write_csv(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PARETO_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


@dataclasses.dataclass(frozen=True, eq=False)
class SearchJob:
    """One independent part of a search as a picklable job: the hand-designed reference's training
    (``lam=None``) or the search at one ``lambda`` and its derived network's training. It reads the
    teacher cache from its path (shared with the driver) and returns ``(found or None, measured)``.
    Each part seeds itself from ``search.seed``, so the parts give the same results in any process and
    any order.

    With ``state_dir`` (shared with the driver, like the cache), a part saves its loops' states there at
    every epoch's end and its result once finished (``{part}.json``); run again, it returns a finished
    result and resumes an unfinished loop, with the results of an uninterrupted run."""

    scenario: Scenario
    dataset: Dataset
    lam: float | None = None
    state_dir: str = ""

    @property
    def part(self) -> str:
        return "reference" if self.lam is None else f"lambda{self.lam:g}"

    def __call__(self, log: Callable[[str], Any] = print) -> tuple[dict | None, dict]:
        scenario, dataset, cfg = self.scenario, self.dataset, self.scenario.search
        key = json.dumps({"identity": search_identity(scenario, dataset), "part": self.part}, sort_keys=True)
        directory = Path(self.state_dir) if self.state_dir else None
        finished = directory / f"{self.part}.json" if directory else None
        if finished is not None and finished.is_file():
            record = json.loads(finished.read_text())
            if record.get("key") != key:
                raise ScenarioError(f"search: {finished} is a part of another search; remove {directory} or choose "
                                    "another directory")
            log(f"[search] reusing the finished {self.part} in {finished}")
            return record["found"], record["measured"]

        def state(loop: str) -> tuple[Path, str] | None:
            return (directory / f"{self.part}.{loop}.state.npz", f"{key}|{loop}") if directory else None

        targets = _Targets(scenario, dataset)
        *rows, selection = _splits(dataset, cfg, cfg.seed)
        both = np.sort(np.concatenate(rows))
        found = None
        if self.lam is None:
            measured = _retrain(scenario, dataset, targets, ConvBackbone(scenario.model.encoder_filters), both,
                                f"hand-designed encoder {scenario.model.encoder_filters}", log, selection=selection,
                                state=state("retrain"))
        else:
            found = _search_one(scenario, dataset, targets, tuple(rows), float(self.lam), log, state("search"))
            backbone = SearchedBackbone(_genotype(found, cfg), cfg.channels, cfg.cells, cfg.nodes, cfg.stem_stride)
            measured = _retrain(scenario, dataset, targets, backbone, both, f"lambda={self.lam:g} derived network",
                                log, selection=selection, state=state("retrain"))
        if finished is not None:
            atomic_write_text(finished, json.dumps({"key": key, "found": found, "measured": measured}))
            for loop in ("search", "retrain"):
                state(loop)[0].unlink(missing_ok=True)
        return found, measured


def _genotype(found: dict, cfg) -> dict:
    return {"normal": found["normal"], "reduce": found["reduce"], "channels": cfg.channels, "cells": cfg.cells,
            "nodes": cfg.nodes, "stem_stride": cfg.stem_stride}


def run_search(scenario: Scenario, out_dir: str | Path, log: Callable[[str], Any] = print,
               executor: Executor | None = None) -> dict:
    """Runs KDL-DARTS for every ``search.lambdas`` and writes the genotypes, ``pareto.csv``,
    ``pareto.png``, ``genotype.json`` and ``search.json`` under ``out_dir``. Returns ``search.json``'s dict.

    The reference and each ``lambda`` are :class:`SearchJob` s that ``executor`` runs (default: one after
    the other in this process; a Ray executor runs them in parallel); this process alone writes files."""
    cfg = scenario.search
    out = Path(out_dir)
    dataset = load_dataset(scenario.data)
    if dataset.x_train.ndim != 4:
        raise ScenarioError(f"search: the search space is image cells; dataset {scenario.data.dataset!r} is not images")
    _splits(dataset, cfg, cfg.seed)  # too few samples: fail before anything runs
    cache = scenario.teacher.resolved_cache_path(dataset.name)
    if not cache.exists():
        from semcom_sim.teacher.stage import build_cache  # torch: only when the cache is missing

        log(f"[teacher] no cache at {cache}: running the teacher once over the training set")
        build_cache(scenario, dataset, log=log)
    identity = search_identity(scenario, dataset)
    provenance = {"scenario": scenario.name, "commit": git_commit(), "dataset": dataset.name,
                  "dataset_fingerprint": dataset.fingerprint, "teacher": scenario.teacher.name,
                  "search": dataclasses.asdict(cfg), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "machine": device_name()}
    start = time.perf_counter()
    pareto, genotypes = [], {}
    executor = executor or InProcessExecutor(show_progress=False)
    parts = str(out / PARTS_DIR)
    jobs = [SearchJob(scenario, dataset, None, parts)] + [SearchJob(scenario, dataset, float(lam), parts)
                                                          for lam in cfg.lambdas]
    if not executor.distributed:  # in this process, the jobs log where the caller says
        jobs = [functools.partial(job, log=log) for job in jobs]
    results = executor.run(jobs)
    _, reference = next(results)
    pareto.append({"kind": "hand-designed", "lambda": "", "expected_parameters": "", "search_seconds": "",
                   "genotype": "", **reference})
    for lam, (found, derived) in zip(cfg.lambdas, results, strict=True):
        genotype = _genotype(found, cfg)
        name = f"genotype-lambda{lam:g}.json"
        record = {**genotype, "lambda": float(lam), "architecture_weights": found["weights"],
                  "expected_parameters": found["expected_parameters"], "derived": derived,
                  "history": found["history"], "search_seconds": found["search_seconds"], "provenance": provenance}
        atomic_write_text(out / name, json.dumps(record, indent=1))
        genotypes[name] = record
        pareto.append({"kind": "searched", "lambda": float(lam), "expected_parameters": found["expected_parameters"],
                       "search_seconds": found["search_seconds"], "genotype": name, **derived})
    searched = [r for r in pareto if r["kind"] == "searched"]
    chosen = choose_genotype(searched, cfg.tolerance)
    chosen_record = {**genotypes[chosen["genotype"]], "chosen_from": chosen["genotype"],
                     "selected_on": {"split": "held-out training rows", "rows": cfg.selection_samples,
                                     "seed": cfg.seed, "accuracy": chosen["selection_accuracy"],
                                     "tolerance": cfg.tolerance}}
    atomic_write_text(out / GENOTYPE_JSON, json.dumps(chosen_record, indent=1))
    _write_csv(out / PARETO_CSV, pareto)
    title = (f"{scenario.name}: KDL-DARTS, {cfg.cells} cells x {cfg.nodes} nodes, C = {cfg.channels}, "
             f"{cfg.epochs} epochs")
    save_figure(plot_pareto(pareto, title), out / "pareto.png")
    save_figure(plot_genotype(chosen_record), out / "genotype.png")
    summary = {**provenance, "identity": identity, "seconds": time.perf_counter() - start,
               "chosen": chosen["genotype"], "pareto": pareto}
    atomic_write_text(out / SEARCH_JSON, json.dumps(summary, indent=1))
    shutil.rmtree(out / PARTS_DIR, ignore_errors=True)  # the finished search's files hold all the parts held
    log(f"[search] wrote {out / GENOTYPE_JSON} (from {chosen['genotype']}), {out / PARETO_CSV}, {out / 'pareto.png'} "
        f"in {summary['seconds']:.0f} s")
    return summary
