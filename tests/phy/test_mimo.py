"""The single-user MIMO OFDM link (semcom_sim.phy.mimo) against closed forms: an identity channel with two
streams is two SISO links, the multi-stream Eb/N0 accounting is Sionna's, receive diversity and zero forcing
give the textbook bit error rates of uncoded QPSK over i.i.d. Rayleigh fading, zero-forcing precoding with
perfect CSI diagonalises the channel, the arrays' channels have unit power per antenna pair and the
exponential correlation asked for."""

import dataclasses
import math

import numpy as np
import pytest
import sionna.phy
import tensorflow as tf
from scipy.optimize import brentq
from sionna.phy.utils import ebnodb2no

from semcom_sim import Phy
from semcom_sim.phy import AnalogLink, DigitalLink, MIMOAnalogLink, MIMODigitalLink, OFDMLink, ebno_db_to_no
from semcom_sim.phy.mimo import MIMOOFDMLink

# one OFDM symbol of 12 subcarriers, no pilots, guards, DC or cyclic prefix: Eb counts the data alone, as
# textbook curves do, and every frame is one independent block fade
BARE = dict(fft_size=12, num_ofdm_symbols=1, cyclic_prefix_length=0, num_guard_carriers=(0, 0), dc_null=False,
            pilot_pattern="empty", snr_estimator="genie", csi="perfect")


def _uplink(num_tx_ant: int, num_rx_ant: int, equalizer: str = "lmmse", **phy) -> MIMOOFDMLink:
    """A link from ``num_tx_ant`` user-terminal antennas, one stream each, to ``num_rx_ant`` base-station ones."""
    return MIMOOFDMLink(Phy(direction="uplink", num_ut_ant=num_tx_ant, num_bs_ant=num_rx_ant, num_streams=num_tx_ant,
                            equalizer=equalizer, **phy))


def _qpsk(shape, rng):
    bits = rng.integers(0, 2, shape + (2,))
    return bits, ((1 - 2 * bits[..., 0]) + 1j * (1 - 2 * bits[..., 1])).astype(np.complex64) / np.sqrt(2)


@pytest.mark.parametrize("equalizer", ["lmmse", "zf"])
def test_an_identity_2x2_channel_with_two_streams_is_two_siso_awgn_links(equalizer):
    link, siso = _uplink(2, 2, equalizer, channel="AWGN", csi="perfect"), OFDMLink(Phy(channel="AWGN", csi="perfect"))
    assert link.num_data_symbols == siso.num_data_symbols  # orthogonal pilots: the same data REs per stream
    no = float(link.noise_variance(np.float32(6.0)))
    no_siso = float(ebno_db_to_no(np.float32(6.0), 2, 1.0, siso.resource_grid))
    assert no == pytest.approx(no_siso / 2, rel=1e-6)  # two streams share one unit of energy
    sionna.phy.config.seed = 1
    _, x = _qpsk((256, 2, link.num_data_symbols), np.random.default_rng(0))
    out = link(tf.constant(x), link.draw_channel(256)[0], tf.fill([256], no))
    error = np.mean(np.abs(out.x_hat.numpy() - x) ** 2, axis=(0, 2))
    # each stream's error is the SISO link's noise at the same Eb/N0: 256 x 2 x ~900 samples, 1 % is > 5 sigma
    np.testing.assert_allclose(error, no_siso, rtol=0.01)
    np.testing.assert_allclose(out.no_eff.numpy(), no_siso, rtol=1e-4)
    np.testing.assert_allclose(out.sinr_db.numpy(), -10 * np.log10(no_siso), atol=1e-3)


@pytest.mark.parametrize("streams, rx", [(1, 1), (2, 2), (2, 4), (4, 4)])
def test_the_multi_stream_eb_n0_accounting_is_sionnas_ebnodb2no(streams, rx):
    link = _uplink(streams, rx, channel="AWGN", csi="ls")
    rg = link.resource_grid
    ebno_db = np.array([-3.0, 4.0, 11.0], np.float32)
    expected = ebnodb2no(ebno_db, 2, 0.5, rg).numpy()
    np.testing.assert_allclose(link.noise_variance(ebno_db, 2, 0.5).numpy(), expected, rtol=1e-6)
    # the closed form: all streams share one unit of energy per RE, pilots and cyclic prefix count against Eb
    overhead = rg.num_ofdm_symbols * (1 + rg.cyclic_prefix_length / rg.fft_size) * rg.num_effective_subcarriers \
        / rg.num_data_symbols
    closed = overhead / streams / (10 ** (ebno_db / 10) * 2 * 0.5)
    np.testing.assert_allclose(expected, closed, rtol=1e-5)


