"""Tests of the Monte Carlo accuracy sweep: Wilson intervals, seeds, stopping, the results store, resume."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

from semcom_sim.results import RESULT_COLUMNS, ResultsStore, read_outcomes, read_results
from semcom_sim.sweep import (
    SWEEP_STREAM,
    difference_interval,
    holm_adjust,
    mcnemar_p_value,
    paired_difference,
    point_seed,
    run_sweep,
    wilson_interval,
)

EBNO = [-4.0, 0.0, 4.0, 8.0]
BATCH = 100


# -- helpers ---------------------------------------------------------------------------------------

def _wilson_closed_form(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927), written out independently: (k + z²/2 ± z sqrt(k(n-k)/n + z²/4)) / (n + z²)."""
    root = z * math.sqrt(k * (n - k) / n + z * z / 4)
    return (k + z * z / 2 - root) / (n + z * z), (k + z * z / 2 + root) / (n + z * z)


def _accuracy(ebno_db: float) -> float:
    return 0.1 + 0.8 / (1 + math.exp(-(ebno_db - 2.0) / 2.0))


class FakeEvaluator:
    """``make_batches``: Bernoulli draws with an Eb/N0-dependent accuracy, seeded by the seed argument.

    ``interrupt_at=(point_index, batch_index)`` raises KeyboardInterrupt there, as Ctrl-C would.
    """

    def __init__(self, batch: int = BATCH, interrupt_at: tuple[int, int] | None = None):
        self.batch = batch
        self.interrupt_at = interrupt_at
        self.calls: list[tuple[float, int]] = []

    def __call__(self, ebno_db: float, seed: int):
        point = len(self.calls)
        self.calls.append((ebno_db, seed))
        rng = np.random.default_rng(seed)
        p = _accuracy(ebno_db)
        b = 0
        while True:
            if self.interrupt_at == (point, b):
                raise KeyboardInterrupt
            yield int(np.count_nonzero(rng.random(self.batch) < p)), self.batch
            b += 1


def _sweep(store, evaluator, *, ebno=EBNO, model_id="m1", ci=0.05, max_samples=2000, stream=None,
           show_progress=True):
    return run_sweep(scheme="proposed", channel="AWGN", model_id=model_id, ebno_db=ebno,
                     make_batches=evaluator, esno_db_of=lambda e: e + 3.0,
                     no_of=lambda e: 10 ** (-(e + 3.0) / 10), store=store, ci_half_width=ci,
                     confidence=0.95, min_samples=200, max_samples=max_samples, base_seed=7,
                     show_progress=show_progress, stream=stream if stream is not None else io.StringIO())


def _without_runtime(rows):
    return [{k: v for k, v in r.items() if k != "runtime_s"} for r in rows]


# -- Wilson interval -------------------------------------------------------------------------------

@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (5, 10), (10, 10), (87, 100), (999, 1000), (1, 1)])
def test_wilson_matches_closed_form(k, n):
    z = 1.959963984540054  # 97.5% quantile of N(0, 1)
    low, high = wilson_interval(k, n, 0.95)
    exp_low, exp_high = _wilson_closed_form(k, n, z)
    assert low == pytest.approx(max(exp_low, 0.0), abs=1e-12)
    assert high == pytest.approx(min(exp_high, 1.0), abs=1e-12)
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)  # clamped exactly at the ends only


