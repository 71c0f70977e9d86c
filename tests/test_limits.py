"""Finite-blocklength limits (semcom_sim.limits) against closed forms and an independent Monte Carlo estimate:
capacity is log2(1 + SNR); the dispersion is the variance of the information density of equal-power inputs;
the normal approximation's error and its inverse agree; the label-arrival accuracy tends to the classifier's at
high SNR and to the prior guess where the channel cannot carry the label."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from semcom_sim.limits import (
    awgn_capacity_bits,
    awgn_dispersion_bits2,
    label_arrival_accuracy,
    normal_approximation_bits,
    normal_approximation_error,
)


@pytest.mark.parametrize("snr_db", [-10.0, 0.0, 10.0, 30.0])
def test_the_capacity_of_a_flat_awgn_use_is_log2_of_one_plus_the_snr(snr_db):
    snr = 10 ** (snr_db / 10)
    assert awgn_capacity_bits(snr) == pytest.approx(math.log2(1 + snr), rel=1e-12)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0])
def test_the_dispersion_is_the_variance_of_the_information_density_of_equal_power_inputs(snr_db):
    # complex inputs of power P on a circle, CN(0, 1) noise, the capacity-achieving output density CN(0, 1 + P):
    # i(x; y) = log2(1 + P) + log2(e) (|y|^2 / (1 + P) - |y - x|^2), whose variance per use is the dispersion
    rng = np.random.default_rng(0)
    p = 10 ** (snr_db / 10)
    n = 2_000_000
    x = math.sqrt(p) * np.exp(2j * np.pi * rng.random(n))
    z = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2)
    y = x + z
    density = math.log2(1 + p) + math.log2(math.e) * (np.abs(y) ** 2 / (1 + p) - np.abs(z) ** 2)
    assert density.mean() == pytest.approx(float(awgn_capacity_bits(p)), abs=5e-3)
    assert density.var() == pytest.approx(float(awgn_dispersion_bits2(p)), rel=1e-2)


@pytest.mark.parametrize("n, snr_db, error", [(100, 0.0, 1e-3), (500, 0.0, 1e-3), (64, 10.0, 1e-2), (1000, -3.0, 0.1)])
def test_the_normal_approximation_and_its_inverse_agree_and_match_the_formula(n, snr_db, error):
    snr = 10 ** (snr_db / 10)
    c, v = math.log2(1 + snr), snr * (snr + 2) / (snr + 1) ** 2 * math.log2(math.e) ** 2
    k = normal_approximation_bits(n, snr, error)
    assert k == pytest.approx(n * c - math.sqrt(n * v) * norm.isf(error) + 0.5 * math.log2(n), rel=1e-12)
    assert k < n * c  # the backoff from capacity at finite n
    assert float(normal_approximation_error(k, np.full(n, snr))) == pytest.approx(error, rel=1e-9)


def test_uses_at_different_snrs_add_their_mutual_information_and_dispersion():
    snrs = np.array([0.1, 1.0, 10.0, 100.0] * 25)
    k = 150.0
    c = np.log2(1 + snrs).sum()
    v = (snrs * (snrs + 2) / (snrs + 1) ** 2).sum() * math.log2(math.e) ** 2
    expected = norm.sf((c - k + 0.5 * math.log2(100)) / math.sqrt(v))
    assert float(normal_approximation_error(k, snrs)) == pytest.approx(expected, rel=1e-12)
    # a batch: one error probability per sample (the last axis holds its uses)
    batch = normal_approximation_error(k, np.stack([snrs, snrs * 4, snrs / 4]))
    assert batch.shape == (3,) and batch[1] < batch[0] < batch[2]


def test_the_reference_is_the_classifier_at_high_snr_and_the_prior_guess_where_the_label_cannot_arrive():
    correct = np.array([1, 1, 0, 1, 0, 1, 1, 1, 1, 0], dtype=bool)  # a classifier right on 7 of 10 samples
    k = math.log2(10)  # the label of ten classes
    strong = normal_approximation_error(k, np.full((10, 16), 1e3))  # 16 uses at 30 dB
    weak = normal_approximation_error(k, np.full((10, 16), 1e-4))  # 16 uses at -40 dB carry 0.002 bits
    assert np.all(strong < 1e-9) and np.all(weak > 1 - 1e-9)
    assert label_arrival_accuracy(correct, strong, 0.1).mean() == pytest.approx(0.7, abs=1e-9)
    assert label_arrival_accuracy(correct, weak, 0.1).mean() == pytest.approx(0.1, abs=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: awgn_capacity_bits(-1.0), "snr: linear SNRs must be finite and >= 0"),
    (lambda: normal_approximation_error(0.0, [1.0]), "k_bits: must be > 0"),
    (lambda: normal_approximation_error(3.0, np.zeros((2, 0))), "snrs: need at least one channel use"),
    (lambda: normal_approximation_bits(10, 1.0, 1.5), "error: must be in \\(0, 1\\)"),
    (lambda: label_arrival_accuracy([1], [0.5], 1.5), "prior_accuracy: must be in \\[0, 1\\]"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- the reference at a sweep point ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference_setup():
    import tensorflow as tf

    from semcom_sim import Model, Phy, Scenario, Training
    from semcom_sim.evaluate import LabelReferenceEvaluator
    from semcom_sim.system import build_model, seed_everything

    seed_everything(0)
    scenario = Scenario(name="r", phy=Phy(channel="TDL-A", csi="ls"),
                        model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
                        training=Training(jit_compile=False))
    model = build_model(scenario, num_classes=10)
    rng = np.random.default_rng(0)
    x = rng.random((96, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 96).astype(np.int32)
    reference = LabelReferenceEvaluator(model, x, y, 48, k_bits=math.log2(10), guess_class=3, jit_compile=False)
    return tf, model, x, y, reference, seed_everything


def test_the_reference_sees_the_channel_the_schemes_see_at_the_same_seed(reference_setup):
    tf, model, x, y, reference, seed_everything = reference_setup
    seed_everything(5)
    scheme = model((tf.constant(x[:48]), tf.constant(4.0)))  # what the sweep's forward pass draws
    seed_everything(5)
    _, snr, _, _ = reference._on_device(tf.constant(x[:48]), tf.constant(y[:48]), tf.constant(4.0))
    # 22 samples of 32 uses per frame of 720 data REs: the first frame's first 22 samples, against the frame's
    # mean SNR over all its data REs the scheme's receiver reports (snr_true_db): the same realisation
    frames = model.link.num_frames(48)
    seed_everything(5)
    model((tf.constant(x[:48]), tf.constant(4.0)), bypass_channel=True)
    h, _ = model.link.draw_channel(frames)
    no = model.link.noise_variance(tf.fill([frames], 4.0))
    frame_mean_db = 10 * np.log10(model.link.ofdm.data_snr(h, no).numpy().mean(axis=1))
    np.testing.assert_allclose(frame_mean_db, scheme["snr_true_db"].numpy()[:: model.link.samples_per_frame],
                               atol=1e-4)
    np.testing.assert_allclose(snr.numpy(), model.link.sample_snr(h, no, 48).numpy(), rtol=1e-6)


def test_the_reference_is_the_on_device_classifier_at_high_snr_and_the_guess_at_very_low_snr(reference_setup):
    tf, model, x, y, reference, _ = reference_setup
    decided = np.argmax(model((tf.constant(x), tf.constant(0.0)), bypass_channel=True)["logits"].numpy(), -1) == y
    for ebno_db, expected in ((60.0, decided), (-60.0, y == 3)):
        batches = reference.make_batches(ebno_db, seed=2)
        hits = np.concatenate([next(batches)[3] for _ in range(2)])
        visited = reference._batches(2)  # the samples make_batches visits, in order
        order = np.concatenate([next(visited) for _ in range(2)])
        np.testing.assert_array_equal(hits, expected[order])


def test_the_polar_label_baseline_is_the_on_device_classifier_at_high_snr_and_the_guess_at_very_low_snr(
        reference_setup):
    from semcom_sim.evaluate import PolarLabelEvaluator

    tf, model, x, y, reference, _ = reference_setup
    polar = PolarLabelEvaluator(model, x, y, 48, num_classes=10, guess_class=3)
    decided = np.argmax(model((tf.constant(x), tf.constant(0.0)), bypass_channel=True)["logits"].numpy(), -1) == y
    visited = polar._batches(2)
    order = np.concatenate([next(visited) for _ in range(2)])
    for ebno_db, expected in ((40.0, decided), (-40.0, y == 3)):
        batches = polar.make_batches(ebno_db, seed=2)
        outputs = [next(batches) for _ in range(2)]
        np.testing.assert_array_equal(np.concatenate([o[3] for o in outputs]), expected[order])
        assert [o[2] for o in outputs] == [48 * 32.0] * 2  # the channel uses of the 48 samples of each batch
    # the same decision, confidence and label NLL as the ideal reference's on the same draws
    ideal, coded = next(reference.make_batches(40.0, seed=2)), next(polar.make_batches(40.0, seed=2))
    np.testing.assert_array_equal(ideal[3], coded[3])
    np.testing.assert_allclose(ideal[4], coded[4], rtol=1e-6)
    np.testing.assert_allclose(ideal[5], coded[5], rtol=1e-6)
