"""The digital separation baseline: uniform quantiser, bits <-> features, 5G LDPC + QAM over the OFDM link."""

import numpy as np
import pytest
import sionna.phy
import tensorflow as tf
from sionna.phy.utils import ebnodb2no

from semcom_sim import Phy
from semcom_sim.phy.base import Link, LinkOutput
from semcom_sim.phy.digital import DigitalLink
from semcom_sim.semantic.quantizer import UniformQuantizer, bits_to_features, features_to_bits

BITS_PER_SAMPLE = 128


# -- quantiser ------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_bits", [1, 3, 8])
def test_quantizer_levels_and_the_bits_round_trip_exactly(num_bits):
    levels = 2**num_bits
    expected = -1 + (2 * np.arange(levels) + 1) / levels
    x = np.random.default_rng(0).uniform(-1, 1, size=(64, 10)).astype(np.float32)
    q = UniformQuantizer(num_bits)(x).numpy()
    assert q.dtype == np.float32 and q.shape == x.shape
    assert np.all(np.isin(q, expected.astype(np.float32)))
    assert np.all(np.abs(q - x) <= 1 / levels + 1e-6)  # half a step
    bits = features_to_bits(q, num_bits).numpy()
    assert bits.shape == (64, 10 * num_bits) and set(np.unique(bits)) <= {0.0, 1.0}
    np.testing.assert_array_equal(bits, features_to_bits(x, num_bits).numpy())
    np.testing.assert_array_equal(bits_to_features(bits, num_bits).numpy(), q)
    # Every level maps to its index in natural binary, MSB first, and back.
    grid = expected.astype(np.float32)[None]
    index_bits = (np.arange(levels)[:, None] >> np.arange(num_bits - 1, -1, -1)) & 1
    np.testing.assert_array_equal(features_to_bits(grid, num_bits).numpy().reshape(levels, num_bits), index_bits)
    np.testing.assert_array_equal(bits_to_features(features_to_bits(grid, num_bits), num_bits).numpy(), grid)


def test_quantizer_has_a_straight_through_gradient_and_clips_outside_the_range():
    quantizer = UniformQuantizer(2)
    x = tf.Variable([[-3.0, -1.0, -0.1, 0.3, 1.0, 7.0]])
    with tf.GradientTape() as tape:
        y = quantizer(x)
        loss = tf.reduce_sum(y * tf.range(6, dtype=tf.float32))
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [np.arange(6, dtype=np.float32)])
    np.testing.assert_array_equal(y.numpy(), [[-0.75, -0.75, -0.25, 0.25, 0.75, 0.75]])
    restored = UniformQuantizer.from_config(quantizer.get_config())
    assert restored.num_bits == 2


# -- the digital link on AWGN ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def awgn_link():
    return DigitalLink(Phy(channel="AWGN", csi="perfect", num_bits_per_symbol=4, coderate=0.5), BITS_PER_SAMPLE)


def _send(link, batch, ebno_db, seed):
    sionna.phy.config.seed = seed
    bits = tf.constant(np.random.default_rng(seed).integers(0, 2, size=(batch, BITS_PER_SAMPLE)), tf.float32)
    num_frames = link.num_frames(batch)
    no = link.noise_variance(np.full([num_frames], ebno_db, np.float32))
    h, _ = link.draw_channel(num_frames)
    return bits, link.transmit(bits, h, no)


def _frame_error_rate(link, num_frames, ebno_db, seed):
    _, out = _send(link, num_frames * link.samples_per_frame, ebno_db, seed)
    return float(np.mean(out.block_error.numpy()[:: link.samples_per_frame]))


def test_code_sizes_follow_the_grid(awgn_link):
    num_data_symbols = awgn_link.phy.num_data_symbols
    assert num_data_symbols == 720  # 60 effective subcarriers x 12 data OFDM symbols
    assert awgn_link.n == num_data_symbols * 4
    assert awgn_link.k == round(awgn_link.n * 0.5) == 1440
    assert awgn_link.samples_per_frame == 1440 // BITS_PER_SAMPLE == 11
    assert awgn_link.num_frames(23) == 3


