"""Keras semantic layers: shapes, the adaptive module's SNR dependence, KL, serialisation."""

import keras
import numpy as np
import pytest
from keras import ops

from semcom_sim.semantic import (
    ChannelAdaptiveModule,
    ConvBackbone,
    DenseBackbone,
    GaussianHead,
    GaussianSampler,
    SemanticDecoder,
    SemanticEncoder,
    TextBackbone,
    gaussian_kl,
)


def test_adaptive_module_weights_depend_on_the_snr_input():
    keras.utils.set_random_seed(0)
    module = ChannelAdaptiveModule(hidden_ratio=0.5)
    features = np.random.default_rng(0).normal(size=(8, 32)).astype("float32")
    low = module.weights_for(features, np.full((8, 1), -5.0, "float32"))
    high = module.weights_for(features, np.full((8, 1), 20.0, "float32"))
    assert low.shape == (8, 32)
    assert np.all((np.asarray(low) > 0) & (np.asarray(low) < 1))
    assert np.max(np.abs(np.asarray(low) - np.asarray(high))) > 1e-3
    out = module(features, np.full((8, 1), 20.0, "float32"))
    np.testing.assert_allclose(np.asarray(out), features * np.asarray(high), rtol=1e-5)


def test_adaptive_module_reweights_channels_of_a_feature_map():
    module = ChannelAdaptiveModule()
    x = np.random.default_rng(1).normal(size=(4, 5, 5, 16)).astype("float32")
    snr = np.zeros((4, 1), "float32")
    y = np.asarray(module(x, snr))
    w = np.asarray(module.weights_for(x, snr))
    np.testing.assert_allclose(y, x * w[:, None, None, :], rtol=1e-5)


def test_encoder_shapes_and_sampler_behaviour():
    encoder = SemanticEncoder(ConvBackbone(filters=(8, 16)), latent_dim=24)
    mu, logvar = encoder(np.zeros((3, 28, 28, 1), "float32"))
    assert mu.shape == logvar.shape == (3, 24)
    # any image size and channel count: 32x32 RGB through two stride-2 convolutions -> 8 x 8 x 16 features
    rgb = SemanticEncoder(ConvBackbone(filters=(8, 16)), latent_dim=24)
    assert rgb(np.zeros((2, 32, 32, 3), "float32"))[0].shape == (2, 24)
    assert rgb.head.mu.kernel.shape == (8 * 8 * 16, 24)
    sampler = GaussianSampler(seed=1)
    mu = ops.ones((1000, 24))
    logvar = ops.full((1000, 24), np.log(0.25))
    assert np.array_equal(np.asarray(sampler(mu, logvar, training=False)), np.asarray(mu))
    z = np.asarray(sampler(mu, logvar, training=True))
    assert abs(z.std() - 0.5) < 0.02 and abs(z.mean() - 1.0) < 0.02


def test_gaussian_kl_matches_the_closed_form():
    rng = np.random.default_rng(2)
    mu = rng.normal(size=(5, 7)).astype("float32")
    logvar = rng.normal(size=(5, 7)).astype("float32")
    var = np.exp(logvar)
    expected = 0.5 * np.sum(mu ** 2 + var - np.log(var) - 1, axis=-1)
    np.testing.assert_allclose(np.asarray(gaussian_kl(mu, logvar)), expected, rtol=1e-5)
    assert np.allclose(np.asarray(gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3)))), 0.0)


def test_decoder_sees_the_snr():
    keras.utils.set_random_seed(3)
    decoder = SemanticDecoder(num_classes=10, units=(16,))
    features = np.random.default_rng(3).normal(size=(4, 12)).astype("float32")
    a = np.asarray(decoder(features, np.zeros((4, 2), "float32")))
    b = np.asarray(decoder(features, np.full((4, 2), 20.0, "float32")))
    assert a.shape == (4, 10)
    assert np.max(np.abs(a - b)) > 1e-4


@pytest.mark.parametrize("layer", [ChannelAdaptiveModule(hidden_ratio=0.3, snr_scale_db=5.0),
                                   SemanticEncoder(ConvBackbone(filters=(4, 8)), latent_dim=16),
                                   SemanticEncoder(DenseBackbone(units=(8,)), latent_dim=4), GaussianHead(6),
                                   SemanticDecoder(num_classes=3, units=(8, 4)), GaussianSampler(seed=4)])
def test_layers_round_trip_through_get_config(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_text_encoder_shapes_and_padding_mask():
    keras.utils.set_random_seed(5)
    encoder = SemanticEncoder(TextBackbone(vocab_size=50, embedding_dim=8, filters=(12,)), latent_dim=16)
    tokens = np.array([[5, 6, 7, 0, 0, 0], [5, 6, 7, 0, 0, 0], [0, 0, 0, 0, 0, 0]], np.int32)
    mu, logvar = encoder(tokens)
    assert mu.shape == logvar.shape == (3, 16)
    # more padding does not change the code of a text: padding never wins the max
    longer = np.array([[5, 6, 7] + [0] * 20], np.int32)
    np.testing.assert_allclose(np.asarray(encoder(longer)[0])[0], np.asarray(mu)[0], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(mu)))
    clone = SemanticEncoder.from_config(encoder.get_config())
    assert clone.get_config() == encoder.get_config()
    clone(tokens)
    clone.set_weights(encoder.get_weights())
    np.testing.assert_allclose(np.asarray(clone(tokens)[0]), np.asarray(mu), rtol=1e-6)