def _mimo_qpsk_ber(link, ebno_db, num_frames, batch=65536, seed=0):
    """Uncoded QPSK BER with hard decisions after the equaliser, Eb/N0 counted on the data REs."""
    sionna.phy.config.seed = seed
    rng = np.random.default_rng(seed)
    no = float(link.noise_variance(np.float32(ebno_db)))

    @tf.function(jit_compile=True)
    def run(x, bits):
        out = link(x, link.draw_channel(batch)[0], tf.fill([batch], no))
        decided = tf.cast(tf.stack([tf.math.real(out.x_hat) < 0, tf.math.imag(out.x_hat) < 0], -1), tf.int64)
        return tf.reduce_sum(tf.cast(decided != bits, tf.int64))

    errors = 0
    for _ in range(num_frames // batch):
        bits, x = _qpsk((batch, link.num_streams, link.num_data_symbols), rng)
        errors += int(run(tf.constant(x), tf.constant(bits)))
    return errors / ((num_frames // batch) * batch * link.num_streams * link.num_data_symbols * 2)


def _mrc_ber(ebno_db, branches):
    """BPSK/QPSK per bit with L-branch maximal-ratio combining in i.i.d. Rayleigh fading (Proakis, eq. 14.4-15)."""
    gamma = 10 ** (ebno_db / 10)
    mu = np.sqrt(gamma / (1 + gamma))
    return ((1 - mu) / 2) ** branches * sum(
        float(math.comb(branches - 1 + k, k)) * ((1 + mu) / 2) ** k for k in range(branches))


@pytest.mark.slow
@pytest.mark.parametrize("streams, rx, equalizer, diversity, frames", [
    (1, 2, "lmmse", 2, 4 * 65536),  # receive diversity: LMMSE with one stream is maximal-ratio combining
    (2, 2, "zf", 1, 8 * 65536),  # zero forcing spends the second antenna on the other stream: rx - streams + 1
])
def test_uncoded_qpsk_over_iid_rayleigh_reaches_1e_3_within_0_3_db_of_theory(streams, rx, equalizer, diversity,
                                                                             frames):
    link = _uplink(streams, rx, equalizer, channel="Rayleigh", **BARE)
    target = brentq(lambda e: _mrc_ber(e, diversity) - 1e-3, -10.0, 40.0)  # 11.1 dB (L = 2), 24.0 dB (L = 1)
    # theory 0.3 dB either side: 1.14e-3 / 0.88e-3 (L = 2), 1.07e-3 / 0.93e-3 (L = 1); each frame one fade
    below, above = (_mimo_qpsk_ber(link, target + d, num_frames=frames, seed=s) for d, s in ((-0.3, 1), (0.3, 2)))
    assert below > 1e-3 > above, (target, below, above)


def test_ls_csi_on_the_orthogonal_pilots_separates_the_streams():
    perfect = _uplink(2, 4, channel="Rayleigh", csi="perfect")
    ls = _uplink(2, 4, channel="Rayleigh", csi="ls", interpolation="lin")
    no = float(ls.noise_variance(np.float32(15.0)))
    _, x = _qpsk((128, 2, ls.num_data_symbols), np.random.default_rng(1))
    errors = {}
    for name, link in (("perfect", perfect), ("ls", ls)):
        sionna.phy.config.seed = 4  # the same channels and noise for both receivers
        out = link(tf.constant(x), link.draw_channel(128)[0], tf.fill([128], no))
        errors[name] = float(np.mean(np.abs(out.x_hat.numpy() - x) ** 2))
    # estimated on noisy pilots, the channel costs some SNR, but the two streams stay separated
    assert errors["perfect"] < errors["ls"] < 3 * errors["perfect"] < 0.05, errors


def _channel_matrices(h):
    """[frames, 1, rx, 1, tx, symbols, subcarriers] -> [frames, symbols, subcarriers, rx, tx]."""
    return np.transpose(h.numpy()[:, 0, :, 0], (0, 3, 4, 1, 2))


@pytest.mark.parametrize("precoding", ["zf", "svd"])
def test_precoding_with_perfect_csi_diagonalises_the_effective_channel(precoding):
    # ZF: H G is diagonal (stream k reaches receive antenna k alone); SVD: H G = U S has orthogonal columns, which
    # the receiver's matched filter separates, i.e. G^H H^H H G is diagonal
    link = MIMOOFDMLink(Phy(channel="Rayleigh", num_bs_ant=4, num_ut_ant=2, num_streams=2, precoding=precoding,
                            precoding_csi="perfect", csi="perfect"))
    sionna.phy.config.seed = 3
    h, h_sound = link.draw_channel(8)
    no = tf.fill([8], 0.1)
    g = link.precoder(h, h_sound, no).numpy()  # [frames, symbols, subcarriers, tx = 4, streams = 2]
    assert g.shape == (8, 14, link.resource_grid.num_effective_subcarriers, 4, 2)
    np.testing.assert_allclose(np.linalg.norm(g, axis=-2), 1.0, rtol=1e-5)  # unit-norm columns
    hg = _channel_matrices(link._remove_nulls(h)) @ g
    gram = hg if precoding == "zf" else np.conj(np.swapaxes(hg, -1, -2)) @ hg
    off_diagonal = gram * (1 - np.eye(2))
    assert np.max(np.abs(off_diagonal)) < 1e-4 * np.max(np.abs(gram))
    # with those precoders and no noise, the receiver gets every stream back exactly
    _, x = _qpsk((8, 2, link.num_data_symbols), np.random.default_rng(2))
    out = link(tf.constant(x), h, tf.fill([8], 1e-6), tf.constant(g))
    np.testing.assert_allclose(out.x_hat.numpy(), x, atol=2e-2)


def test_rzf_precoding_approaches_zf_as_the_noise_vanishes_and_mrt_as_it_grows():
    link = MIMOOFDMLink(Phy(channel="Rayleigh", num_bs_ant=4, num_ut_ant=2, num_streams=2, precoding="rzf",
                            precoding_csi="perfect"))
    zf = MIMOOFDMLink(Phy(channel="Rayleigh", num_bs_ant=4, num_ut_ant=2, num_streams=2, precoding="zf",
                          precoding_csi="perfect"))
    sionna.phy.config.seed = 5
    h, h_sound = link.draw_channel(4)
    g_zf = zf.precoder(h, h_sound, tf.fill([4], 1.0)).numpy()
    np.testing.assert_allclose(link.precoder(h, h_sound, tf.fill([4], 1e-7)).numpy(), g_zf, atol=1e-3)
    # alpha -> infinity: G -> H^H with unit-norm columns (maximum-ratio transmission per stream)
    mrt = np.conj(np.swapaxes(_channel_matrices(link._remove_nulls(h)), -1, -2))
    mrt /= np.linalg.norm(mrt, axis=-2, keepdims=True)
    np.testing.assert_allclose(link.precoder(h, h_sound, tf.fill([4], 1e6)).numpy(), mrt, atol=1e-3)


def test_sounded_precoding_uses_the_channel_of_the_sounding_frame_as_the_receiver_estimated_it():
    # a moving terminal and a 1 ms feedback delay: the sounded precoder is the perfect one of the earlier channel,
    # which no longer diagonalises the data frame's channel
    phy = Phy(channel="TDL-A", speed_mps=30.0, snr_feedback_delay_ms=1.0, num_bs_ant=2, num_ut_ant=2, num_streams=2,
              precoding="zf", csi="perfect")
    sounded, perfect = MIMOOFDMLink(phy), MIMOOFDMLink(dataclasses.replace(phy, precoding_csi="perfect"))
    sionna.phy.config.seed = 6
    h, h_sound = sounded.draw_channel(4)
    assert sounded.lag_symbols == 28  # 1 ms of 30 kHz symbols with their cyclic prefix
    no = tf.fill([4], 0.01)
    g_sounded = sounded.precoder(h, h_sound, no).numpy()
    np.testing.assert_allclose(g_sounded, perfect.precoder(h_sound, h_sound, no).numpy(), atol=1e-5)
    hg = _channel_matrices(sounded._remove_nulls(h)) @ g_sounded
    leak = np.abs(hg * (1 - np.eye(2))).max() / np.abs(hg).max()
    assert leak > 1e-2  # the channel moved in between


def test_the_fed_back_sinr_of_an_identity_channel_is_the_siso_snr_of_each_stream():
    perfect = _uplink(2, 2, channel="AWGN", csi="perfect", snr_estimator="genie")
    ls = _uplink(2, 2, channel="AWGN", csi="ls", snr_estimator="genie")
    no = tf.fill([3], perfect.noise_variance(np.float32(8.0)))
    h, h_sound = perfect.draw_channel(3)
    expected = 10 * np.log10(0.5 / float(no[0]))  # per stream: Es = 1/2 over N0
    sinr_db = perfect.sound(h_sound, no).numpy()
    assert sinr_db.shape == (3, 2)
    np.testing.assert_allclose(sinr_db, expected, atol=1e-3)
    # LS: the estimate's error costs SINR, less on the sounding frame (each pilot RE carries one antenna at full
    # power) than on the data frame (its precoded pilots share the unit of energy with the other streams)
    sounded = ls.sound(h_sound, no).numpy()
    _, x = _qpsk((3, 2, ls.num_data_symbols), np.random.default_rng(3))
    data = ls(tf.constant(x), h, no).sinr_db.numpy()
    assert np.all(data < sounded) and np.all(sounded < expected), (data, sounded, expected)


@pytest.mark.parametrize("channel", ["Rayleigh", "TDL-C", "CDL-C"])
def test_every_antenna_pair_has_unit_average_power(channel):
    # vertically polarised omni elements at both ends: a directional pattern (38.901, up to 8 dBi) adds its gain
    # towards the clusters, a slanted (cross-polarised) element loses part of a vertically polarised field
    phy = Phy(channel=channel, num_bs_ant=4, num_ut_ant=2, num_streams=2, precoding="zf", **BARE)
    link = MIMOOFDMLink(phy)
    sionna.phy.config.seed = 7
    h, _ = link.draw_channel(2000)
    assert h.shape == (2000, 1, 2, 1, 4, 1, 12)
    power = np.mean(np.abs(h.numpy()) ** 2, axis=(0, 1, 3, 5, 6))  # [rx, tx]
    np.testing.assert_allclose(power, 1.0, rtol=0.1)  # 2000 frames


def test_tdl_antennas_are_correlated_as_the_exponential_model_says():
    rho = 0.7
    link = _uplink(2, 3, channel="TDL-A", spatial_correlation=rho, **BARE)
    sionna.phy.config.seed = 8
    h, _ = link.draw_channel(4000)
    taps = h.numpy()[:, 0, :, 0, :, 0, 5]  # one resource element: [frames, rx = 3, tx = 2]
    rx = np.einsum("fit,fjt->ij", taps, np.conj(taps)) / (taps.shape[0] * 2)
    tx = np.einsum("fri,frj->ij", taps, np.conj(taps)) / (taps.shape[0] * 3)
    np.testing.assert_allclose(np.abs(rx), rho ** np.abs(np.subtract.outer(np.arange(3), np.arange(3))), atol=0.06)
    np.testing.assert_allclose(np.abs(tx), rho ** np.abs(np.subtract.outer(np.arange(2), np.arange(2))), atol=0.06)


def test_the_semantic_link_over_two_identity_streams_halves_the_resource_elements_at_the_siso_snr():
    phy = Phy(channel="AWGN", csi="perfect", snr_estimator="genie")
    siso = AnalogLink(phy, 48)
    mimo = MIMOAnalogLink(dataclasses.replace(phy, direction="uplink", num_ut_ant=2, num_bs_ant=2, num_streams=2), 48)
    # 720 data REs per stream: 15 samples of 48 channel uses per SISO frame, 30 over two streams, no filler
    assert (siso.samples_per_frame, mimo.samples_per_frame) == (15, 30)
    assert siso.coderate_eff == mimo.coderate_eff == 1.0
    ebno_db = np.float32(4.0)
    no_siso, no_mimo = float(siso.noise_variance(ebno_db)), float(mimo.noise_variance(ebno_db))
    assert no_mimo == pytest.approx(no_siso / 2, rel=1e-6)
    features = tf.random.stateless_normal([300, 96], seed=[1, 2])
    sionna.phy.config.seed = 9
    h, h_sound = mimo.draw_channel(mimo.num_frames(300))
    out = mimo.transmit(features, h, tf.fill([mimo.num_frames(300)], no_mimo))
    sent = features.numpy().reshape(300, 48, 2)
    sent = sent / np.sqrt(np.mean(np.sum(sent ** 2, -1), -1))[:, None, None]  # unit energy per complex symbol
    error = np.mean(np.sum((out.features.numpy().reshape(300, 48, 2) - sent) ** 2, -1))
    assert error == pytest.approx(no_siso, rel=0.03)  # 14,400 symbols: 3 % is > 3 sigma
    np.testing.assert_allclose(out.snr_eff_db.numpy(), -10 * np.log10(no_siso), atol=1e-3)
    np.testing.assert_allclose(out.snr_hat_db.numpy(), -10 * np.log10(no_siso), atol=1e-3)
    fed = mimo.sound(h_sound, tf.fill([mimo.num_frames(300)], no_mimo), 300).numpy()
    assert fed.shape == (300,)
    np.testing.assert_allclose(fed, -10 * np.log10(no_siso), atol=1e-3)  # perfect CSI, genie N0


def test_a_sample_spreads_over_the_streams_first():
    link = MIMOAnalogLink(Phy(channel="AWGN", direction="uplink", num_ut_ant=2, num_bs_ant=2, num_streams=2), 48)
    frames = tf.reshape(tf.range(2 * 720, dtype=tf.float32), [1, -1])
    streams = link.to_streams(frames).numpy()
    assert streams.shape == (1, 2, 720)
    np.testing.assert_array_equal(streams[0, :, :3], [[0, 2, 4], [1, 3, 5]])
    np.testing.assert_array_equal(link.from_streams(tf.constant(streams)).numpy(), frames.numpy())


# -- the digital link over several streams ------------------------------------------------------------------

def _coded_frames(link, ebno_db: float, frames: int, seed: int = 3):
    sionna.phy.config.seed = seed
    bits = tf.cast(tf.random.stateless_uniform([frames * link.samples_per_frame, 64], [1, 2], 0, 2, tf.int32),
                   tf.float32)
    h, _ = link.draw_channel(frames)
    return bits, link.transmit(bits, h, tf.fill([frames], link.noise_variance(np.float32(ebno_db))))


@pytest.mark.parametrize("channel", ["AWGN", "TDL-A"])
def test_the_mimo_digital_link_with_one_antenna_at_each_end_decodes_exactly_as_the_siso_one(channel):
    # the linear detector with LMMSE on one stream is the SISO chain's equaliser and APP demapper: at the cliff of
    # 16-QAM rate 1/2 (4 dB), the same channel and noise draws give the same decoded bits, frame by frame
    phy = Phy(channel=channel, csi="perfect", snr_estimator="genie", num_bits_per_symbol=4, coderate=0.5)
    siso, mimo = DigitalLink(phy, 64), MIMODigitalLink(phy, 64)
    (_, a), (_, b) = _coded_frames(siso, 4.0, 12), _coded_frames(mimo, 4.0, 12)
    assert 0 < float(tf.reduce_mean(a.block_error)) < 1  # at the cliff: some frames fail, some decode
    np.testing.assert_array_equal(a.features.numpy(), b.features.numpy())
    np.testing.assert_array_equal(a.block_error.numpy(), b.block_error.numpy())


@pytest.mark.parametrize("detector", ["linear", "kbest", "ep", "ml"])
def test_every_detector_decodes_two_identity_streams_above_the_cliff_and_none_below(detector):
    # one codeword across both streams: a wrong bit order between the detector's LLRs and the codeword would fail
    phy = Phy(channel="AWGN", direction="uplink", num_ut_ant=2, num_bs_ant=2, num_streams=2, csi="perfect",
              snr_estimator="genie", num_bits_per_symbol=4, coderate=0.5, detector=detector, num_ofdm_symbols=2,
              pilot_pattern="empty")
    link = MIMODigitalLink(phy, 64)
    assert (link.n, link.k) == (2 * 120 * 4, 2 * 120 * 4 // 2)  # two streams of 2 x 60 data REs, 16-QAM
    bits, above = _coded_frames(link, 20.0, 4)
    np.testing.assert_array_equal(above.features.numpy(), bits.numpy())
    assert float(tf.reduce_max(above.block_error)) == 0.0
    _, below = _coded_frames(link, -5.0, 4)
    assert float(tf.reduce_min(below.block_error)) == 1.0


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_semantic_link_over_sounded_svd_precoding_runs_inside_a_compiled_function(jit_compile):
    # the training and evaluation paths run the link inside tf.function (with XLA by default): sounding, LS
    # estimation of the sounded channel, the SVD precoder (XLA has no complex SVD) and the data frame
    link = MIMOAnalogLink(Phy(channel="TDL-C", csi="ls", num_ut_ant=2, num_bs_ant=4, num_streams=1, precoding="svd",
                              snr_feedback_bits=4), 32)
    features = tf.random.stateless_normal([40, 64], seed=[3, 4])
    frames = link.num_frames(40)
    no = tf.fill([frames], link.noise_variance(np.float32(6.0)))
    sionna.phy.config.seed = 11
    (h, h_sound), _ = link.draw_channel(frames)
    h_t = link.ofdm._remove_nulls(h)  # the true channel: no noise drawn, the same input to both
    eager = link.ofdm._precoding_matrix(h_t, no).numpy()
    compiled = tf.function(link.ofdm._precoding_matrix, jit_compile=jit_compile)(h_t, no).numpy()
    # the same unit vector up to a phase on every resource element
    overlap = np.abs(np.sum(np.conj(eager) * compiled, axis=-2))
    np.testing.assert_allclose(overlap, 1.0, atol=1e-4)

    @tf.function(jit_compile=jit_compile)
    def run():
        channel, h_sound = link.draw_channel(frames)
        out = link.transmit(features, channel, no)
        return link.sound(h_sound, no, 40), out.features, out.snr_eff_db

    fed, received, snr_eff_db = (t.numpy() for t in run())
    assert fed.shape == (40,) and received.shape == (40, 64) and snr_eff_db.shape == (40,)
    levels = -10 + 2.5 * (np.arange(16) + 0.5)  # 4 bits over (-10, 30) dB: one stream feeds back its level
    assert np.all(np.isfinite(received)) and np.abs(fed[:, None] - levels).min(axis=1).max() < 1e-4


def test_the_svd_precoder_changes_smoothly_where_the_channel_does():
    # a singular vector's phase is arbitrary: fixed so that its first entry is real, the precoder of neighbouring
    # subcarriers of a flat (Rayleigh block-fading) channel is the same vector, so LS interpolation between pilots holds
    link = MIMOOFDMLink(Phy(channel="Rayleigh", num_bs_ant=4, num_ut_ant=2, num_streams=1, precoding="svd",
                            precoding_csi="perfect", csi="perfect"))
    sionna.phy.config.seed = 12
    h, h_sound = link.draw_channel(4)
    g = link.precoder(h, h_sound, tf.fill([4], 0.1)).numpy()[..., 0]  # [frames, symbols, subcarriers, tx]
    np.testing.assert_allclose(g, np.broadcast_to(g[:, :1, :1], g.shape), atol=1e-5)
    assert np.allclose(np.imag(g[..., 0]), 0, atol=1e-6) and np.all(np.real(g[..., 0]) >= 0)


def test_a_precoded_stream_with_ls_csi_beats_a_single_antenna_on_a_moving_cdl_channel():
    # eigen-beamforming from two antennas to four with LS estimation of the precoded channel: more SNR per stream
    # than one antenna to four (same total power); a precoder whose phase jumped between OFDM symbols as the channel
    # moves would leave the receiver's interpolated estimate wrong (a mean squared error near 1)
    kwargs = dict(channel="CDL-C", speed_mps=3.0, csi="ls", direction="uplink", num_bs_ant=4, snr_estimator="genie")
    one = MIMOOFDMLink(Phy(num_ut_ant=1, **kwargs))
    two = MIMOOFDMLink(Phy(num_ut_ant=2, num_streams=1, precoding="svd", precoding_csi="perfect", **kwargs))
    _, x = _qpsk((64, 1, one.num_data_symbols), np.random.default_rng(4))
    sinr = {}
    for name, link in (("one", one), ("two", two)):
        sionna.phy.config.seed = 13
        h, h_sound = link.draw_channel(64)
        no = tf.fill([64], link.noise_variance(np.float32(0.0)))
        out = link(tf.constant(x), h, no, link.precoder(h, h_sound, no))
        sinr[name] = 10 * np.log10(np.mean(1 / np.mean(np.abs(out.x_hat.numpy() - x) ** 2, axis=(1, 2))))
    assert sinr["two"] > sinr["one"] + 1.0, sinr
