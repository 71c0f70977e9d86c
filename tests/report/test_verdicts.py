"""Scheme-versus-scheme verdicts (:mod:`semcom_sim.report.verdicts`) on hand-made outcomes and p-values: paired
(exact McNemar on the common draws) when both rows kept their outcomes, else unpaired (Newcombe interval, pooled
score test); Holm's step-down adjustment across the cells of one comparison (Holm, Scand. J. Statist. 6:65-70,
1979); across trainings, better / worse only where every training says so (intersection-union)."""

import math

import numpy as np
import pytest

from semcom_sim.report.verdicts import (
    CellTest,
    across_trainings,
    cell_test,
    family_tests,
    judge,
    score_test_p_value,
)
from semcom_sim.sweep import difference_interval, holm_adjust, mcnemar_p_value, paired_difference


def _pair(both, a_only, b_only, neither, seed=0):
    """Outcomes of two schemes on the same draws: right with both, only with ``a``, only with ``b``, with
    neither, in a fixed shuffled order."""
    a = np.array([True] * both + [True] * a_only + [False] * b_only + [False] * neither)
    b = np.array([True] * both + [False] * a_only + [True] * b_only + [False] * neither)
    order = np.random.default_rng(seed).permutation(a.size)
    return a[order], b[order]


def _row(hits):
    return {"correct": int(np.sum(hits)), "samples": len(hits)}


def _cell(difference, p_value, samples=1000, paired=True):
    """A hand-made cell test (interval irrelevant to the verdict)."""
    return CellTest(difference, difference - 0.01, difference + 0.01, p_value, samples, paired)


# -- paired or unpaired ------------------------------------------------------------------------------

def test_two_rows_with_outcomes_are_compared_paired_by_exact_mcnemar():
    a, b = _pair(500, 60, 20, 420)  # 560 vs 520 of 1000
    t = cell_test(_row(a), _row(b), a, b, 0.95)
    expected = paired_difference(a, b, 0.95)
    assert (expected["better"], expected["worse"]) == (60, 20)
    assert t.paired and t.samples == 1000
    assert t.difference == pytest.approx(0.04, abs=1e-15)
    assert (t.difference, t.low, t.high, t.p_value) == (expected["difference"], expected["low"], expected["high"],
                                                        mcnemar_p_value(60, 20))
    # Newcombe's square-and-add interval of the paired table (500, 60, 20, 420)
    assert (round(t.low, 4), round(t.high, 4)) == (0.0225, 0.0574)
    assert math.isnan(t.adjusted) and t.verdict == ""  # set by judge only


@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_a_row_without_outcomes_makes_the_cell_unpaired_newcombe_and_score_test(which):
    a, b = _pair(500, 60, 20, 420)
    t = cell_test(_row(a), _row(b), None if which in ("a", "both") else a, None if which in ("b", "both") else b)
    d, low, high = difference_interval(560, 1000, 520, 1000, 0.95)
    assert not t.paired and t.samples == 1000
    assert (t.difference, t.low, t.high) == (d, low, high)
    assert t.p_value == score_test_p_value(560, 1000, 520, 1000)
    # the paired test of the same outcomes is sharper: pairing removes the shared variation
    assert mcnemar_p_value(60, 20) < t.p_value


def test_the_unpaired_cell_uses_the_counts_of_rows_of_different_sizes():
    t = cell_test({"correct": 450, "samples": 600}, {"correct": 200, "samples": 400}, None, None, 0.99)
    assert (t.difference, t.low, t.high) == difference_interval(450, 600, 200, 400, 0.99)
    assert t.p_value == score_test_p_value(450, 600, 200, 400) and t.samples == 400


def test_paired_rows_of_300_and_500_samples_compare_their_first_300_draws():
    # the 500-sample row continued after the other stopped: its last 200 draws (all right) have no partner
    a300, b300 = _pair(150, 40, 10, 100, seed=1)
    a = np.concatenate([a300, np.ones(200, bool)])
    t = cell_test(_row(a), _row(b300), a, b300)
    expected = paired_difference(a300, b300)
    assert t.samples == 300 and t.paired
    assert (t.difference, t.low, t.high, t.p_value) == (expected["difference"], expected["low"], expected["high"],
                                                        mcnemar_p_value(40, 10))
    assert t.difference == pytest.approx(0.1, abs=1e-15)  # (40 - 10) / 300, not 390/500 - 160/300
    # in either order
    u = cell_test(_row(b300), _row(a), b300, a)
    assert (u.difference, u.p_value, u.samples) == (-t.difference, t.p_value, 300)


