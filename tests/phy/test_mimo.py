"""The single-user MIMO OFDM link (semcom_sim.phy.mimo) against closed forms: an identity channel with two
streams is two SISO links, the multi-stream Eb/N0 accounting is Sionna's, receive diversity and zero forcing
give the textbook bit error rates of uncoded QPSK over i.i.d. Rayleigh fading."""

import math

import numpy as np
import pytest
import sionna.phy
import tensorflow as tf
from scipy.optimize import brentq
from sionna.phy.utils import ebnodb2no

from semcom_sim import Phy
from semcom_sim.phy import OFDMLink, ebno_db_to_no
from semcom_sim.phy.mimo import MIMOOFDMLink

# one OFDM symbol of 12 subcarriers, no pilots, guards, DC or cyclic prefix: Eb counts the data alone, as
# textbook curves do, and every frame is one independent block fade
BARE = dict(fft_size=12, num_ofdm_symbols=1, cyclic_prefix_length=0, num_guard_carriers=(0, 0), dc_null=False,
            pilot_pattern="empty", snr_estimator="genie", csi="perfect")


def _qpsk(shape, rng):
    bits = rng.integers(0, 2, shape + (2,))
    return bits, ((1 - 2 * bits[..., 0]) + 1j * (1 - 2 * bits[..., 1])).astype(np.complex64) / np.sqrt(2)


@pytest.mark.parametrize("equalizer", ["lmmse", "zf"])
def test_an_identity_2x2_channel_with_two_streams_is_two_siso_awgn_links(equalizer):
    phy = Phy(channel="AWGN", csi="perfect")
    link, siso = MIMOOFDMLink(phy, 2, 2, equalizer), OFDMLink(phy)
    assert link.num_data_symbols == siso.num_data_symbols  # orthogonal pilots: the same data REs per stream
    no = float(link.noise_variance(np.float32(6.0)))
    no_siso = float(ebno_db_to_no(np.float32(6.0), 2, 1.0, siso.resource_grid))
    assert no == pytest.approx(no_siso / 2, rel=1e-6)  # two streams share one unit of energy
    sionna.phy.config.seed = 1
    _, x = _qpsk((256, 2, link.num_data_symbols), np.random.default_rng(0))
    out = link(tf.constant(x), link.draw_channel(256), tf.fill([256], no))
    error = np.mean(np.abs(out.x_hat.numpy() - x) ** 2, axis=(0, 2))
    # each stream's error is the SISO link's noise at the same Eb/N0: 256 x 2 x ~900 samples, 1 % is > 5 sigma
    np.testing.assert_allclose(error, no_siso, rtol=0.01)
    np.testing.assert_allclose(out.no_eff.numpy(), no_siso, rtol=1e-4)
    np.testing.assert_allclose(out.sinr_db.numpy(), -10 * np.log10(no_siso), atol=1e-3)


@pytest.mark.parametrize("streams, rx", [(1, 1), (2, 2), (2, 4), (4, 4)])
def test_the_multi_stream_eb_n0_accounting_is_sionnas_ebnodb2no(streams, rx):
    phy = Phy(channel="AWGN", csi="ls")
    link = MIMOOFDMLink(phy, streams, rx)
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
        out = link(x, link.draw_channel(batch), tf.fill([batch], no))
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
    link = MIMOOFDMLink(Phy(channel="Rayleigh", **BARE), streams, rx, equalizer)
    target = brentq(lambda e: _mrc_ber(e, diversity) - 1e-3, -10.0, 40.0)  # 11.1 dB (L = 2), 24.0 dB (L = 1)
    # theory 0.3 dB either side: 1.14e-3 / 0.88e-3 (L = 2), 1.07e-3 / 0.93e-3 (L = 1); each frame one fade
    below, above = (_mimo_qpsk_ber(link, target + d, num_frames=frames, seed=s) for d, s in ((-0.3, 1), (0.3, 2)))
    assert below > 1e-3 > above, (target, below, above)


def test_ls_csi_on_the_orthogonal_pilots_separates_the_streams():
    phy = Phy(channel="Rayleigh", csi="ls", interpolation="lin")
    perfect, ls = MIMOOFDMLink(Phy(channel="Rayleigh", csi="perfect"), 2, 4), MIMOOFDMLink(phy, 2, 4)
    no = float(ls.noise_variance(np.float32(15.0)))
    _, x = _qpsk((128, 2, ls.num_data_symbols), np.random.default_rng(1))
    errors = {}
    for name, link in (("perfect", perfect), ("ls", ls)):
        sionna.phy.config.seed = 4  # the same channels and noise for both receivers
        out = link(tf.constant(x), link.draw_channel(128), tf.fill([128], no))
        errors[name] = float(np.mean(np.abs(out.x_hat.numpy() - x) ** 2))
    # estimated on noisy pilots, the channel costs some SNR, but the two streams stay separated
    assert errors["perfect"] < errors["ls"] < 3 * errors["perfect"] < 0.05, errors


@pytest.mark.parametrize("kwargs, message", [
    ({"phy": Phy(channel="TDL-A")}, "phy.channel: 'TDL-A' has no multi-antenna model here"),
    ({"num_rx_ant": 1}, "num_rx_ant: 1 receive antennas cannot separate 2 streams"),
    ({"equalizer": "ml"}, "equalizer: 'ml' is not one of lmmse, zf"),
])
def test_bad_configurations_are_one_line(kwargs, message):
    args = {"phy": Phy(channel="AWGN"), "num_tx_ant": 2, "num_rx_ant": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        MIMOOFDMLink(args.pop("phy"), **args)
