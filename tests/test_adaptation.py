"""Nested lengths and the length policy: the mask, the power over the sent symbols, the policy lookup
and fit, FiLM conditioning, paired statistics, and what the transmitter does with the SNR."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Model, Phy, Scenario, ScenarioError, Training
from semcom_sim.adaptation import (
    active_features,
    fed_snr_db,
    fit_length_policy,
    policy_fit_ebno_db,
    policy_table,
    table_for_targets,
)
from semcom_sim.data import load_dataset
from semcom_sim.data.splits import training_rows, validation_rows
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.phy.analog import FeatureMapper
from semcom_sim.schemes import apply_patch, resolve_scheme
from semcom_sim.semantic import ChannelAdaptiveModule, LengthMask, LengthPolicy, LengthSampler, policy_grid_db
from semcom_sim.sweep import mcnemar_p_value, paired_difference
from semcom_sim.system import SemanticLink, seed_everything

SMALL_PHY = Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                pilot_ofdm_symbol_indices=(2,), snr_feedback_bits=4)
# nested_scenario and nested_trained (conftest.py): the scenario with the adaptive-length scheme, and that
# scheme trained once per pytest run


# -- the layers ------------------------------------------------------------------------------------

def test_length_mask_keeps_the_first_L_channel_uses():
    features = tf.reshape(tf.range(1, 17, dtype=tf.float32), (2, 8))  # 4 channel uses per sample
    out = LengthMask()(features, tf.constant([1.0, 3.0])).numpy()
    np.testing.assert_array_equal(out[0], [1, 2, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(out[1], [9, 10, 11, 12, 13, 14, 0, 0])


def test_length_sampler_draws_from_the_set_uniformly():
    sampler = LengthSampler((2, 4, 8), seed=3)
    draws = np.concatenate([sampler(tf.zeros((600, 1))).numpy() for _ in range(5)])
    values, counts = np.unique(draws, return_counts=True)
    assert values.tolist() == [2.0, 4.0, 8.0]
    assert abs(counts / draws.size - 1 / 3).max() < 0.03  # 3000 draws: the standard error is 0.0086
    with pytest.raises(ValueError, match="lengths must be positive"):
        LengthSampler((0, 4))


def test_length_policy_looks_up_the_nearest_grid_point_and_round_trips():
    grid = policy_grid_db()
    assert grid[0] == -20.0 and grid[-1] == 40.0 and np.allclose(np.diff(grid), 0.5)
    policy = LengthPolicy(grid, longest=16)
    np.testing.assert_array_equal(policy(tf.constant([-3.0, 25.0])).numpy(), [16.0, 16.0])  # default: longest
    table = np.where(grid < 5.0, 16, np.where(grid < 15.0, 8, 2))
    policy.set_table(table)
    np.testing.assert_array_equal(policy(tf.constant([-30.0, 4.7, 4.8, 14.9, 39.0])).numpy(), [16, 16, 8, 2, 2])
    clone = LengthPolicy.from_config(policy.get_config())
    clone.build()
    clone.set_weights(policy.get_weights())
    x = tf.constant(np.linspace(-25, 45, 50), tf.float32)
    np.testing.assert_array_equal(clone(x).numpy(), policy(x).numpy())
    with pytest.raises(ValueError, match="lengths in 1..16"):
        policy.set_table(np.full(grid.shape, 32))
    with pytest.raises(ValueError, match="increasing"):
        LengthPolicy([0.0, 0.0], longest=4)


def test_a_fed_back_level_gets_the_longest_length_its_feedback_bin_needs():
    grid = policy_grid_db()
    policy = LengthPolicy(grid, longest=16)
    policy.set_table(np.where(grid < 2.0, 16, np.where(grid < 6.0, 8, 2)))
    levels = tf.constant([5.0, 8.75, 12.5])
    # 10 dB bins: [0, 10) holds 0..1.5 dB (16), [3.75, 13.75) holds 3.75..5.5 dB (8), [7.5, 17.5) only 2
    np.testing.assert_array_equal(policy(levels, bin_width_db=10.0).numpy(), [16, 8, 2])
    np.testing.assert_array_equal(policy(levels, bin_width_db=0.0).numpy(), policy(levels).numpy())
    np.testing.assert_array_equal(policy(levels).numpy(), [8, 2, 2])  # no bin: the nearest grid point
    np.testing.assert_array_equal(policy(tf.constant([5.1]), bin_width_db=0.1).numpy(), [8])  # no grid point in it


def test_power_is_normalised_over_the_sent_symbols_only():
    mapper = FeatureMapper(num_channel_uses=8, num_data_symbols=64)
    features = tf.random.stateless_normal((3, 16), seed=(1, 2)) * 3.0
    symbols = mapper.to_symbols(features, tf.constant([2.0, 5.0, 8.0])).numpy()
    for row, length in zip(symbols, (2, 5, 8)):
        assert np.mean(np.abs(row[:length]) ** 2) == pytest.approx(1.0, rel=1e-5)  # Es = 1 per sent symbol
        assert np.all(row[length:] == 0)  # the rest of the sample's slots stay empty
    full = mapper.to_symbols(features).numpy()
    np.testing.assert_allclose(symbols[2], full[2], rtol=1e-6)  # L = n is today's normalisation


def test_film_conditioning_round_trips_and_its_gradient_reaches_the_film_layers():
    layer = ChannelAdaptiveModule(0.5, conditioning="film", film_units=8)
    features = tf.random.stateless_normal((4, 12), seed=(3, 4))
    side = tf.constant([[-5.0, 0.25], [0.0, 0.5], [10.0, 0.75], [20.0, 1.0]])
    with tf.GradientTape() as tape:
        out = layer(features, side)
        loss = tf.reduce_sum(out ** 2)
    film = layer.film.trainable_variables  # gamma and beta of the SNR
    grads = tape.gradient(loss, film)
    assert len(film) == 2 and all(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)
    clone = ChannelAdaptiveModule.from_config(layer.get_config())
    clone(features, side)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(features, side).numpy(), out.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="conditioning must be"):
        ChannelAdaptiveModule(conditioning="add")


# -- paired statistics -----------------------------------------------------------------------------

def test_mcnemar_exact_p_values_against_hand_computed_binomial_tails():
    assert mcnemar_p_value(0, 9) == pytest.approx(2 / 2 ** 9)
    assert mcnemar_p_value(10, 3) == pytest.approx(2 * sum(math.comb(13, i) for i in range(4)) / 2 ** 13)
    assert mcnemar_p_value(5, 5) == 1.0 and mcnemar_p_value(0, 0) == 1.0


def test_paired_difference_counts_only_discordant_samples():
    a = [True] * 50 + [False] * 30 + [True] * 15 + [False] * 5
    b = [True] * 50 + [False] * 30 + [False] * 15 + [True] * 5
    d = paired_difference(a, b, 0.95)
    assert (d["better"], d["worse"], d["samples"]) == (15, 5, 100)
    assert d["difference"] == pytest.approx(0.10)
    assert 0.0 < d["low"] < 0.10 < d["high"] < 0.2  # the square-and-add interval (worked example in test_sweep.py)
    assert d["p_value"] == pytest.approx(mcnemar_p_value(15, 5))
    with pytest.raises(ValueError, match="one length"):
        paired_difference([True], [True, False])


# -- the scenario ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model, match", [
    (dict(lengths=(4, 2, 16)), "increasing"),
    (dict(lengths=(2, 8)), "largest length must be model.num_channel_uses=16"),
    (dict(lengths=(2, 16), transmission="digital", adaptive=False), "analog link"),
    (dict(fixed_length=4), "needs nested lengths"),
    (dict(lengths=(2, 16), fixed_length=17), "must be in 1..16"),
    (dict(adaptive_conditioning="add"), "adaptive_conditioning"),
])
def test_bad_nested_length_fields_name_the_field(model, match):
    with pytest.raises(ScenarioError, match=match):
        Scenario(name="bad", model=Model(num_channel_uses=16, **model), phy=SMALL_PHY,
                 training=Training(validation_samples=100))


def test_nested_lengths_need_held_out_samples_and_the_scheme_sets_them(nested_scenario):
    with pytest.raises(ScenarioError, match="model.lengths: the length policy is fitted on held-out samples"):
        Scenario(name="bad", model=Model(num_channel_uses=16, lengths=(4, 16)), phy=SMALL_PHY)
    resolved = resolve_scheme(nested_scenario, "adaptive-length")
    assert resolved.model.lengths == (2, 4, 8, 16) and resolved.model.adaptive_conditioning == "film"
    assert resolved.training.validation_samples == 256
    # a test-time fixed length is the same trained model (the same checkpoint fingerprint)
    fixed = Scenario.from_dict({**resolved.to_dict(), "model": {**resolved.to_dict()["model"], "fixed_length": 4}})
    assert fixed.fingerprint() == resolved.fingerprint()


def test_held_out_rows_are_never_trained_on_and_default_training_rows_are_unchanged(nested_scenario):
    scenario = resolve_scheme(nested_scenario, "adaptive-length")
    dataset = load_dataset(scenario.data)
    held, trained = validation_rows(scenario, dataset), training_rows(scenario, dataset)
    assert held.size == 256 and trained.size == 1024 - 256 and not set(held) & set(trained)
    np.testing.assert_array_equal(np.bincount(dataset.y_train[held], minlength=10) >= 25, True)  # stratified
    np.testing.assert_array_equal(training_rows(nested_scenario, dataset), np.arange(1024))


# -- a trained model with nested lengths (nested_trained, shared by the pytest run) ------------------

@pytest.mark.slow
def test_the_fitted_policy_is_monotone_and_follows_its_rule(nested_trained):
    model = nested_trained.model
    fit = model.length_policy_fit
    lengths, tolerance = fit["lengths"], fit["tolerance"]
    policy, raw = np.array(fit["policy"]), np.array(fit["raw"])
    assert np.all(np.diff(policy) <= 0), "L*(q) must not increase with the SNR"
    assert np.all(policy >= raw) and set(policy) <= set(lengths)
    np.testing.assert_array_equal(model.length_policy.lengths(), policy)  # what the model sends
    for k, n in enumerate(fit["samples"]):
        if n >= fit["min_samples_per_level"]:
            acc = np.array(fit["accuracy"][k])
            expected = lengths[int(np.argmax(acc >= acc[-1] - tolerance))]
            assert raw[k] == expected, (k, acc)
    assert sum(n > 0 for n in fit["samples"]) >= 4  # 13 Eb/N0 points reach several feedback levels


@pytest.mark.slow
def test_the_decoder_output_changes_with_the_length_on_the_same_draws(nested_trained):
    dataset, model = nested_trained.dataset, nested_trained.model
    x = tf.constant(dataset.x_test[:128])
    logits = {}
    for length in (2, 16):
        seed_everything(5)
        logits[length] = model((x, tf.constant(12.0)), training=False, length=float(length))["logits"].numpy()
    seed_everything(5)
    again = model((x, tf.constant(12.0)), training=False, length=16.0)["logits"].numpy()
    np.testing.assert_array_equal(again, logits[16])  # the same draws ...
    assert np.abs(logits[2] - logits[16]).max() > 1e-3  # ... and a different length changes the decision


def test_a_length_forced_at_run_time_is_the_fixed_length_model_and_every_length_shares_one_trace(nested_trained):
    from semcom_sim.checkpoints import load_model
    from semcom_sim.evaluate import traced

    dataset, model = nested_trained.dataset, nested_trained.model
    scenario = apply_patch(nested_trained.scenario, {"model.fixed_length": 4}, "test")
    fixed = load_model(nested_trained.checkpoint, scenario, dataset)
    forced = next(AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 128, False, length=4).make_batches(6.0, 3))
    built = next(AccuracyEvaluator(fixed, dataset.x_test, dataset.y_test, 128, False).make_batches(6.0, 3))
    assert forced[:3] == built[:3] and forced[2] == 128 * 4  # the same hits and channel uses ...
    np.testing.assert_array_equal(forced[3], built[3])  # ... sample for sample; the confidences and NLLs to float32
    for a, b in zip(forced[4:], built[4:]):  # rounding (the fixed length is a constant its graph folds)
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for length in (2, 8, 16):  # another evaluator and length of the same model: the same traced function
        next(AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 128, False, length=length).make_batches(6.0, 3))
    assert traced(model, "correct", False, forced=True).experimental_get_tracing_count() == 1


def test_a_worker_loads_the_model_once_for_every_length_of_the_length_study(nested_trained, monkeypatch):
    from semcom_sim import evaluate

    loaded = []
    load = evaluate.load_model
    monkeypatch.setattr(evaluate, "load_model", lambda *args: loaded.append(args) or load(*args))
    monkeypatch.setattr(evaluate, "_WORKER_MODEL", {})
    for length in (4, 8):
        tested = apply_patch(nested_trained.scenario, {"model.fixed_length": length}, "test")
        source = evaluate.BatchSource(nested_trained.checkpoint, tested, nested_trained.dataset, 128, False)
        _, samples, uses, *_ = next(source(6.0, 3))  # what a worker does with a point of the job
        assert uses == samples * length
    assert len(loaded) == 1


@pytest.mark.slow
def test_fed_snr_and_shuffle_keep_every_other_draw(nested_trained):
    dataset, model = nested_trained.dataset, nested_trained.model
    evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 128)
    deployed = evaluator.outcomes(6.0, 256, seed=11)
    again = evaluator.outcomes(6.0, 256, seed=11)
    for key in deployed:
        np.testing.assert_array_equal(deployed[key], again[key])
    shuffled = evaluator.outcomes(6.0, 256, seed=11, shuffle=True)
    np.testing.assert_allclose(np.sort(shuffled["snr_tx_db"]), np.sort(deployed["snr_tx_db"]))
    told = evaluator.outcomes(6.0, 256, seed=11, fed_snr_db=fed_snr_db(model, 18.0))
    assert np.all(told["snr_tx_db"] == np.float32(fed_snr_db(model, 18.0)))
    assert told["channel_uses"].mean() <= deployed["channel_uses"].mean()  # told a better channel: never longer
    effective, weight = active_features(model, dataset.x_test[:64], fed_snr_db(model, 6.0), 8.0)
    assert 1.0 <= effective <= 16.0 and 0.0 < weight < 1.0


@pytest.mark.slow
def test_outcomes_give_each_samples_position_and_a_cross_entropy_consistent_with_its_decision(nested_trained):
    dataset, model = nested_trained.dataset, nested_trained.model
    evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 128)
    out = evaluator.outcomes(6.0, 256, seed=3, length=4.0)
    order = np.random.default_rng(3).permutation(len(dataset.y_test))  # the documented visiting order
    np.testing.assert_array_equal(out["index"], order[:256])
    ce, correct = out["cross_entropy"], out["correct"]
    assert ce.shape == correct.shape == (256,) and np.all(ce >= 0)
    # a right decision gives the label at least 1/C of the mass, a wrong one at most 1/2
    assert np.all(ce[correct] <= math.log(dataset.num_classes) + 1e-5)
    assert np.all(ce[~correct] >= math.log(2.0) - 1e-5)
    assert 0 < correct.sum() < 256
    # the sweep's batches on the same seed draw the same samples, channels and noise: the same decisions and label
    # likelihoods, and a confidence at least the label's probability (equal where the decision is right)
    deployed = evaluator.outcomes(6.0, 256, seed=3)
    batches = evaluator.make_batches(6.0, 3)
    hits, confidence, nll = (np.concatenate(parts) for parts in zip(*[next(batches)[3:] for _ in range(2)]))
    batches.close()
    np.testing.assert_array_equal(hits, deployed["correct"])
    np.testing.assert_allclose(nll, deployed["cross_entropy"], rtol=1e-5, atol=1e-6)
    assert np.all(confidence >= np.exp(-nll) - 1e-6)
    np.testing.assert_allclose(confidence[hits], np.exp(-nll[hits]), rtol=1e-5)


@pytest.mark.parametrize("ebno_db_range, step, expected", [
    ((-2.0, 16.0), 1.0, list(range(-2, 17))),  # the default: every whole dB
    ((-2.5, 15.7), 1.0, list(range(-2, 16))),  # from the first whole dB to the last one inside the range
    ((-2.0, 16.0), 3.0, [-2, 1, 4, 7, 10, 13, 16]),
    ((0.0, 12.0), 5.0, [0, 5, 10]),  # the upper end is not added when the step overshoots it
    ((0.0, 0.5), 2.0, [0]),
])
def test_the_policy_is_fitted_on_the_grid_its_step_gives(ebno_db_range, step, expected):
    scenario = Scenario(name="g", training=Training(ebno_db_range=ebno_db_range),
                        model=Model(policy_ebno_step_db=step))
    assert policy_fit_ebno_db(scenario).tolist() == [float(v) for v in expected]


def test_the_policy_step_changes_the_fingerprint_only_off_its_default():
    base = Scenario(name="g")
    assert Scenario(name="g", model=Model(policy_ebno_step_db=1.0)).fingerprint() == base.fingerprint()
    assert Scenario(name="g", model=Model(policy_ebno_step_db=3.0)).fingerprint() != base.fingerprint()
    with pytest.raises(ScenarioError, match=r"model\.policy_ebno_step_db"):
        Model(policy_ebno_step_db=0.0)


def test_policy_table_takes_the_smallest_length_within_tolerance_then_the_envelope():
    lengths = [2, 4, 8]
    levels = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    accuracy = np.array([[0.50, 0.60, 0.70],   # needs 8
                         [0.60, 0.69, 0.70],   # 4 is within 0.01
                         [0.80, 0.80, 0.80],   # 2
                         [0.10, 0.20, 0.90],   # too few samples: copies level 4, whose bin holds it
                         [0.79, 0.80, 0.80]])  # 4 (2 is 0.01 + 1e-9 below)
    accuracy[4, 0] -= 1e-9
    counts = np.array([100, 100, 100, 5, 100])
    quantised = np.array([0.0, 1.0, 2.0, 4.0, 4.0])  # grid point 3 lies in level 4's bin
    raw, policy = policy_table(accuracy, counts, lengths, levels, quantised, 0.01, 50)
    np.testing.assert_array_equal(raw, [8, 4, 2, 4, 4])
    np.testing.assert_array_equal(policy, [8, 4, 4, 4, 4])  # max over higher SNRs: never more at a better SNR


def _outcomes(per_level: list[tuple[int, list[int]]], ebno: list[float]):
    """Held-out outcomes: for each (level, correct counts per length out of 100) group, 100 samples."""
    correct, level, ebno_db = [], [], []
    for (lvl, counts), e in zip(per_level, ebno):
        block = np.zeros((100, len(counts)), bool)
        for j, c in enumerate(counts):
            block[:c, j] = True
        correct.append(block)
        level += [lvl] * 100
        ebno_db += [e] * 100
    return np.concatenate(correct), np.array(level), np.array(ebno_db)


def test_the_table_for_targets_sends_the_fewest_uses_that_meet_every_per_ebno_target():
    uses = [2, 4, 8]
    # level 0 at 0 dB: 90 / 99 / 100 right at L = 2 / 4 / 8; level 1 at 10 dB: right at every L
    correct, level, ebno = _outcomes([(0, [90, 99, 100]), (1, [100, 100, 100])], [0.0, 10.0])
    np.testing.assert_array_equal(table_for_targets(correct, level, ebno, 0.01, uses), [1, 0])  # L = 4, 2
    np.testing.assert_array_equal(table_for_targets(correct, level, ebno, 0.0, uses), [2, 0])  # no loss: 8, 2
    # a better level that needs more than a worse one: the table stays non-increasing, so both send 8
    correct, level, ebno = _outcomes([(0, [100, 100, 100]), (1, [50, 50, 100])], [0.0, 10.0])
    np.testing.assert_array_equal(table_for_targets(correct, level, ebno, 0.01, uses), [2, 2])
    # two levels at one Eb/N0 share its target (99 of 200): the level that shortens for free goes to 2, the
    # other keeps 8, since shortening it to 4 would lose 2 of 200 right decisions
    correct, level, ebno = _outcomes([(0, [97, 98, 100]), (1, [100, 100, 100])], [5.0, 5.0])
    np.testing.assert_array_equal(table_for_targets(correct, level, ebno, 0.005, uses), [2, 0])


@pytest.mark.slow
def test_levels_no_held_out_sample_reached_copy_the_nearest_level_seen(nested_trained):
    dataset, model = nested_trained.dataset, nested_trained.model
    fit = fit_length_policy(model, dataset.x_train[:128], dataset.y_train[:128], (6.0,), tolerance=0.01, seed=1,
                            batch_size=128, min_samples_per_level=1)
    seen = [k for k, n in enumerate(fit["samples"]) if n]
    assert seen and all(fit["raw"][k] == fit["raw"][seen[0]] for k in range(seen[0]))
    assert all(fit["raw"][k] == fit["raw"][seen[-1]] for k in range(seen[-1], len(fit["raw"])))


@pytest.mark.slow
def test_grid_points_between_feedback_levels_take_the_level_whose_bin_holds_them(nested_trained):
    dataset, model = nested_trained.dataset, nested_trained.model
    fit = fit_length_policy(model, dataset.x_train[:256], dataset.y_train[:256], np.arange(0.0, 13.0), tolerance=0.005,
                            seed=2, batch_size=128, min_samples_per_level=64)
    grid, raw = np.array(fit["levels_db"]), np.array(fit["raw"])
    step = model.feedback_bin_db
    assert step == pytest.approx(40.0 / 16)  # 4 bits over -10..30 dB
    fitted = [k for k, n in enumerate(fit["samples"]) if n >= fit["min_samples_per_level"]]
    assert len(fitted) >= 2
    for k in fitted:  # every grid point of the bin that fed back level k's SNR sends what k fitted
        level = -10.0 + (np.floor((grid[k] + 10.0) / step) + 0.5) * step
        in_bin = (grid >= level - step / 2) & (grid < level + step / 2)
        assert np.all(raw[in_bin] == raw[k]), (grid[k], raw[in_bin])
        sent = model.length_policy(tf.constant([level], tf.float32), bin_width_db=step).numpy()[0]
        assert sent == fit["policy"][k]


@pytest.mark.slow
def test_the_sandwich_draw_trains_every_sample_at_full_length_too(nested_scenario):
    from semcom_sim.train import _train_step_fn

    def full_share(outputs, labels, extras):  # the loss and its part: the share of samples sent at L = n
        share = tf.reduce_mean(tf.cast(outputs["channel_uses"] == 16.0, tf.float32))
        return tf.reduce_mean(outputs["logits"] ** 2), {"full": share}

    dataset = load_dataset(nested_scenario.data)
    images, labels = tf.constant(dataset.x_train[:64]), tf.constant(dataset.y_train[:64])
    shares = {}
    for draw in ("uniform", "sandwich"):
        resolved = resolve_scheme(nested_scenario, "adaptive-length")
        scenario = apply_patch(resolved, {"model.length_draw": draw}, "test")
        model = SemanticLink(10, scenario.model, scenario.phy, seed=0).build_for(images.shape[1:])
        step = _train_step_fn(model, keras.optimizers.SGD(0.0), full_share, (6.0, 6.0), jit_compile=False)
        shares[draw] = float(step(images, labels, {})[1]["full"])
    # uniform: one of 4 lengths, about 1/4 at L = n; sandwich: the mean of that share and 1
    assert shares["uniform"] < 0.5 <= shares["sandwich"]
    assert shares["sandwich"] == pytest.approx(0.5 * (1.0 + shares["uniform"]), abs=0.2)
    with pytest.raises(ScenarioError, match="model.length_draw"):
        Model(length_draw="sandwich")
    with pytest.raises(ScenarioError, match="model.length_draw"):
        Model(lengths=(8, 64), length_draw="all")
