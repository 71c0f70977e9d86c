"""Monte Carlo evaluation of a trained model (TensorFlow-specific, like ``train.py``): the sweep's batches,
per-sample outcomes for paired studies, and the fit of the length policy of nested lengths."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from semcom_sim.phy.snr import quantize_snr_db
from semcom_sim.system import SemanticLink, build_model_for, seed_everything


class AccuracyEvaluator:
    """Yields ``(num_correct, num_samples, channel_uses)`` per batch over a test set with fresh channel
    and noise (``channel_uses``: the complex channel uses the batch's samples sent, summed).

    The test set is visited in a random order and then again in a new order, for as long as the
    sweep asks; every batch draws new channels and noise. ``make_batches(ebno_db, seed)`` reseeds all
    generators from ``seed``, so a point's result does not depend on the points before it, and two
    calls with the same seed see the same samples, channels and noise: :meth:`outcomes` uses this
    to compare what a model does with and without a change of what the transmitter is told (paired).

    :param model: a built :class:`SemanticLink`.
    :param x: test inputs [num, ...] (images [num, H, W, C] float32, token ids, features); ``y``: labels [num] int32.
    :param batch_size: samples per Monte Carlo batch (fixed, so the function compiles once).
    :param jit_compile: XLA-compile the forward pass.
    """

    def __init__(self, model: SemanticLink, x: np.ndarray, y: np.ndarray, batch_size: int,
                 jit_compile: bool = True):
        self.model, self.x, self.y = model, x, y
        self.batch_size = int(batch_size)
        self.jit_compile = jit_compile

        @tf.function(jit_compile=jit_compile)
        def correct(images, labels, ebno_db):
            outputs = model((images, ebno_db), training=False)
            hits = tf.argmax(outputs["logits"], -1, output_type=tf.int32) == labels
            return tf.reduce_sum(tf.cast(hits, tf.int32)), tf.reduce_sum(outputs["channel_uses"])

        self._correct = correct
        self._per_sample = {}

    def _batches(self, seed: int) -> Iterator[np.ndarray]:
        """Indices of the samples of each batch: the test set in random orders (reseeds everything)."""
        seed_everything(seed)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.y))
        position = 0
        while True:
            if position + self.batch_size > len(order):
                order = order[position:]
                while len(order) < self.batch_size:  # a batch larger than the test set repeats it
                    order = np.concatenate([order, rng.permutation(len(self.y))])
                position = 0
            yield order[position:position + self.batch_size]
            position += self.batch_size

    def make_batches(self, ebno_db: float, seed: int) -> Iterator[tuple[int, int, float]]:
        ebno = tf.constant(float(ebno_db), tf.float32)
        for idx in self._batches(seed):
            k, uses = self._correct(tf.constant(self.x[idx]), tf.constant(self.y[idx]), ebno)
            yield int(k), len(idx), float(uses)

    def accuracy(self, ebno_db: float, num_samples: int, seed: int) -> float:
        """Accuracy over at least ``num_samples`` samples at one Eb/N0 (whole batches)."""
        correct = total = 0
        batches = self.make_batches(ebno_db, seed)
        while total < num_samples:
            k, n, _ = next(batches)
            correct, total = correct + k, total + n
        batches.close()
        return correct / total

    def _per_sample_fn(self, fed: bool, shuffle: bool, length: bool):
        key = (fed, shuffle, length)
        if key not in self._per_sample:
            model = self.model

            @tf.function(jit_compile=self.jit_compile)
            def run(images, labels, ebno_db, fed_snr_db, permutation, forced_length):
                outputs = model((images, ebno_db), training=False, fed_snr_db=fed_snr_db if fed else None,
                                snr_permutation=permutation if shuffle else None,
                                length=forced_length if length else None)
                hits = tf.argmax(outputs["logits"], -1, output_type=tf.int32) == labels
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=outputs["logits"])
                return hits, outputs["channel_uses"], outputs["snr_tx_db"], ce

            self._per_sample[key] = run
        return self._per_sample[key]

    def outcomes(self, ebno_db: float, num_samples: int, seed: int, *, fed_snr_db: float | None = None,
                 shuffle: bool = False, length: float | None = None) -> dict[str, np.ndarray]:
        """Per-sample outcomes of at least ``num_samples`` samples (whole batches) at one Eb/N0.

        The same ``seed`` gives the same samples, channel and noise draws whatever the keyword
        arguments, so outcomes of two calls are paired sample by sample.

        :param fed_snr_db: tell the transmitter this SNR (dB) instead of what it learned by sounding.
        :param shuffle: permute the learned SNRs across each batch (a permutation drawn from ``seed``
            apart from every other draw).
        :param length: nested lengths: every sample sends this many channel uses.
        :returns: ``correct`` [N] bool, ``channel_uses`` [N] float32, ``snr_tx_db`` [N] float32 (what the
            transmitter used), ``cross_entropy`` [N] float32 (nats, of the label), ``index`` [N] int64 (the
            sample's position in ``x``).
        """
        run = self._per_sample_fn(fed_snr_db is not None, shuffle, length is not None)
        permutations = np.random.default_rng([seed, 7]).permuted(
            np.tile(np.arange(self.batch_size, dtype=np.int32), (max(1, -(-num_samples // self.batch_size)), 1)),
            axis=1)
        ebno = tf.constant(float(ebno_db), tf.float32)
        fed = tf.constant(0.0 if fed_snr_db is None else float(fed_snr_db), tf.float32)
        forced = tf.constant(0.0 if length is None else float(length), tf.float32)
        names = ("correct", "channel_uses", "snr_tx_db", "cross_entropy")
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names + ("index",)}
        total = 0
        for i, idx in enumerate(self._batches(seed)):
            if total >= num_samples:
                break
            values = run(tf.constant(self.x[idx]), tf.constant(self.y[idx]), ebno, fed,
                         tf.constant(permutations[i]), forced)
            for name, value in zip(names, values):
                parts[name].append(value.numpy())
            parts["index"].append(np.asarray(idx, dtype=np.int64))
            total += len(idx)
        return {name: np.concatenate(values) for name, values in parts.items()}


def load_resolved(checkpoint, resolved, dataset) -> SemanticLink:
    """Builds the model of an already resolved scenario (e.g. a test-time study variant of the scheme that
    made ``checkpoint``, a :class:`semcom_sim.train.Checkpoint`) and loads the checkpoint's weights into it."""
    meta = json.loads(checkpoint.meta_path.read_text())
    model = build_model_for(resolved, dataset, meta.get("teacher_feature_dim"))
    model.load_weights(str(checkpoint.weights_path))
    return model


# -- a sweep's batches as a picklable job -----------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BatchSource:
    """``make_batches(ebno_db, seed)`` of one trained model under one test scenario, as a picklable recipe:
    a worker process rebuilds the model from ``checkpoint`` (a path it shares with the driver) and
    ``scenario`` (the resolved test scenario), and evaluates the test split of ``dataset``.

    In the driver, ``evaluator`` holds the :class:`AccuracyEvaluator` already built (it is not pickled);
    a worker builds its own once and keeps the last one it built, so the points of one sweep that land
    on the same worker load the model once. Calls give exactly what ``AccuracyEvaluator.make_batches``
    gives.

    :param checkpoint: the :class:`semcom_sim.train.Checkpoint` whose weights are evaluated.
    :param scenario: the resolved test scenario (scheme patch, test patch and study variant applied).
    :param dataset: the dataset whose test split is evaluated; a distributed executor ships it once
        through its object store and sets it here.
    :param batch_size: samples per Monte Carlo batch. ``jit_compile``: XLA-compile the forward pass.
    """

    checkpoint: Any
    scenario: Any
    dataset: Any
    batch_size: int
    jit_compile: bool = True
    evaluator: AccuracyEvaluator | None = dataclasses.field(default=None, repr=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "evaluator": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def key(self) -> tuple:
        """What identifies the model and batches (``dataset`` by its fingerprint)."""
        return (str(self.checkpoint.weights_path), self.scenario.to_json(),
                getattr(self.dataset, "fingerprint", None), int(self.batch_size), bool(self.jit_compile))

    def build(self) -> AccuracyEvaluator:
        """The evaluator: the driver's, else the one this process built last for the same key."""
        if self.evaluator is not None:
            return self.evaluator
        key = self.key
        if _WORKER_EVALUATOR.get("key") != key:
            _WORKER_EVALUATOR.clear()
            model = load_resolved(self.checkpoint, self.scenario, self.dataset)
            _WORKER_EVALUATOR.update(key=key, evaluator=AccuracyEvaluator(
                model, self.dataset.x_test, self.dataset.y_test, self.batch_size, jit_compile=self.jit_compile))
        return _WORKER_EVALUATOR["evaluator"]

    def __call__(self, ebno_db: float, seed: int) -> Iterator[tuple[int, int, float]]:
        return self.build().make_batches(ebno_db, seed)


_WORKER_EVALUATOR: dict = {}  # the evaluator a worker process built last (one model in memory at a time)


def epoch_validator(scenario, scheme: str, dataset, log=print):
    """``on_epoch_end`` for ``compare``'s distillation axis: accuracy on ``compare.validation_samples``
    test samples at ``compare.target_ebno_db`` through ``scenario``'s channel (one evaluator per model)."""
    cfg = scenario.compare
    num = min(cfg.validation_samples, dataset.num_test)
    batch = min(scenario.sweep.batch_size, num)
    evaluators = {}

    def on_epoch_end(model, epoch: int) -> dict:
        if id(model) not in evaluators:
            evaluators[id(model)] = AccuracyEvaluator(model, dataset.x_test[:num], dataset.y_test[:num], batch,
                                                      jit_compile=scenario.training.jit_compile)
        acc = evaluators[id(model)].accuracy(cfg.target_ebno_db, num, seed=10_000 + epoch)
        log(f"[{scheme}] validation accuracy {acc:.4f} at {cfg.target_ebno_db:g} dB")
        return {"val_accuracy": acc}

    return on_epoch_end


# -- the length policy of nested lengths -------------------------------------------------------------

def grid_feedback_levels_db(model: SemanticLink) -> np.ndarray:
    """[K] float64: for each point of the model's length-policy grid, the feedback level (dB) its quantiser
    (``phy.snr_feedback_bits`` over ``phy.snr_feedback_range_db``) reports for it: the bin it lies in."""
    phy = model.phy_cfg
    levels = tf.constant(model.length_policy.levels, tf.float32)
    return np.asarray(quantize_snr_db(levels, phy.snr_feedback_bits, phy.snr_feedback_range_db), dtype=np.float64)


def policy_table(accuracy: np.ndarray, counts: np.ndarray, lengths: Sequence[int], levels: np.ndarray,
                 quantised: np.ndarray, tolerance: float, min_samples_per_level: int) -> tuple[np.ndarray, np.ndarray]:
    """``(raw, policy)`` [K] each of :func:`fit_length_policy` from the held-out accuracy ``accuracy``
    [K, len(lengths)] of the samples at each grid level (``counts`` [K] of them), the grid ``levels``
    [K] in dB and ``quantised`` [K], each grid point's feedback level in dB (its bin)."""
    enough = counts >= min_samples_per_level
    raw = np.full(len(levels), lengths[-1], dtype=np.int64)
    for k in np.flatnonzero(enough):
        ok = accuracy[k] >= accuracy[k, -1] - tolerance
        raw[k] = lengths[int(np.argmax(ok))]
    raw = fill_unfitted_levels(raw, enough, levels, quantised)
    return raw, np.maximum.accumulate(raw[::-1])[::-1]


def fill_unfitted_levels(table: np.ndarray, fitted: np.ndarray, levels: np.ndarray,
                         quantised: np.ndarray) -> np.ndarray:
    """``table`` [K] with every grid point that was not fitted (``fitted`` [K] false) set to the value of the
    level whose feedback bin holds it (``quantised`` [K]: each grid point's feedback level in dB), or if that
    one was not fitted either, of the nearest fitted grid point; unchanged if none was fitted."""
    table = np.array(table)
    if fitted.any():
        populated = np.flatnonzero(fitted)
        level_of_bin = np.argmin(np.abs(quantised[:, None] - levels[None, :]), axis=1)
        for k in np.flatnonzero(~fitted):
            source = level_of_bin[k]
            table[k] = table[source] if fitted[source] else table[populated[np.argmin(np.abs(populated - k))]]
    return table


def table_for_targets(correct: np.ndarray, level: np.ndarray, ebno_db: np.ndarray, tolerance: float,
                      uses: Sequence[float]) -> np.ndarray:
    """The length table that sends the fewest channel uses while meeting per-Eb/N0 accuracy targets: an
    alternative fit of ``L*(q)`` to :func:`policy_table`'s per-level rule, aimed straight at the issue's
    measure (the longest length's accuracy minus ``tolerance`` at every Eb/N0).

    :param correct: [N, K] bool, sample ``i`` sent with length ``j`` decided right (same draws for every ``j``).
    :param level: [N] int, the sample's feedback level, ``0 .. M-1`` in increasing SNR.
    :param ebno_db: [N], the Eb/N0 the sample was sent at (one target per distinct value).
    :param uses: [K] the channel uses of each length, increasing.
    :returns: [M] int, the index into the lengths for each level; non-increasing (a better level never sends
        more). Found greedily: from the longest length everywhere, each step shortens the one level (and
        every better level to at most its new length) that saves the most channel uses over the samples
        while the accuracy at every Eb/N0 stays at or above its target; it stops when no step does.
    """
    correct, level, ebno_db = np.asarray(correct, bool), np.asarray(level), np.asarray(ebno_db)
    cost = np.asarray(uses, dtype=np.float64)
    groups = [ebno_db == e for e in np.unique(ebno_db)]
    rows = np.arange(len(level))
    target = np.array([correct[g, -1].mean() for g in groups]) - tolerance - 1e-12

    def meets(table) -> bool:
        hit = correct[rows, table[level]]
        return all(hit[g].mean() >= t for g, t in zip(groups, target))

    table = np.full(int(level.max()) + 1, len(cost) - 1)
    while True:
        best, sent = None, cost[table[level]].sum()
        for k in np.flatnonzero(table > 0):
            trial = table.copy()
            trial[k] -= 1
            trial[k + 1:] = np.minimum(trial[k + 1:], trial[k])
            saving = sent - cost[trial[level]].sum()
            if (best is None or saving > best[0]) and meets(trial):
                best = (saving, trial)
        if best is None:
            return table
        table = best[1]


def fit_length_policy(model: SemanticLink, x: np.ndarray, y: np.ndarray, ebno_db: Sequence[float], *,
                      tolerance: float, seed: int, batch_size: int, jit_compile: bool = True,
                      min_samples_per_level: int = 200) -> dict:
    """Fits ``L*(q)`` of a model with nested lengths on held-out samples and sets it in the model.

    Every held-out sample is sent at each Eb/N0 of ``ebno_db`` with every length of ``model.lengths``;
    for one Eb/N0 all lengths see the same samples, channel and noise draws (paired). Samples are
    grouped by the feedback level ``q`` their transmitter learned (the level nearest to its fed-back
    SNR), and ``acc(q, L)`` is their accuracy. Then:

    - ``raw(q)``: the smallest ``L`` with ``acc(q, L) >= acc(q, L_max) - tolerance``; a level with
      fewer than ``min_samples_per_level`` samples (grid points between the feedback quantiser's levels
      have none) takes the value of the level whose feedback bin holds it, or if that has too few, of
      the nearest level that has enough (levels outside the Eb/N0 range are never seen);
    - ``L*(q) = max over q' >= q of raw(q')``: non-increasing in the SNR, so a higher fed-back SNR never
      sends more; where ``raw`` is already monotone the two agree.

    :returns: ``{"levels_db", "lengths", "ebno_db", "samples" [K], "accuracy" [K][len(lengths)], "raw",
        "policy", "tolerance"}`` (lists, JSON-ready); ``policy`` is set in ``model.length_policy``.
    """
    lengths = [int(v) for v in model.model_cfg.lengths]
    levels = np.asarray(model.length_policy.levels, dtype=np.float64)
    evaluator = AccuracyEvaluator(model, x, y, min(batch_size, len(y)), jit_compile)
    num = len(y)
    hits = np.zeros((len(levels), len(lengths)))
    counts = np.zeros(len(levels))
    for i, ebno in enumerate(ebno_db):
        level_of = None
        for j, length in enumerate(lengths):
            out = evaluator.outcomes(float(ebno), num, seed + i, length=float(length))
            if level_of is None:  # the same draws for every length: the same levels
                level_of = np.argmin(np.abs(out["snr_tx_db"][:, None] - levels[None, :]), axis=1)
                np.add.at(counts, level_of, 1)
            np.add.at(hits[:, j], level_of, out["correct"].astype(np.float64))
    accuracy = np.divide(hits, counts[:, None], out=np.full_like(hits, np.nan), where=counts[:, None] > 0)
    raw, policy = policy_table(accuracy, counts, lengths, levels, grid_feedback_levels_db(model), tolerance,
                               min_samples_per_level)
    model.length_policy.set_table(policy)
    return {"levels_db": [round(float(v), 6) for v in levels], "lengths": lengths,
            "ebno_db": [float(v) for v in ebno_db], "samples": counts.astype(int).tolist(),
            "accuracy": [[None if np.isnan(a) else round(float(a), 6) for a in row] for row in accuracy],
            "raw": raw.tolist(), "policy": policy.tolist(), "tolerance": float(tolerance),
            "min_samples_per_level": int(min_samples_per_level)}
