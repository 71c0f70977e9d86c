"""Signal conventions of the PHY against closed forms: BER, Eb/N0 <-> N0, symbol energy, channel power."""

import numpy as np
import pytest
import scipy.special
import sionna.phy
import tensorflow as tf

from semcom_sim import Phy
from semcom_sim.phy import (
    AnalogLink,
    FeatureMapper,
    OFDMLink,
    ebno_db_to_esno_db,
    ebno_db_to_no,
    estimate_no_from_nulls,
    make_resource_grid,
    null_subcarrier_indices,
    simulate_uncoded_qpsk_ber,
)
from semcom_sim.scenario import CHANNELS

# A grid with no pilots, guards or cyclic prefix: every RE carries data, Eb/N0 has no overhead.
BARE = dict(num_guard_carriers=(0, 0), dc_null=False, pilot_pattern="empty", snr_estimator="genie",
            cyclic_prefix_length=0)


def qpsk_awgn_theory(ebno_db):
    return 0.5 * scipy.special.erfc(np.sqrt(10 ** (np.asarray(ebno_db) / 10)))


def qpsk_rayleigh_theory(ebno_db):
    g = 10 ** (np.asarray(ebno_db) / 10)
    return 0.5 * (1 - np.sqrt(g / (1 + g)))


@pytest.mark.slow
def test_qpsk_ber_over_awgn_crosses_1e3_within_0p2_db_of_theory():
    phy = Phy(channel="AWGN", fft_size=64, num_ofdm_symbols=4, **BARE)
    ebno_db = np.array([6.0, 6.5, 7.0, 7.5])
    ber = simulate_uncoded_qpsk_ber(phy, ebno_db, num_bits=2_000_000, seed=1, frames_per_batch=1024)
    # ~2000 errors per point at BER 1e-3: relative standard error ~2 %, i.e. < 0.02 dB here.
    np.testing.assert_allclose(ber, qpsk_awgn_theory(ebno_db), rtol=0.08)
    crossing = np.interp(-3.0, np.log10(ber[::-1]), ebno_db[::-1])
    theory = np.interp(-3.0, np.log10(qpsk_awgn_theory(ebno_db)[::-1]), ebno_db[::-1])
    assert abs(crossing - theory) < 0.2


@pytest.mark.slow
def test_qpsk_ber_over_rayleigh_block_fading_matches_theory():
    # One CN(0, 1) gain per frame; tiny frames so that many independent fades are averaged.
    phy = Phy(channel="Rayleigh", fft_size=4, num_ofdm_symbols=1, **BARE)
    ebno_db = np.array([0.0, 10.0, 20.0])
    batch_ber = simulate_uncoded_qpsk_ber(phy, ebno_db, num_bits=3_000_000, seed=2, frames_per_batch=32768,
                                          return_batch_ber=True)
    ber = batch_ber.mean(axis=1)
    # Tolerance from the sample: 5 standard errors of the mean over independent batches.
    stderr = batch_ber.std(axis=1, ddof=1) / np.sqrt(batch_ber.shape[1])
    theory = qpsk_rayleigh_theory(ebno_db)
    assert np.all(np.abs(ber - theory) < 5 * stderr + 1e-4 * theory), (ber, theory, stderr)


def test_ebno_to_no_counts_pilot_and_cyclic_prefix_overhead():
    phy = Phy(channel="AWGN", fft_size=72, num_ofdm_symbols=14, cyclic_prefix_length=6,
              num_guard_carriers=(5, 6), dc_null=True, pilot_ofdm_symbol_indices=(2, 11))
    rg = make_resource_grid(phy)
    assert rg.num_data_symbols == phy.num_data_symbols == 60 * 12
    ebno_db = np.array([-3.0, 0.0, 7.5, 20.0])
    # Closed form: Eb = (energy of all non-null REs incl. CP) / (information bits of the data REs).
    energy = 14 * (1 + 6 / 72) * 60
    bits = 2.0 * 1.0 * 720
    expected_no = 1.0 / (10 ** (ebno_db / 10) * bits / energy)
    np.testing.assert_allclose(np.asarray(ebno_db_to_no(ebno_db, 2.0, 1.0, rg)), expected_no, rtol=1e-5)
    expected_esno = ebno_db + 10 * np.log10(bits / energy)
    np.testing.assert_allclose(ebno_db_to_esno_db(ebno_db, 2.0, 1.0, rg), expected_esno, atol=1e-4)
    # Without a grid Es/N0 = Eb/N0 + 10 log10(bits per symbol * code rate).
    np.testing.assert_allclose(ebno_db_to_esno_db(ebno_db, 2.0, 0.5), ebno_db, atol=1e-4)


def test_ebno_to_no_rejects_non_finite_values():
    with pytest.raises(ValueError, match="ebno_db must be finite"):
        ebno_db_to_no(np.array([0.0, np.nan]), 2, 1.0)