def test_noise_variance_counts_eb_against_the_bits_that_carry_samples(awgn_link):
    rg = awgn_link.resource_grid
    ebno_db = np.array([-2.0, 4.0, 12.0], np.float32)
    r_eff = awgn_link.samples_per_frame * BITS_PER_SAMPLE / awgn_link.n
    no = awgn_link.noise_variance(ebno_db).numpy()
    np.testing.assert_allclose(no, ebnodb2no(ebno_db, 4, r_eff, rg).numpy(), rtol=1e-6)
    overhead = rg.num_ofdm_symbols * (1 + rg.cyclic_prefix_length / rg.fft_size) \
        * rg.num_effective_subcarriers / rg.num_data_symbols
    np.testing.assert_allclose(no, overhead / (4 * r_eff * 10 ** (ebno_db / 10)), rtol=1e-5)


def test_bits_decode_without_errors_at_high_ebno_and_the_filler_is_dropped(awgn_link):
    batch = 2 * awgn_link.samples_per_frame + 3  # the last frame is partly filled
    bits, out = _send(awgn_link, batch, 12.0, seed=3)
    assert isinstance(out, LinkOutput) and isinstance(awgn_link, Link)
    assert out.features.shape == (batch, BITS_PER_SAMPLE) and out.features.dtype == tf.float32
    np.testing.assert_array_equal(out.features.numpy(), bits.numpy())
    np.testing.assert_array_equal(out.block_error.numpy(), np.zeros(batch))


@pytest.mark.slow
def test_frame_errors_fall_off_a_cliff(awgn_link):
    # Measured: FER 1 up to ~3.5 dB, 0.5 near 4.2 dB, 0 from 5 dB (16-QAM, r = 1/2, k = 1440, 20 BP iterations).
    assert _frame_error_rate(awgn_link, 30, -2.0, seed=4) == 1.0
    assert _frame_error_rate(awgn_link, 30, 2.5, seed=5) >= 0.95
    assert _frame_error_rate(awgn_link, 30, 6.0, seed=6) <= 0.05
    _, out = _send(awgn_link, 30, -2.0, seed=7)
    assert np.mean(out.features.numpy() != 0) > 0  # hard decisions, not a constant


def test_bits_per_sample_larger_than_a_frame_is_refused(awgn_link):
    with pytest.raises(ValueError, match="exceeds the k=1440"):
        DigitalLink(awgn_link.phy, awgn_link.k + 1)


@pytest.mark.slow
def test_a_tdl_link_with_ls_csi_returns_per_sample_outputs_in_a_tf_function():
    sionna.phy.config.seed = 8
    link = DigitalLink(Phy(channel="TDL-A", csi="ls", num_bits_per_symbol=2, coderate=0.5), 100, num_bp_iterations=5)
    batch = 9
    num_frames = link.num_frames(batch)
    bits = tf.cast(tf.random.uniform([batch, 100], 0, 2, tf.int32), tf.float32)

    @tf.function(jit_compile=False)
    def step(bits, ebno_db):
        no = link.noise_variance(ebno_db)
        h, h_sound = link.draw_channel(num_frames)
        return link.sound(h_sound, no, batch), link.transmit(bits, h, no)

    snr_tx_db, out = step(bits, tf.fill([num_frames], 10.0))
    assert snr_tx_db.shape == (batch,) and snr_tx_db.dtype == tf.float32
    assert out.features.shape == (batch, 100)
    for value in out:
        assert value.dtype == tf.float32
        assert np.all(np.isfinite(value.numpy()))
    for value in out[1:]:
        assert value.shape == (batch,)
    assert set(np.unique(out.features.numpy())) <= {0.0, 1.0}
    assert set(np.unique(out.block_error.numpy())) <= {0.0, 1.0}
