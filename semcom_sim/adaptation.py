"""What the transmitter does with the SNR it learns: paired studies of a model with nested lengths.

Every study compares the model with itself on the **same** test samples, channel and noise draws (the
evaluator reseeds everything from one seed per true Eb/N0), so differences are paired: McNemar's exact
test and a paired interval (:func:`semcom_sim.sweep.paired_difference`), not two independent runs.

- **mismatch**: the channel is at Eb/N0 ``b`` while the transmitter is told the SNR of Eb/N0 ``a``
  (``fed_snr_db``: the nominal Es/N0 at ``a``, through the scenario's feedback quantiser); every cell is
  compared with the matched cell ``a = b`` of its column. An optimistic feed (``a > b``) sends too little;
  a pessimistic one (``a < b``) spends channel uses for nothing.
- **deployed** / **shuffle**: the SNR the transmitter really learned (sounding + feedback), and the same
  learned SNRs permuted across the batch (every sample gets another frame's SNR; the marginal
  distribution is unchanged): if the SNR carried no information the two would agree.
- **gate**: the adaptive module's weights at the fed SNR of ``b`` and the length the policy sends there:
  the effective number of real features that carry the power (participation ratio of ``(w * mu)^2``
  over the sent features).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
from keras import ops

from semcom_sim.data.splits import validation_rows
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.phy import esno_db_from_no
from semcom_sim.phy.snr import quantize_snr_db
from semcom_sim.scenario import Scenario
from semcom_sim.sweep import paired_difference, point_seed, wilson_interval
from semcom_sim.system import SemanticLink

__all__ = ["fed_snr_db", "adaptation_rows", "active_features", "fit_length_policy", "fit_policy", "policy_table",
           "fill_unfitted_levels", "table_for_targets", "grid_feedback_levels_db"]


def fed_snr_db(model: SemanticLink, ebno_db: float) -> float:
    """The SNR a transmitter learns at ``ebno_db`` without fading or estimation error: the nominal Es/N0
    of the link, through the scenario's SNR feedback quantiser."""
    esno = float(esno_db_from_no(float(np.asarray(model.link.noise_variance(np.float32(ebno_db))))))
    phy = model.phy_cfg
    return float(np.asarray(quantize_snr_db(np.float32(esno), phy.snr_feedback_bits, phy.snr_feedback_range_db)))


def active_features(model: SemanticLink, x: np.ndarray, snr_db: float, length: float) -> tuple[float, float]:
    """``(effective features, mean weight)`` of the adaptive module for inputs ``x`` told ``snr_db`` and
    sending ``length`` channel uses: the participation ratio ``(sum p)^2 / sum p^2`` of the power
    ``p = (w * mu)^2`` over the ``2 length`` sent real features, averaged over the samples."""
    mu, _ = model.encoder(x, training=False)
    batch = mu.shape[0]
    side = ops.concatenate([ops.full((batch, 1), snr_db, "float32"),
                            ops.full((batch, 1), length / model.model_cfg.num_channel_uses, "float32")], axis=-1)
    w = np.asarray(ops.convert_to_numpy(model.adaptive.weights_for(mu, side)))[:, :2 * int(length)]
    power = (w * np.asarray(ops.convert_to_numpy(mu))[:, :2 * int(length)]) ** 2
    effective = power.sum(axis=1) ** 2 / np.maximum((power ** 2).sum(axis=1), 1e-30)
    return float(effective.mean()), float(w.mean())


def _row(scheme: str, study: str, ebno_db: float, out: dict, confidence: float, **extra) -> dict:
    correct = int(out["correct"].sum())
    samples = int(out["correct"].size)
    low, high = wilson_interval(correct, samples, confidence)
    return {"scheme": scheme, "study": study, "ebno_db": float(ebno_db), "samples": samples, "correct": correct,
            "accuracy": correct / samples, "ci_low": low, "ci_high": high,
            "channel_uses": float(out["channel_uses"].mean()), **extra}


def _paired(out: dict, reference: dict, name: str, confidence: float) -> dict:
    d = paired_difference(out["correct"], reference["correct"], confidence)
    return {"reference": name, "difference": d["difference"], "diff_low": d["low"], "diff_high": d["high"],
            "p_value": d["p_value"], "better": d["better"], "worse": d["worse"]}