def test_feature_mapper_gives_unit_energy_per_complex_symbol_in_every_frame():
    mapper = FeatureMapper(num_channel_uses=64, num_data_symbols=720)
    assert mapper.samples_per_frame == 11
    rng = np.random.default_rng(0)
    # Features of very different scales; a batch that does not fill the last frame.
    features = (rng.normal(size=(50, 128)) * rng.uniform(0.01, 100, size=(50, 1))).astype(np.float32)
    frames = mapper(tf.constant(features)).numpy()
    assert frames.shape == (mapper.num_frames(50), 720) == (5, 720)
    np.testing.assert_allclose(np.mean(np.abs(frames) ** 2, axis=1), 1.0, rtol=1e-5)
    per_sample = np.abs(mapper.to_symbols(tf.constant(features)).numpy()) ** 2
    np.testing.assert_allclose(per_sample.mean(axis=1), 1.0, rtol=1e-5)


def test_noise_on_null_subcarriers_has_variance_no():
    sionna.phy.config.seed = 5
    phy = Phy(channel="AWGN")
    link = OFDMLink(phy)
    no = tf.fill([2000], 0.3)
    x = tf.zeros([2000, link.num_data_symbols], tf.complex64)
    h, _ = link.draw_channel(2000)
    y = link._receive(link._mapper(x[:, None, None, :]), h, no)
    no_hat = estimate_no_from_nulls(y, null_subcarrier_indices(link.resource_grid)).numpy()
    # 12 null subcarriers x 14 symbols x 2000 frames: relative standard error ~0.2 %.
    assert abs(no_hat.mean() / 0.3 - 1) < 0.01


@pytest.mark.parametrize("channel", [c for c in CHANNELS if c != "AWGN"])
def test_every_channel_model_has_unit_average_power(channel):
    sionna.phy.config.seed = 11
    link = OFDMLink(Phy(channel=channel, speed_mps=3.0))
    h, _ = link.draw_channel(3000)
    power = np.mean(np.abs(h.numpy()) ** 2, axis=(1, 2, 3, 4, 5, 6))  # per frame
    stderr = power.std(ddof=1) / np.sqrt(power.size)
    assert abs(power.mean() - 1.0) < max(5 * stderr, 0.02), (power.mean(), stderr)


def test_analog_link_over_awgn_adds_noise_of_variance_no_and_reports_it():
    # Perfect CSI over AWGN: the unbiased LMMSE output is y / h = x + n, so the error per complex
    # symbol has variance N0 and the equaliser's no_eff equals N0.
    sionna.phy.config.seed = 3
    link = AnalogLink(Phy(channel="AWGN", csi="perfect"), num_channel_uses=64)
    z = tf.random.normal([2000, 128])
    frames = link.num_frames(2000)
    no = link.noise_variance(tf.fill([frames], 8.0))
    h, _ = link.draw_channel(frames)
    out = link.transmit(z, h, no)
    sent = link.mapper.to_symbols(z)
    sent = tf.reshape(tf.stack([tf.math.real(sent), tf.math.imag(sent)], -1), [2000, -1])
    assert out.features.shape == (2000, 128)
    error_per_symbol = 2 * np.mean((out.features.numpy() - sent.numpy()) ** 2)
    # 128k complex errors: relative standard error of the variance estimate ~0.4 %.
    assert abs(error_per_symbol / float(no[0]) - 1) < 0.02
    np.testing.assert_allclose(out.snr_eff_db.numpy(), -10 * np.log10(float(no[0])), atol=1e-3)


def test_filler_energy_counts_as_overhead_in_eb_n0():
    # 64 symbols per sample: 11 samples fill 704 of the 720 data REs; the 16 filler REs carry energy
    # but no information, so Eb = frame energy / (2 bits x 704) and N0 = Eb / (Eb/N0).
    link = AnalogLink(Phy(channel="AWGN"), num_channel_uses=64)
    assert link.used_fraction == 704 / 720
    ebno_db = np.array([0.0, 10.0])
    energy = 14 * (1 + 6 / 72) * 60
    expected_no = energy / (2.0 * 704) / 10 ** (ebno_db / 10)
    np.testing.assert_allclose(np.asarray(link.noise_variance(ebno_db)), expected_no, rtol=1e-5)


def test_the_frame_packer_packs_samples_in_order_and_fills_the_rest_with_fixed_filler():
    from semcom_sim.phy.base import FramePacker

    packer = FramePacker(3, 10, lambda num: np.full(num, -1.0, np.float32), "values")
    assert (packer.samples_per_frame, packer.used) == (3, 9)
    values = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
    frames = packer.pack(values).numpy()
    assert frames.shape == (packer.num_frames(4), 10) == (2, 10)
    np.testing.assert_array_equal(frames[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, -1])  # one slot of tail filler
    np.testing.assert_array_equal(frames[1], [9, 10, 11, -1, -1, -1, -1, -1, -1, -1])  # two filler samples
    np.testing.assert_array_equal(packer.unpack(tf.constant(frames), 4).numpy(), values.numpy())
    np.testing.assert_array_equal(packer.frame_values(tf.constant([5.0, 7.0]), 4).numpy(), [5, 5, 5, 7])
    with pytest.raises(ValueError, match="exceeds the 10"):
        FramePacker(11, 10, lambda num: np.zeros(num, np.float32))
