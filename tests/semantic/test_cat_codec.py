"""The channel-aware transformer codec: shapes, config round trips, the nested prefix, the mask token,
the SNR side input, and gradients through the codec and a link."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from semcom_sim.phy.analog import FeatureMapper
from semcom_sim.semantic.cat import CATDecoder, CATEncoder, TransformerLayer

N = 16  # channel uses
TOKENS = 4  # 4 channel uses (8 real features) per token


def _pair(**kwargs):
    encoder = CATEncoder(N, num_tokens=TOKENS, width=16, num_layers=2, num_heads=2, **kwargs)
    decoder = CATDecoder(N, output_dim=24, num_tokens=TOKENS, width=16, num_layers=2, num_heads=2, **kwargs)
    return encoder, decoder


def _inputs(batch=5):
    features = tf.random.stateless_normal((batch, 24), seed=(1, 2))
    snr = tf.constant(np.linspace(-5, 20, batch)[:, None], tf.float32)
    return features, snr


def test_shapes_and_a_clone_from_config_gives_the_same_outputs():
    encoder, decoder = _pair()
    features, snr = _inputs()
    length = tf.constant([2.0, 4.0, 8.0, 12.0, 16.0])
    sent = encoder(features, snr, length)
    rx_snr = tf.concat([snr, snr - 1.0], axis=-1)  # the receiver's two estimates
    out = decoder(sent, rx_snr, length)
    assert sent.shape == (5, 2 * N) and out.shape == (5, 24)
    for layer, args, ref in ((encoder, (features, snr, length), sent), (decoder, (sent, rx_snr, length), out)):
        clone = type(layer).from_config(layer.get_config())
        clone(*args)
        clone.set_weights(layer.get_weights())
        np.testing.assert_allclose(clone(*args).numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_tokens_carry_channel_uses_in_order_and_unsent_tokens_are_masked():
    encoder, decoder = _pair()
    features, snr = _inputs(2)
    received = encoder(features, snr).numpy()
    length = tf.constant([4.0, 4.0])  # only the first token (channel uses 0..3) is sent
    rx_snr = tf.concat([snr, snr], axis=-1)
    base = decoder(tf.constant(received), rx_snr, length).numpy()
    garbage = received.copy()
    garbage[:, 8:] = 123.0  # what arrives in unsent slots must not matter ...
    np.testing.assert_allclose(decoder(tf.constant(garbage), rx_snr, length).numpy(), base, rtol=1e-5, atol=1e-5)
    changed = received.copy()
    changed[:, :8] += 1.0  # ... what arrives in sent slots must
    assert np.abs(decoder(tf.constant(changed), rx_snr, length).numpy() - base).max() > 1e-3
    # a partly sent token (2 of its 4 channel uses) is kept: the PHY's length mask zero-fills the rest
    partial = decoder(tf.constant(received), rx_snr, tf.constant([6.0, 6.0])).numpy()
    assert np.abs(partial - base).max() > 1e-3


def test_the_snr_and_the_length_change_what_is_sent():
    encoder, _ = _pair()
    features, _ = _inputs(3)
    low = encoder(features, tf.fill((3, 1), -5.0), tf.fill((3,), 16.0)).numpy()
    high = encoder(features, tf.fill((3, 1), 20.0), tf.fill((3,), 16.0)).numpy()
    short = encoder(features, tf.fill((3, 1), 20.0), tf.fill((3,), 4.0)).numpy()
    assert np.abs(low - high).max() > 1e-4 and np.abs(short - high).max() > 1e-4


def test_gradients_reach_every_weight_through_power_normalisation_and_noise():
    encoder, decoder = _pair()
    mapper = FeatureMapper(num_channel_uses=N, num_data_symbols=4 * N)
    features, snr = _inputs(6)
    length = tf.constant([4.0, 8.0, 16.0, 4.0, 8.0, 16.0])
    with tf.GradientTape(persistent=True) as tape:
        symbols = mapper.to_symbols(encoder(features, snr, length), length)
        noisy = symbols + tf.complex(0.1, 0.0) * tf.complex(*tf.unstack(tf.random.stateless_normal((2, 6, N), (3, 4))))
        received = tf.reshape(tf.stack([tf.math.real(noisy), tf.math.imag(noisy)], -1), (6, 2 * N))
        mask = tf.cast(tf.range(2 * N)[None] < 2 * tf.cast(length, tf.int32)[:, None], tf.float32)
        out = decoder(received * mask, tf.concat([snr, snr], -1), length)
        loss = tf.reduce_mean(tf.square(out - features))
    for layer in (encoder, decoder):
        grads = tape.gradient(loss, layer.trainable_variables)
        names = [v.path for v, g in zip(layer.trainable_variables, grads) if g is None or not np.any(g.numpy())]
        assert not names, names
    sent = np.abs(symbols.numpy()) ** 2
    for row, L in zip(sent, length.numpy().astype(int)):
        assert row[:L].mean() == pytest.approx(1.0, rel=1e-4) and np.all(row[L:] == 0)


def test_bad_geometry_fails_in_one_sentence():
    with pytest.raises(ValueError, match="num_tokens=5 must divide num_channel_uses=16"):
        CATEncoder(16, num_tokens=5)
    with pytest.raises(ValueError, match="output_dim must be >= 1"):
        CATDecoder(16, output_dim=0)
    with pytest.raises(ValueError, match="not a multiple of num_heads=3"):
        TransformerLayer(num_heads=3).build((None, 4, 16))
