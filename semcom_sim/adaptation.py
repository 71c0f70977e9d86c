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

from collections.abc import Callable

import numpy as np
from keras import ops

from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.phy import esno_db_from_no
from semcom_sim.phy.snr import quantize_snr_db
from semcom_sim.scenario import Scenario
from semcom_sim.sweep import paired_difference, point_seed, wilson_interval
from semcom_sim.system import SemanticLink

__all__ = ["fed_snr_db", "adaptation_rows", "active_features"]


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