def test_family_tests_pair_the_cells_whose_rows_the_reader_finds_outcomes_for():
    a, b = _pair(500, 60, 20, 420)
    row_a, row_b = _row(a), _row(b)
    cells = [("x", row_a, row_b)]
    assert not family_tests(cells, None)["x"].paired
    assert not family_tests(cells, lambda r: a if r is row_a else None)["x"].paired
    paired = family_tests(cells, lambda r: a if r is row_a else b)["x"]
    assert paired.paired and (paired.p_value, paired.adjusted, paired.verdict) == (
        mcnemar_p_value(60, 20), mcnemar_p_value(60, 20), "better")


# -- Holm across the cells of one comparison -------------------------------------------------------

def test_a_raw_p_of_0_02_is_better_alone_but_tied_among_five_cells():
    """Family-wise control (Holm 1979): alone the cell's adjusted p is its raw 0.02 < 0.05; with four more cells
    at p = 0.5 its adjusted p is 5 x 0.02 = 0.1 and the others' min(1, 4 x 0.5) = 1."""
    alone = judge({"0 dB": _cell(0.03, 0.02)}, 0.95)["0 dB"]
    assert (alone.adjusted, alone.verdict) == (0.02, "better")
    family = judge({"0 dB": _cell(0.03, 0.02), **{f"{e} dB": _cell(0.01, 0.5) for e in (5, 10, 15, 20)}}, 0.95)
    assert family["0 dB"].adjusted == pytest.approx(0.1, abs=1e-15) and family["0 dB"].verdict == "tied"
    assert [t.adjusted for t in family.values()] == pytest.approx([0.1, 1.0, 1.0, 1.0, 1.0], abs=1e-15)
    assert [t.adjusted for t in family.values()] == holm_adjust([0.02, 0.5, 0.5, 0.5, 0.5])
    assert {t.verdict for t in family.values()} == {"tied"}


def test_holm_steps_down_so_a_second_cell_is_judged_against_alpha_over_m_minus_1():
    """Holm (1979): the i-th smallest p is multiplied by m - i, then made non-decreasing: 0.01 x 3 = 0.03,
    0.02 x 2 = 0.04, 0.3 x 1 = 0.3 (Bonferroni would call only the first)."""
    judged = judge({"a": _cell(-0.05, 0.02), "b": _cell(0.04, 0.01), "c": _cell(0.01, 0.3)}, 0.95)
    assert {k: round(t.adjusted, 12) for k, t in judged.items()} == {"a": 0.04, "b": 0.03, "c": 0.3}
    assert {k: t.verdict for k, t in judged.items()} == {"a": "worse", "b": "better", "c": "tied"}
    assert list(judged) == ["a", "b", "c"]  # the input order
    assert (judged["b"].difference, judged["b"].p_value, judged["b"].samples) == (0.04, 0.01, 1000)


@pytest.mark.parametrize("confidence, adjusted, verdict", [
    (0.95, 0.05, "tied"), (0.95, 0.0499999, "better"), (0.99, 0.01, "tied"), (0.99, 0.0099999, "better"),
    (0.99, 0.02, "tied"), (0.9, 0.09, "better")])
def test_a_cell_is_called_only_where_its_holm_p_is_below_one_minus_the_confidence(confidence, adjusted, verdict):
    """The documented rule: better / worse only where the adjusted p is *below* ``1 - confidence``; a p equal
    to it (0.05 at 95 %, though ``1 - 0.95`` is 0.05000000000000004 in floating point) is not."""
    assert judge({"x": _cell(0.02, adjusted)}, confidence)["x"].verdict == verdict
    assert judge({"x": _cell(-0.02, adjusted)}, confidence)["x"].verdict == verdict.replace("better", "worse")


def test_a_difference_of_zero_is_tied_whatever_its_p():
    judged = judge({"x": _cell(0.0, 1e-9), "y": _cell(0.0, 1.0)}, 0.95)
    assert [t.verdict for t in judged.values()] == ["tied", "tied"]
    assert judged["x"].adjusted == pytest.approx(2e-9, rel=1e-12)


def test_equal_paired_outcomes_are_tied_with_p_1():
    a, b = _pair(600, 25, 25, 350)
    row_a, row_b = _row(a), _row(b)
    t = family_tests([("x", row_a, row_b)], lambda r: a if r is row_a else b)["x"]
    assert (t.difference, t.p_value, t.adjusted, t.verdict) == (0.0, 1.0, 1.0, "tied")
    # the interval is symmetric about 0 (Newcombe's square-and-add of the table (600, 25, 25, 350))
    assert t.low == pytest.approx(-t.high, abs=1e-15) and round(t.high, 4) == 0.0140


