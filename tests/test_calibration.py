"""The calibration measures of a sweep point (semcom_sim.calibration): the expected calibration error against
closed forms, and the ece / nll columns a sweep writes from the per-sample confidences and likelihoods."""

import io
import math

import numpy as np
import pytest

from semcom_sim.calibration import CALIBRATION_BINS, expected_calibration_error
from semcom_sim.results import ResultsStore, read_results
from semcom_sim.sweep import run_sweep


def test_a_calibrated_predictor_has_an_ece_near_zero():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.1, 1.0, 200_000)
    correct = rng.random(confidence.size) < confidence  # right with exactly the probability it states
    # the estimate's bias is about sqrt(M / n) * 1/2 = 0.004 here
    assert expected_calibration_error(confidence, correct) < 0.01


@pytest.mark.parametrize("stated, accuracy", [(0.9, 0.6), (0.55, 0.85), (1.0, 0.0)])
def test_a_constant_confidence_has_the_gap_to_its_accuracy_as_ece(stated, accuracy):
    n = 1000
    correct = np.arange(n) < round(accuracy * n)  # exactly that accuracy
    assert expected_calibration_error(np.full(n, stated), correct) == pytest.approx(abs(stated - accuracy), abs=1e-12)


def test_bins_are_right_closed_and_weighted_by_their_counts():
    # 5 bins: 0.2 falls into (0, 0.2], 0.8 into (0.6, 0.8]; each bin misses by 0.2 and holds half the samples
    assert expected_calibration_error([0.2, 0.2, 0.8, 0.8], [False, False, True, True], num_bins=5) == \
        pytest.approx(0.2)
    # one bin: the gap between the mean confidence and the accuracy, whatever the spread
    assert expected_calibration_error([0.1, 0.9], [True, False], num_bins=1) == pytest.approx(0.0)
    assert expected_calibration_error([0.1, 0.9], [True, False]) == pytest.approx(0.5 * 0.9 + 0.5 * 0.9)
    assert expected_calibration_error([0.0], [False]) == 0.0  # a confidence of 0 counts in the first bin
    assert CALIBRATION_BINS == 15


@pytest.mark.parametrize("confidence, correct, bins, message", [
    ([], [], 15, "at least one"),
    ([0.5, 0.5], [True], 15, "as many outcomes"),
    ([1.2], [True], 15, r"in \[0, 1\]"),
    ([0.5], [True], 0, "num_bins"),
])
def test_bad_input_is_one_line(confidence, correct, bins, message):
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(confidence, correct, num_bins=bins)


def test_a_sweep_row_carries_the_ece_and_nll_of_every_sample_it_drew(tmp_path):
    drawn = {}

    def make_batches(ebno_db, seed):
        rng = np.random.default_rng(seed)
        while True:
            probability = rng.uniform(0.3, 1.0, 100)
            hits = rng.random(100) < 0.5
            nll = np.where(hits, -np.log(probability), -np.log((1 - probability) / 9))
            drawn.setdefault(ebno_db, []).append((probability, hits, nll))
            yield int(hits.sum()), 100, 3200.0, hits, probability, nll

    store = ResultsStore(tmp_path / "results.csv")
    rows = run_sweep(scheme="s", channel="AWGN", model_id="m", ebno_db=(0.0, 5.0), make_batches=make_batches,
                     esno_db_of=lambda e: e, no_of=lambda e: 1.0, store=store, ci_half_width=0.5, confidence=0.95,
                     min_samples=300, max_samples=300, base_seed=3, show_progress=False, stream=io.StringIO())
    for row in rows:
        confidence, hits, nll = (np.concatenate(parts) for parts in zip(*drawn[row["ebno_db"]]))
        assert row["samples"] == hits.size == 300
        assert row["ece"] == pytest.approx(expected_calibration_error(confidence, hits), abs=1e-12)
        assert row["nll"] == pytest.approx(float(nll.mean()), abs=1e-12)
        assert row["ece"] > 0.1  # right half the time while stating 0.65 on average
    assert [(r["ece"], r["nll"]) for r in read_results(tmp_path / "results.csv")] == \
        [(r["ece"], r["nll"]) for r in rows]


def test_batches_without_confidences_leave_the_columns_empty(tmp_path):
    def make_batches(ebno_db, seed):
        while True:
            yield 50, 100, 3200.0, np.arange(100) < 50

    rows = run_sweep(scheme="s", channel="AWGN", model_id="m", ebno_db=(0.0,), make_batches=make_batches,
                     esno_db_of=lambda e: e, no_of=lambda e: 1.0, store=ResultsStore(tmp_path / "r.csv"),
                     ci_half_width=0.5, confidence=0.95, min_samples=100, max_samples=100, base_seed=3,
                     show_progress=False, stream=io.StringIO())
    assert rows[0]["ece"] is None and rows[0]["nll"] is None and math.isclose(rows[0]["accuracy"], 0.5)