def adaptation_rows(model: SemanticLink, scheme: str, scenario: Scenario, x: np.ndarray, y: np.ndarray, *,
                    log: Callable[[str], None] = print) -> list[dict]:
    """The rows of ``adaptation.csv`` for one trained model with nested lengths (see the module docstring):
    ``compare.mismatch_ebno_db`` for both axes, ``compare.adaptation_samples`` test samples per cell, the
    sweep's seed, batch size and confidence level."""
    cfg, sweep = scenario.compare, scenario.sweep
    evaluator = AccuracyEvaluator(model, x, y, min(sweep.batch_size, cfg.adaptation_samples),
                                  scenario.training.jit_compile)
    grid = [float(v) for v in cfg.mismatch_ebno_db]
    fed = {a: fed_snr_db(model, a) for a in grid}
    rows = []
    for b in grid:
        seed = point_seed(sweep.seed, f"{scheme}/adaptation", b)  # one seed per column: every cell is paired
        cells = {a: evaluator.outcomes(b, cfg.adaptation_samples, seed, fed_snr_db=fed[a]) for a in grid}
        for a in grid:
            rows.append(_row(scheme, "mismatch", b, cells[a], sweep.confidence, fed_ebno_db=a, fed_snr_db=fed[a],
                             **_paired(cells[a], cells[b], "matched", sweep.confidence)))
        deployed = evaluator.outcomes(b, cfg.adaptation_samples, seed)
        shuffled = evaluator.outcomes(b, cfg.adaptation_samples, seed, shuffle=True)
        rows.append(_row(scheme, "deployed", b, deployed, sweep.confidence))
        rows.append(_row(scheme, "shuffle", b, shuffled, sweep.confidence,
                         **_paired(shuffled, deployed, "deployed", sweep.confidence)))
        if model.adaptive is not None:
            length = float(np.asarray(model.length_policy(np.full((1,), fed[b], np.float32)))[0])
            effective, _ = active_features(model, x[:cfg.adaptation_samples], fed[b], length)
            rows.append({"scheme": scheme, "study": "gate", "ebno_db": b, "fed_ebno_db": b, "fed_snr_db": fed[b],
                         "channel_uses": length, "active_features": effective})
        matched = cells[b]
        log(f"[{scheme}] adaptation at {b:g} dB: accuracy {matched['correct'].mean():.4f} with "
            f"{matched['channel_uses'].mean():.1f} channel uses (fed the matched SNR); shuffled SNRs "
            f"{shuffled['correct'].mean() - deployed['correct'].mean():+.4f}")
    return rows


# -- the length policy of nested lengths -------------------------------------------------------------

def grid_feedback_levels_db(model: SemanticLink) -> np.ndarray:
    """[K] float64: for each point of the model's length-policy grid, the feedback level (dB) its quantiser
    (``phy.snr_feedback_bits`` over ``phy.snr_feedback_range_db``) reports for it: the bin it lies in."""
    phy = model.phy_cfg
    levels = ops.convert_to_tensor(np.asarray(model.length_policy.levels, np.float32))
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
    alternative fit of ``L*(q)`` to :func:`policy_table`'s per-level rule that targets the accuracy at each
    Eb/N0 directly (the longest length's accuracy minus ``tolerance`` there).

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


def policy_fit_ebno_db(scenario: Scenario) -> np.ndarray:
    """The Eb/N0 points (dB) the length policy is fitted on: from the first whole dB of ``training.ebno_db_range``
    to its upper end, ``model.policy_ebno_step_db`` apart (every whole dB by default)."""
    low, high = scenario.training.ebno_db_range
    step = float(scenario.model.policy_ebno_step_db)
    start = math.ceil(low)
    return start + step * np.arange(int(math.floor((high - start) / step + 1e-9)) + 1)


def fit_policy(model: SemanticLink, scenario: Scenario, dataset, log: Callable[[str], None] = print) -> dict:
    """Fits the length policy of a model with nested lengths on the held-out training samples
    (:func:`~semcom_sim.data.splits.validation_rows`) on :func:`policy_fit_ebno_db` (:func:`fit_length_policy`);
    keeps the fit in ``model.length_policy_fit``."""
    cfg = scenario.training
    rows = validation_rows(scenario, dataset)
    grid = policy_fit_ebno_db(scenario)
    start = time.perf_counter()
    fit = fit_length_policy(model, dataset.x_train[rows], dataset.y_train[rows], grid,
                            tolerance=scenario.model.policy_tolerance, seed=cfg.seed + 50_000,
                            batch_size=min(1000, rows.size), jit_compile=cfg.jit_compile)
    fit["seconds"] = round(time.perf_counter() - start, 1)
    seen = [(q, length) for q, length, n in zip(fit["levels_db"], fit["policy"], fit["samples"]) if n]
    log(f"[length policy] L*(q) on {rows.size} held-out samples, {len(grid)} Eb/N0 points "
        f"({fit['seconds']:.0f} s): " + ", ".join(f"{q:g} dB -> {length}" for q, length in seen))
    model.length_policy_fit = fit
    return fit
