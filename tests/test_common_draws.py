"""Common random numbers: every scheme at one sweep point sees the same test samples in the same order and
the same channel realisations, so scheme-versus-scheme verdicts are paired sample by sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semcom_sim import load_scenario
from semcom_sim.data import load_dataset
from semcom_sim.evaluate import AccuracyEvaluator, sample_budget
from semcom_sim.schemes import resolve_scheme
from semcom_sim.sweep import SWEEP_STREAM, point_seed
from semcom_sim.system import build_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # builds three links and runs them eagerly (about a minute on two cores)
def test_two_schemes_at_one_point_see_the_same_samples_and_the_same_channel_draws():
    scenario = load_scenario(ROOT / "scenarios" / "tiny_synthetic.py", ["training.jit_compile=false"])
    dataset = load_dataset(scenario.data)
    seed = point_seed(scenario.sweep.seed, SWEEP_STREAM, 4.0)
    seen = {}
    for scheme in ("proposed", "no-adaptive", "digital"):  # another encoder, another link: the same draws
        model = build_model(resolve_scheme(scenario, scheme), dataset.num_classes)
        evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 64, jit_compile=False)
        seen[scheme] = evaluator.outcomes(4.0, 64, seed)
        k, n, uses, hits, confidence, nll = next(evaluator.make_batches(4.0, seed))
        assert hits.dtype == bool and hits.shape == (n,) == (64,) and int(hits.sum()) == k and uses > 0
        assert confidence.shape == nll.shape == (64,) and np.all((confidence >= 0.1 - 1e-6) & (confidence <= 1))
    reference = seen["proposed"]
    for scheme, outcomes in seen.items():
        assert np.array_equal(outcomes["index"], reference["index"]), scheme  # the same samples, same order
        # what each transmitter learned by sounding: the same channel realisations and noise draws
        np.testing.assert_array_equal(outcomes["snr_tx_db"], reference["snr_tx_db"], err_msg=scheme)
    assert len(np.unique(reference["snr_tx_db"])) > 1  # the draws vary from frame to frame
    other = AccuracyEvaluator(build_model(resolve_scheme(scenario, "proposed"), dataset.num_classes), dataset.x_test,
                              dataset.y_test, 64, jit_compile=False).outcomes(4.0, 64, seed + 1)
    assert not np.array_equal(other["index"], reference["index"])  # another seed, other draws


def test_a_point_never_draws_a_test_sample_twice():
    # 4,000 glosses in batches of 1,000: at most the 4 whole batches, whatever sweep.max_samples asks
    assert sample_budget(2000, 10000, 1000, 4000) == (2000, 4000)
    assert sample_budget(2000, 10000, 1000, 4500) == (2000, 4000)  # a fifth batch would revisit 500
    assert sample_budget(6000, 10000, 1000, 4000) == (4000, 4000)  # the minimum cannot exceed the budget
    assert sample_budget(2000, 3000, 1000, 10000) == (2000, 3000)  # a large test set leaves both as asked
    assert sample_budget(256, 512, 128, 100) == (128, 128)  # smaller than one batch: one batch
    # the evaluator's draw order: the budget's batches cover distinct samples, the next batch revisits
    y = np.zeros(4000, dtype=np.int32)
    batches = AccuracyEvaluator(None, y, y, 1000, jit_compile=False)._batches(seed=5)
    drawn = np.concatenate([next(batches) for _ in range(sample_budget(2000, 10000, 1000, 4000)[1] // 1000)])
    assert np.array_equal(np.sort(drawn), np.arange(4000))
    assert np.intersect1d(next(batches), drawn).size == 1000
