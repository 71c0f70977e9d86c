"""SNR estimation at the receiver, the sounding/feedback step, and its quantisation and staleness."""

import numpy as np
import pytest
import sionna.phy
import tensorflow as tf

from semcom_sim import Phy
from semcom_sim.phy import OFDMLink, quantize_snr_db


def run_frames(phy: Phy, esno_db: float, num_frames: int = 400, seed: int = 1):
    """Sends random unit-energy QPSK frames; returns per-frame (snr_hat_db, snr_tx_db, snr_true_db)."""
    sionna.phy.config.seed = seed
    link = OFDMLink(phy)
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(num_frames, link.num_data_symbols, 2))
    x = tf.constant((((1 - 2 * bits[..., 0]) + 1j * (1 - 2 * bits[..., 1])) / np.sqrt(2)).astype(np.complex64))
    no = tf.fill([num_frames], np.float32(10 ** (-esno_db / 10)))
    h, h_sound = link.draw_channel(num_frames)
    snr_tx = link.sound(h_sound, no).numpy()
    out = link(x, h, no)
    return out.snr_hat_db.numpy(), snr_tx, out.snr_true_db.numpy()


@pytest.mark.parametrize("esno_db", [-5.0, 0.0, 10.0, 20.0, 25.0])
def test_pilot_snr_estimate_tracks_true_snr_over_awgn(esno_db):
    # The estimate is (mean|y_p|^2 - no_hat) / no_hat over Np = 120 pilot REs and Nn = 168 null REs
    # per frame, so the signal power's relative std is sqrt((1 + no)^2 / Np + no^2 / Nn).
    # Stated tolerance: per-frame relative RMS error (linear) within 1.5x of that prediction at every
    # point; mean error in dB below 0.3 dB from 0 dB up (below 0 dB the log of a noisy estimate is
    # biased upwards, see docs/conventions.md).
    snr_hat, snr_tx, snr_true = run_frames(Phy(channel="AWGN"), esno_db)
    np.testing.assert_allclose(snr_true, esno_db, atol=1e-3)
    no = 10 ** (-esno_db / 10)
    predicted = np.sqrt((1 + no) ** 2 / 120 + no ** 2 / 168)
    ratio = 10 ** ((snr_hat - snr_true) / 10)
    assert np.sqrt(np.mean((ratio - 1) ** 2)) < 1.5 * predicted
    if esno_db >= 0:
        assert abs(np.mean(snr_hat - snr_true)) < 0.3
        assert abs(np.mean(snr_tx - snr_true)) < 0.3  # sounding frame: own noise, same estimator


@pytest.mark.parametrize("channel,csi", [("TDL-A", "ls"), ("CDL-C", "ls"), ("Rayleigh", "perfect")])
def test_pilot_snr_estimate_tracks_the_frame_snr_over_fading(channel, csi):
    # Over fading the target is the frame's own SNR, mean |h|^2 Es/N0 on the data REs.
    for esno_db in (0.0, 10.0, 20.0):
        snr_hat, _, snr_true = run_frames(Phy(channel=channel, csi=csi, speed_mps=3.0), esno_db, num_frames=300)
        good = snr_true > 0.0  # below 0 dB the clipped estimate is not meant to be accurate
        error = snr_hat[good] - snr_true[good]
        assert abs(np.mean(error)) < 0.5, (channel, esno_db, np.mean(error))
        assert np.sqrt(np.mean(error ** 2)) < 1.5, (channel, esno_db)


def test_genie_estimator_returns_the_true_snr():
    snr_hat, snr_tx, snr_true = run_frames(Phy(channel="Rayleigh", snr_estimator="genie"), 10.0, num_frames=50)
    np.testing.assert_allclose(snr_hat, snr_true, atol=1e-4)
    np.testing.assert_allclose(snr_tx, snr_true, atol=1e-4)


def test_quantiser_levels_clipping_and_identity():
    snr = tf.constant([-30.0, -10.0, 0.0, 4.9, 5.1, 29.9, 50.0])
    q = quantize_snr_db(snr, 2, (-10.0, 30.0)).numpy()  # 4 levels of 10 dB: centres -5, 5, 15, 25
    np.testing.assert_allclose(q, [-5, -5, 5, 5, 5, 25, 25])
    assert quantize_snr_db(snr, None, (-10.0, 30.0)) is snr
    fine = quantize_snr_db(tf.linspace(-10.0, 30.0, 1000), 8, (-10.0, 30.0)).numpy()
    assert len(np.unique(fine)) == 256
    assert np.max(np.abs(fine - np.linspace(-10.0, 30.0, 1000))) <= 40 / 256 / 2 + 1e-5


def test_fed_back_snr_takes_only_the_quantiser_levels():
    phy = Phy(channel="Rayleigh", csi="ls", snr_feedback_bits=3, snr_feedback_range_db=(-10.0, 30.0))
    _, snr_tx, snr_true = run_frames(phy, 10.0, num_frames=300)
    levels = -10.0 + (np.arange(8) + 0.5) * 5.0
    assert set(np.round(snr_tx, 4)) <= set(np.round(levels, 4))
    assert np.corrcoef(snr_tx, snr_true)[0, 1] > 0.8  # still informative about the fading


def test_stale_feedback_decorrelates_from_the_data_frame_on_a_fast_channel():
    # Nearly flat TDL-A (10 ns) at 30 m/s and 3.5 GHz: Doppler 350 Hz, coherence time ~1 ms.
    base = dict(channel="TDL-A", delay_spread_ns=10.0, speed_mps=30.0, snr_estimator="genie")
    _, fresh, true_fresh = run_frames(Phy(**base), 10.0, num_frames=600)
    _, stale, true_stale = run_frames(Phy(**base, snr_feedback_delay_ms=5.0), 10.0, num_frames=600)
    assert OFDMLink(Phy(**base, snr_feedback_delay_ms=5.0)).lag_symbols == round(5e-3 / (78 / (72 * 30e3)))
    assert np.corrcoef(fresh, true_fresh)[0, 1] > 0.95
    assert np.corrcoef(stale, true_stale)[0, 1] < 0.5