def test_an_empty_family_has_no_verdicts():
    assert judge({}) == {} and family_tests([], None) == {}


# -- several trainings ------------------------------------------------------------------------------

def _judged(**verdicts):
    return {key: CellTest(0.0, 0.0, 0.0, 0.5, 100, True, 0.5, v) for key, v in verdicts.items()}


def test_a_cell_is_better_across_trainings_only_if_every_training_says_better():
    """Intersection-union: ``better`` needs ``better`` in every training; ``worse`` likewise."""
    per_training = {0: _judged(a="better", b="better", c="worse", d="tied", e="worse"),
                    1: _judged(a="better", b="tied", c="worse", d="tied", e="better"),
                    2: _judged(a="better", b="better", c="worse", d="tied", e="worse")}
    assert across_trainings(per_training) == {"a": "better", "b": "tied", "c": "worse", "d": "tied", "e": "tied"}


def test_one_training_gives_its_own_verdicts():
    assert across_trainings({7: _judged(a="better", b="worse", c="tied")}) == {"a": "better", "b": "worse",
                                                                              "c": "tied"}
    assert across_trainings({}) == {}


def test_a_cell_missing_in_one_training_is_judged_on_the_trainings_that_have_it():
    """What the code does: a cell that one training lacks (no row of the scheme or of the reference there) is
    combined over the trainings that have it, so a cell of one training only keeps that training's verdict."""
    per_training = {0: _judged(a="better", b="worse", c="better"), 1: _judged(a="better"),
                    2: _judged(a="better", c="tied")}
    assert across_trainings(per_training) == {"a": "better", "b": "worse", "c": "tied"}


def test_trainings_are_judged_each_with_its_own_holm_family():
    """Each training's cells are adjusted among themselves (Holm 1979), then combined: a cell at raw p 0.02
    is better in a training where it is alone, tied in one where four more cells share the family."""
    alone = judge({"0 dB": _cell(0.03, 0.02)})
    crowded = judge({"0 dB": _cell(0.03, 0.02), **{f"{e} dB": _cell(0.01, 0.5) for e in (5, 10, 15, 20)}})
    assert across_trainings({0: alone, 1: alone}) == {"0 dB": "better"}
    assert across_trainings({0: alone, 1: crowded})["0 dB"] == "tied"


# -- the pooled score test --------------------------------------------------------------------------

def _two_sided(z):
    return math.erfc(abs(z) / math.sqrt(2.0))


def test_the_score_test_matches_its_closed_form():
    # 30/50 vs 20/50: pooled 0.5, z = 0.2 / sqrt(0.5 * 0.5 * (2 / 50)) = 2.0, p = 2 (1 - Phi(2)) = 0.0455
    assert score_test_p_value(30, 50, 20, 50) == pytest.approx(_two_sided(2.0), rel=1e-12)
    assert round(score_test_p_value(30, 50, 20, 50), 4) == 0.0455
    assert score_test_p_value(20, 50, 30, 50) == score_test_p_value(30, 50, 20, 50)
    # unequal sizes: 45/60 vs 20/40, pooled 65/100
    z = (0.75 - 0.5) / math.sqrt(0.65 * 0.35 * (1 / 60 + 1 / 40))
    assert score_test_p_value(45, 60, 20, 40) == pytest.approx(_two_sided(z), rel=1e-12)
    assert round(z, 4) == 2.5678


@pytest.mark.parametrize("counts", [(0, 10, 0, 10), (10, 10, 10, 10), (0, 5, 0, 30), (7, 7, 3, 3)])
def test_the_score_test_of_two_proportions_both_0_or_both_1_is_1(counts):
    assert score_test_p_value(*counts) == 1.0


def test_the_score_test_of_equal_proportions_is_1_and_of_opposite_extremes_is_tiny():
    assert score_test_p_value(25, 50, 50, 100) == 1.0
    # 0/10 vs 10/10: pooled 0.5, z = 1 / sqrt(0.25 * 0.2) = sqrt(20)
    assert score_test_p_value(0, 10, 10, 10) == pytest.approx(_two_sided(math.sqrt(20.0)), rel=1e-9)
    assert score_test_p_value(0, 10, 10, 10) < 1e-5