def test_wilson_known_values():
    assert wilson_interval(0, 20) [0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0
    low, high = wilson_interval(5, 10)  # symmetric around 1/2
    assert (low + high) / 2 == pytest.approx(0.5, abs=1e-15)
    assert low == pytest.approx(0.2365931, abs=1e-6)  # textbook value for 5/10 at 95%
    a, b = wilson_interval(3, 10)
    c, d = wilson_interval(7, 10)
    assert (a, b) == pytest.approx((1 - d, 1 - c), abs=1e-15)
    # another confidence level, closed form with z of 99%
    low99, high99 = wilson_interval(30, 50, 0.99)
    assert (low99, high99) == pytest.approx(_wilson_closed_form(30, 50, 2.5758293035489004), abs=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, 1.0)


def test_wilson_coverage():
    rng = np.random.default_rng(2024)
    n, p, trials = 200, 0.9, 4000
    ks = rng.binomial(n, p, size=trials)
    intervals = {int(k): wilson_interval(int(k), n, 0.95) for k in np.unique(ks)}
    covered = sum(intervals[int(k)][0] <= p <= intervals[int(k)][1] for k in ks)
    assert 0.93 <= covered / trials <= 0.97


@pytest.mark.parametrize("k,n,low,high", [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                                            (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_matches_newcombe_1998_table_i(k, n, low, high):
    """Newcombe, "Two-sided confidence intervals for the single proportion: comparison of seven methods",
    Stat. Med. 17:857-872 (1998), Table I, method 3 (Wilson score, no continuity correction), 95 %."""
    got = wilson_interval(k, n, 0.95)
    assert round(got[0], 4) == low and round(got[1], 4) == high


# -- the difference of two independent accuracies ----------------------------------------------------

NEWCOMBE_1998_TABLE_II = [  # (a, m, b, n, lower, upper): a/m - b/n, method 10
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
]


@pytest.mark.parametrize("a,m,b,n,lower,upper", NEWCOMBE_1998_TABLE_II)
def test_difference_interval_matches_newcombe_1998_table_ii_method_10(a, m, b, n, lower, upper):
    """Newcombe, "Interval estimation for the difference between independent proportions: comparison of
    eleven methods", Stat. Med. 17:873-890 (1998), Table II, method 10 (hybrid score interval from the two
    Wilson intervals, no continuity correction), 95 %, to the four decimals the paper prints."""
    diff, low, high = difference_interval(a, m, b, n, 0.95)
    assert diff == pytest.approx(a / m - b / n, abs=1e-15)
    assert (round(low, 4), round(high, 4)) == (lower, upper)


def test_difference_interval_is_antisymmetric_in_its_two_runs():
    """Swapping the two runs negates the difference and mirrors the interval (Newcombe 1998, method 10)."""
    d, low, high = difference_interval(56, 70, 48, 80)
    d2, low2, high2 = difference_interval(48, 80, 56, 70)
    assert (d2, low2, high2) == pytest.approx((-d, -high, -low), abs=1e-15)


def test_difference_interval_widens_with_the_confidence_level():
    _, low95, high95 = difference_interval(56, 70, 48, 80, 0.95)
    _, low99, high99 = difference_interval(56, 70, 48, 80, 0.99)
    assert low99 < low95 - 0.01 and high99 > high95 + 0.01


# -- McNemar's exact test ----------------------------------------------------------------------------

def _exact_two_sided_sign_test(better: int, worse: int) -> Fraction:
    """Twice the smaller binomial tail of Binomial(better + worse, 1/2), as an exact fraction, capped at 1."""
    n, k = better + worse, min(better, worse)
    return min(Fraction(1), 2 * Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2 ** n))


def test_mcnemar_p_value_equals_the_closed_forms_of_small_counts():
    """Exact McNemar: 0 vs 4 discordant pairs -> 2 * 0.5**4; 1 vs 9 -> 2 * (1 + 10) / 2**10."""
    assert mcnemar_p_value(0, 4) == pytest.approx(0.125, rel=1e-12)
    assert mcnemar_p_value(1, 9) == pytest.approx(2 * (1 + 10) / 2 ** 10, rel=1e-12)
    assert mcnemar_p_value(0, 0) == 1.0
    assert mcnemar_p_value(5, 5) == 1.0  # twice a tail above 1/2 is capped at 1
    assert mcnemar_p_value(3, 4) == 1.0


@pytest.mark.parametrize("better,worse", [(0, 4), (1, 9), (7, 20), (30, 12), (150, 86)])
def test_mcnemar_p_value_is_symmetric_in_better_and_worse(better, worse):
    assert mcnemar_p_value(better, worse) == mcnemar_p_value(worse, better)


@pytest.mark.parametrize("better,worse", [(7, 20), (40, 60), (150, 86), (480, 530), (2000, 2100)])
def test_mcnemar_p_value_equals_the_exact_binomial_sum(better, worse):
    expected = float(_exact_two_sided_sign_test(better, worse))
    assert mcnemar_p_value(better, worse) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("better,worse", [(7, 20), (40, 60), (150, 86), (480, 530), (2000, 2100)])
def test_mcnemar_p_value_equals_scipy_binomtest(better, worse):
    from scipy.stats import binomtest

    expected = binomtest(min(better, worse), better + worse, 0.5, alternative="two-sided").pvalue
    assert mcnemar_p_value(better, worse) == pytest.approx(expected, rel=1e-9, abs=1e-300)


# -- the paired difference (same samples, same draws) ------------------------------------------------

def _paired_outcomes(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Per-sample outcomes of two classifiers on the same samples from the four cells of a 2 x 2 table."""
    a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return a, b


def test_paired_difference_matches_agresti_approval_ratings():
    """Agresti, Categorical Data Analysis, 2nd ed. (2002), section 10.1, Table 10.1: the same 1600 people asked
    in two surveys whether they approve of the head of government's performance: 794 approve-approve,
    150 approve-disapprove, 86 disapprove-approve, 570 both disapprove. Difference of the marginal proportions
    944/1600 - 880/1600 = 0.04, standard error 0.0095, 95 % Wald interval (0.021, 0.059); McNemar
    z = (150 - 86) / sqrt(236) = 4.17. At this size the square-and-add interval agrees with Agresti's Wald
    interval to three decimals."""
    a, b = _paired_outcomes(794, 150, 86, 570)
    assert (sum(a), sum(b), len(a)) == (944, 880, 1600)
    d = paired_difference(a, b, 0.95)
    assert (d["better"], d["worse"], d["samples"]) == (150, 86, 1600)
    assert d["difference"] == pytest.approx(0.04, abs=1e-15)
    wald_se = math.sqrt(150 + 86 - (150 - 86) ** 2 / 1600) / 1600
    assert round(wald_se, 4) == 0.0095
    assert (round(d["low"], 3), round(d["high"], 3)) == (0.021, 0.059)
    z = (150 - 86) / math.sqrt(150 + 86)
    assert round(z, 2) == 4.17
    assert d["p_value"] < 0.001
    assert d["p_value"] == pytest.approx(float(_exact_two_sided_sign_test(150, 86)), rel=1e-9)


def test_paired_difference_matches_the_square_and_add_interval_of_fagerland_et_al():
    """Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), chapter 8: complete response
    before and after consolidation therapy (Cavo et al., 2012), the paired table [[59, 6], [16, 80]]: Newcombe's
    square-and-add interval, estimate -0.0621, 95 % CI -0.1186 to -0.0046."""
    a, b = _paired_outcomes(59, 6, 16, 80)
    d = paired_difference(a, b, 0.95)
    assert (round(d["difference"], 4), round(d["low"], 4), round(d["high"], 4)) == (-0.0621, -0.1186, -0.0046)
    assert d["p_value"] == pytest.approx(float(_exact_two_sided_sign_test(6, 16)), rel=1e-9)


def test_paired_difference_of_identical_outcomes_is_zero_with_p_one_and_an_interval_around_it():
    a, b = _paired_outcomes(30, 0, 0, 10)
    d = paired_difference(a, b)
    assert (d["difference"], d["p_value"], d["better"], d["worse"]) == (0.0, 1.0, 0, 0)
    # no discordant sample in 40 does not prove a zero difference: the interval is symmetric about 0, and narrower
    # than the independent-samples interval of the same accuracies (the outcomes are perfectly correlated)
    assert d["low"] == pytest.approx(-d["high"]) and 0.0 < d["high"] < 0.1
    assert d["high"] < difference_interval(30, 40, 30, 40)[2]


def test_paired_difference_refuses_outcomes_of_different_lengths():
    with pytest.raises(ValueError, match="one length, got 3 and 2"):
        paired_difference([True, False, True], [True, False])
    with pytest.raises(ValueError, match="non-empty"):
        paired_difference([], [])


# -- seeds -----------------------------------------------------------------------------------------

def test_point_seed_stable():
    assert point_seed(1, "proposed", 2.0) == 1409475878  # pinned: a change breaks reproducibility
    assert point_seed(1, "proposed", 2) == point_seed(1, "proposed", np.float64(2.0))
    assert point_seed(1, "proposed", 0.0) == point_seed(1, "proposed", -0.0)
    seeds = {point_seed(b, s, e) for b in (0, 1) for s in ("proposed", "no-adaptive") for e in EBNO}
    assert len(seeds) == 2 * 2 * len(EBNO)
    assert all(0 <= s < 2**31 for s in seeds)
    code = "from semcom_sim.sweep import point_seed; print(point_seed(1, 'proposed', 2.0))"
    for hashseed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": hashseed})
        assert int(out.stdout) == 1409475878


def test_generic_modules_do_not_import_tensorflow():
    code = ("import sys, semcom_sim.sweep, semcom_sim.report.figures; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'sionna') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- stopping --------------------------------------------------------------------------------------

def test_loose_target_stops_by_ci(tmp_path):
    ev = FakeEvaluator()
    start = time.perf_counter()
    rows = _sweep(ResultsStore(tmp_path / "r.csv"), ev, ci=0.05, max_samples=20000)
    elapsed = time.perf_counter() - start
    assert [r["stop"] for r in rows] == ["ci"] * len(EBNO)
    for r, e in zip(rows, EBNO):
        assert r["samples"] % BATCH == 0 and 200 <= r["samples"] < 20000
        assert (r["ci_high"] - r["ci_low"]) / 2 <= 0.05
        assert r["accuracy"] == r["correct"] / r["samples"]
        assert (r["ci_low"], r["ci_high"]) == wilson_interval(r["correct"], r["samples"], 0.95)
        assert abs(r["accuracy"] - _accuracy(e)) < 0.1
        assert r["esno_db"] == e + 3.0 and r["no"] == pytest.approx(10 ** (-(e + 3) / 10))
        assert r["ebno_db"] == e and r["model_id"] == "m1" and 0 < r["runtime_s"] <= elapsed
        assert tuple(r) == RESULT_COLUMNS
    assert sum(r["runtime_s"] for r in rows) <= elapsed  # each point's own time, within the sweep's
    assert [c[1] for c in ev.calls] == [point_seed(7, SWEEP_STREAM, e) for e in EBNO]  # not the scheme's own


def test_every_scheme_at_a_point_draws_with_the_same_seed_and_its_outcomes_are_kept(tmp_path):
    seen = {}

    def batches_of(scheme):
        def make_batches(ebno_db, seed):
            seen.setdefault(ebno_db, set()).add(seed)
            rng = np.random.default_rng(seed)
            while True:
                hits = rng.random(100) < (0.9 if scheme == "a" else 0.6)
                yield int(hits.sum()), 100, 3200.0, hits
        return make_batches

    store = ResultsStore(tmp_path / "results.csv")
    rows = {s: run_sweep(scheme=s, channel="AWGN", model_id=f"m-{s}", ebno_db=(0.0, 5.0), make_batches=batches_of(s),
                         esno_db_of=lambda e: e, no_of=lambda e: 1.0, store=store, ci_half_width=0.5,
                         confidence=0.95, min_samples=300, max_samples=300, base_seed=3, show_progress=False,
                         stream=io.StringIO()) for s in ("a", "b")}
    assert all(len(seeds) == 1 for seeds in seen.values())  # one seed per point, whatever the scheme
    for sweep_rows in rows.values():
        for r in sweep_rows:
            hits = read_outcomes(tmp_path / "results.csv", r)
            assert hits.dtype == bool and hits.size == r["samples"] == 300 and int(hits.sum()) == r["correct"]
    a, b = rows["a"][0], rows["b"][0]
    # the same uniform draws under two thresholds: every sample right with b is right with a
    assert not np.any(read_outcomes(tmp_path / "results.csv", b) & ~read_outcomes(tmp_path / "results.csv", a))
    assert read_outcomes(tmp_path / "results.csv", {**a, "model_id": "other"}) is None
    with pytest.raises(ValueError, match="do not match the row"):
        store.put({**a, "correct": a["correct"] - 1}, outcomes=read_outcomes(tmp_path / "results.csv", a))


def test_holm_adjusted_p_values_match_the_step_down_rule():
    # Holm (1979): sorted p = 0.01, 0.02, 0.03, 0.04 with m = 4 -> 0.04, 0.06, 0.06, 0.06 (made monotone)
    assert holm_adjust([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm_adjust([0.5, 0.9]) == [1.0, 1.0]
    assert holm_adjust([0.001]) == [0.001] and holm_adjust([]) == []
    # family-wise: with a 0.05 level, 0.012 alone would be significant but not among five tests
    assert holm_adjust([0.012, 0.2, 0.3, 0.4, 0.5])[0] == pytest.approx(0.06)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        holm_adjust([1.2])


def test_tight_target_stops_by_max_samples(tmp_path):
    rows = _sweep(ResultsStore(tmp_path / "r.csv"), FakeEvaluator(batch=300), ci=0.001, max_samples=1000)
    assert [r["stop"] for r in rows] == ["max_samples"] * len(EBNO)
    assert all(r["samples"] == 1200 for r in rows)  # the first multiple of 300 past 1000


def test_min_samples_respected(tmp_path):
    rows = run_sweep(scheme="s", channel="AWGN", model_id="m", ebno_db=[30.0],
                     make_batches=lambda e, s: iter(lambda: (10, 10), None), esno_db_of=lambda e: e,
                     no_of=lambda e: 1.0, store=ResultsStore(tmp_path / "r.csv"), ci_half_width=0.5,
                     confidence=0.95, min_samples=95, max_samples=1000, base_seed=0, stream=io.StringIO())
    assert rows[0]["samples"] == 100 and rows[0]["stop"] == "ci" and rows[0]["accuracy"] == 1.0


def test_status_table_and_no_progress_spam(tmp_path):
    out = io.StringIO()  # not a tty: no progress bar
    _sweep(ResultsStore(tmp_path / "r.csv"), FakeEvaluator(), stream=out)
    text = out.getvalue()
    assert "\r" not in text and "frame/s" not in text
    lines = text.splitlines()
    header = [ln for ln in lines if ln.lstrip().startswith("EbNo [dB]")]
    assert len(header) == 1
    for title in ("EsNo [dB]", "accuracy", "95% CI", "samples", "correct", "runtime [s]", "status"):
        assert title in header[0]
    assert sum("reached CI target" in ln for ln in lines) == len(EBNO)


@pytest.mark.parametrize("bad", [[], [0.0, float("nan")], [float("inf")], [1.0, 1.0]])
def test_bad_ebno_rejected(tmp_path, bad):
    with pytest.raises(ValueError, match=r"sweep\.ebno_db"):
        _sweep(ResultsStore(tmp_path / "r.csv"), FakeEvaluator(), ebno=bad)
    assert not (tmp_path / "r.csv").exists()


def test_bad_batches_rejected(tmp_path):
    with pytest.raises(ValueError, match="num_correct"):
        run_sweep(scheme="s", channel="AWGN", model_id="m", ebno_db=[0.0],
                  make_batches=lambda e, s: iter([(11, 10)]), esno_db_of=lambda e: e, no_of=lambda e: 1.0,
                  store=ResultsStore(tmp_path / "r.csv"), ci_half_width=0.1, confidence=0.95,
                  min_samples=10, max_samples=100, base_seed=0, stream=io.StringIO())
    with pytest.raises(RuntimeError, match="stopped"):
        run_sweep(scheme="s", channel="AWGN", model_id="m", ebno_db=[0.0],
                  make_batches=lambda e, s: iter([(5, 10)]), esno_db_of=lambda e: e, no_of=lambda e: 1.0,
                  store=ResultsStore(tmp_path / "r.csv"), ci_half_width=0.01, confidence=0.95,
                  min_samples=10, max_samples=100, base_seed=0, stream=io.StringIO())


# -- resume ----------------------------------------------------------------------------------------

def test_interrupted_sweep_resumes_to_identical_rows(tmp_path):
    rows_a = _sweep(ResultsStore(tmp_path / "a.csv"), FakeEvaluator())

    out = io.StringIO()
    path_b = tmp_path / "b.csv"
    partial = _sweep(ResultsStore(path_b), FakeEvaluator(interrupt_at=(2, 1)), stream=out)
    assert len(partial) == 2
    assert "Interrupted" in out.getvalue() and str(path_b) in out.getvalue()
    assert "rerun the same command" in out.getvalue()
    assert len(read_results(path_b)) == 2  # finished points were saved one by one

    out = io.StringIO()
    ev = FakeEvaluator()
    rows_b = _sweep(ResultsStore(path_b), ev, stream=out)
    assert [c[0] for c in ev.calls] == EBNO[2:]  # only the missing points were computed
    assert out.getvalue().count("resumed") == 2
    assert _without_runtime(rows_b) == _without_runtime(rows_a)
    assert _without_runtime(read_results(path_b)) == _without_runtime(read_results(tmp_path / "a.csv"))
    assert _without_runtime(read_results(path_b)) == _without_runtime(rows_a)


def test_changed_model_id_recomputes(tmp_path):
    path = tmp_path / "r.csv"
    _sweep(ResultsStore(path), FakeEvaluator(), model_id="m1")
    ev = FakeEvaluator()
    rows = _sweep(ResultsStore(path), ev, model_id="m2")
    assert [c[0] for c in ev.calls] == EBNO
    assert all(r["model_id"] == "m2" for r in rows)
    stored = read_results(path)
    assert len(stored) == len(EBNO) and all(r["model_id"] == "m2" for r in stored)


# -- the results store -----------------------------------------------------------------------------

def _row(scheme="proposed", channel="AWGN", ebno=0.0, **kw):
    row = dict(scheme=scheme, channel=channel, ebno_db=ebno, esno_db=ebno + 3, accuracy=0.5, ci_low=0.4,
               ci_high=0.6, samples=100, correct=50, no=0.5, stop="ci", runtime_s=1.25, model_id="m")
    row.update(kw)
    return row


def test_store_put_replaces_sorts_and_round_trips(tmp_path):
    path = tmp_path / "sub" / "r.csv"
    store = ResultsStore(path)
    assert store.rows == [] and not path.exists()
    store.put(_row(ebno=4.0))
    store.put(_row(ebno=-2.0))
    store.put(_row(scheme="no-adaptive", ebno=10.0))
    store.put(_row(ebno=4.0, accuracy=0.75, correct=75))  # same key: replaced
    keys = [(r["scheme"], r["channel"], r["ebno_db"]) for r in store.rows]
    assert keys == [("no-adaptive", "AWGN", 10.0), ("proposed", "AWGN", -2.0), ("proposed", "AWGN", 4.0)]
    assert store.rows[-1]["accuracy"] == 0.75
    assert read_results(path) == store.rows
    assert ResultsStore(path).rows == store.rows
    header = path.read_text().splitlines()[0]
    assert header == ",".join(RESULT_COLUMNS)
    r = read_results(path)[0]
    assert isinstance(r["samples"], int) and isinstance(r["correct"], int)
    assert all(isinstance(r[c], float) for c in ("ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "no"))
    assert store.lookup("proposed", "AWGN", 4.0, "m")["accuracy"] == 0.75
    assert store.lookup("proposed", "AWGN", 4.0, "other") is None
    assert store.lookup("proposed", "TDL-A", 4.0, "m") is None
    store.put(_row(ebno=6.0, stop="interrupted"))
    assert store.lookup("proposed", "AWGN", 6.0, "m") is None  # not a completed row


def test_store_writes_atomically(tmp_path):
    store = ResultsStore(tmp_path / "r.csv")
    _sweep(store, FakeEvaluator())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_read_results_minimal_columns(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("scheme,channel,ebno_db,esno_db,accuracy,ci_low,ci_high,samples\n"
                    "proposed,AWGN,0,3,0.5,0.4,0.6,100\n")
    (row,) = read_results(path)
    assert row["samples"] == 100 and row["ebno_db"] == 0.0 and row["model_id"] is None
    assert ResultsStore(path).lookup("proposed", "AWGN", 0.0, "m") is None


HEADER = ",".join(RESULT_COLUMNS)


@pytest.mark.parametrize("text,problem", [
    ("scheme,channel,accuracy\nproposed,AWGN,0.5\n", "missing column"),
    (HEADER + "\nproposed,AWGN,zero,3,0.5,0.4,0.6,100,50,0.5,ci,1.0,m,ls,,4,0.0,1.0,,,,,\n", "ebno_db"),
    (HEADER + "\nproposed,AWGN,0,3,0.5,0.4,0.6,1e2x,50,0.5,ci,1.0,m,ls,,4,0.0,1.0,,,,,\n", "samples"),
    (HEADER + "\nproposed,AWGN,0,3,0.5\n", "fewer fields"),
    (HEADER + "\nproposed,AWGN,0,3,0.5,0.4,0.6,100,50,0.5,ci,1.0,m,ls,,4,0.0,1.0,,,,,,extra\n",
     "more fields"),
    (HEADER + "\n" + "proposed,AWGN,0,3,0.5,0.4,0.6,100,50,0.5,ci,1.0,m,ls,,4,0.0,1.0,,,,,\n" * 2,
     "repeats"),
])
def test_malformed_csv_names_file(tmp_path, text, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        ResultsStore(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_non_utf8_file_names_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match="bad.csv"):
        read_results(path)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_tty_when_asked(tmp_path):
    out = _Tty()
    _sweep(ResultsStore(tmp_path / "a.csv"), FakeEvaluator(), ebno=[0.0], stream=out)
    assert "sample" in out.getvalue() and "\r" in out.getvalue()
    out = _Tty()
    _sweep(ResultsStore(tmp_path / "b.csv"), FakeEvaluator(), ebno=[0.0], stream=out, show_progress=False)
    assert "\r" not in out.getvalue()


def test_atomic_writes_give_files_the_usual_permissions(tmp_path):
    import os

    from semcom_sim.io import atomic_write_text

    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "x.txt", "hello")
    finally:
        os.umask(mask)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644
