"""Scheme-versus-scheme verdicts over the cells of a comparison (Eb/N0 points, test conditions), from the
rows of ``results.csv`` and the per-sample outcomes kept beside them.

- **Paired cells.** Every scheme at one sweep point draws the same test samples in the same order and the same
  channel realisations (:data:`semcom_sim.sweep.SWEEP_STREAM`), so two rows of one point are compared sample by
  sample on their common draws (the first ``min(samples)`` of each: a point stops when its own interval is
  narrow enough): the difference of accuracies, its paired square-and-add (Newcombe) interval, and the exact
  two-sided McNemar p-value (:func:`semcom_sim.sweep.paired_difference`).
- **Unpaired cells** (rows without kept outcomes, e.g. of an older run): Newcombe's hybrid score interval and
  the two-sided pooled score test (the two-proportion z test).
- **Multiplicity.** The p-values of the cells of one comparison (one scheme against its reference) are
  adjusted with Holm's step-down method (:func:`semcom_sim.sweep.holm_adjust`): a cell is "better" or "worse"
  only where its adjusted p-value is below ``1 - confidence``, so the chance of any false call among the
  family's cells stays below it.
- **Several trainings.** With more than one training seed per scheme, each training of the scheme is paired with
  the reference's training of the same seed and judged as above; a cell is "better" ("worse") only if it is
  better (worse) in every training: an intersection-union test, whose level is that of each training's test.
  It accounts for the variation between trainings without a model of it, at the price of power with few
  trainings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from semcom_sim.sweep import difference_interval, holm_adjust, paired_difference

__all__ = ["CellTest", "cell_test", "judge", "family_tests", "across_trainings", "score_test_p_value", "METHOD_TEXT"]

METHOD_TEXT = ("paired on the same test samples and channel draws: exact McNemar test, Holm-corrected across the "
               "cells of each comparison")


@dataclass(frozen=True)
class CellTest:
    """One cell's comparison of scheme ``a`` with reference ``b``.

    :param difference: accuracy of ``a`` minus that of ``b``.
    :param low: lower end of the interval of the difference (Newcombe's: the paired square-and-add interval, or
        the hybrid score interval of independent samples when unpaired).
    :param high: its upper end.
    :param p_value: two-sided p-value (exact McNemar, or the pooled score test when unpaired).
    :param samples: samples compared (the common draws when paired).
    :param paired: whether the per-sample outcomes were compared.
    :param adjusted: the Holm-adjusted p-value within its family (set by :func:`judge`).
    :param verdict: ``"better"``, ``"worse"`` or ``"tied"`` (set by :func:`judge`).
    """

    difference: float
    low: float
    high: float
    p_value: float
    samples: int
    paired: bool
    adjusted: float = math.nan
    verdict: str = ""


def score_test_p_value(correct_a: int, total_a: int, correct_b: int, total_b: int) -> float:
    """Two-sided p-value of the pooled score test (two-proportion z test) of two independent proportions;
    1 when both are 0 or both are 1."""
    pooled = (correct_a + correct_b) / (total_a + total_b)
    var = pooled * (1.0 - pooled) * (1.0 / total_a + 1.0 / total_b)
    if var <= 0.0:
        return 1.0
    z = (correct_a / total_a - correct_b / total_b) / math.sqrt(var)
    return min(1.0, 2.0 * (1.0 - NormalDist().cdf(abs(z))))


def cell_test(row_a: Mapping, row_b: Mapping, hits_a: np.ndarray | None, hits_b: np.ndarray | None,
              confidence: float = 0.95) -> CellTest:
    """Compares two rows of one cell: paired on their common draws when both have outcomes, else unpaired."""
    if hits_a is not None and hits_b is not None:
        n = min(len(hits_a), len(hits_b))
        paired = paired_difference(hits_a[:n], hits_b[:n], confidence)
        return CellTest(paired["difference"], paired["low"], paired["high"], paired["p_value"], n, True)
    ka, na, kb, nb = int(row_a["correct"]), int(row_a["samples"]), int(row_b["correct"]), int(row_b["samples"])
    diff, low, high = difference_interval(ka, na, kb, nb, confidence)
    return CellTest(diff, low, high, score_test_p_value(ka, na, kb, nb), min(na, nb), False)


def judge(tests: Mapping[Hashable, CellTest], confidence: float = 0.95) -> dict[Hashable, CellTest]:
    """The cells of one family with their Holm-adjusted p-values and verdicts (level ``1 - confidence``)."""
    keys = list(tests)
    adjusted = holm_adjust([tests[k].p_value for k in keys])
    alpha = round(1.0 - confidence, 12)  # 1 - 0.95 is 0.05000000000000004: an adjusted p of 0.05 is not below it
    out = {}
    for key, adj in zip(keys, adjusted):
        t = tests[key]
        verdict = "tied" if adj >= alpha or t.difference == 0 else ("better" if t.difference > 0 else "worse")
        out[key] = CellTest(t.difference, t.low, t.high, t.p_value, t.samples, t.paired, adj, verdict)
    return out


def across_trainings(per_training: Mapping[int, Mapping[Hashable, CellTest]]) -> dict[Hashable, str]:
    """The verdict of each cell judged in every training (:func:`judge` per training): ``better`` / ``worse``
    only if every training that has the cell says so (intersection-union test), else ``tied``."""
    cells: dict[Hashable, list[str]] = {}
    for judged in per_training.values():
        for key, test in judged.items():
            cells.setdefault(key, []).append(test.verdict)
    return {key: verdicts[0] if len(set(verdicts)) == 1 and verdicts[0] != "tied" else "tied"
            for key, verdicts in cells.items()}


def family_tests(pairs: Sequence[tuple[Hashable, Mapping, Mapping]],
                 outcomes: Callable[[Mapping], np.ndarray | None] | None,
                 confidence: float = 0.95) -> dict[Hashable, CellTest]:
    """:func:`judge` of the cells ``(key, row of the scheme, row of the reference)``; ``outcomes`` reads a row's
    kept outcomes (``None``: unpaired)."""
    read = outcomes or (lambda row: None)
    return judge({key: cell_test(a, b, read(a), read(b), confidence) for key, a, b in pairs}, confidence)
