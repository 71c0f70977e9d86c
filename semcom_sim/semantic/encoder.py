"""The lightweight stochastic semantic encoder."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="semcom_sim")
class SemanticEncoder(keras.layers.Layer):
    """CNN encoder with a Gaussian output: images -> (mean, log-variance) of the latent.

    Input: ``images`` [batch, height, width, channels] float32 in [0, 1].
    Output: ``(mu, logvar)``, each [batch, latent_dim] float32.

    :param latent_dim: real features per sample (twice the complex channel uses).
    :param filters: filters of the stride-2 3x3 convolutions (each followed by batch norm and ReLU).
    """

    def __init__(self, latent_dim: int, filters: tuple[int, ...] = (32, 64, 64), **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.filters = tuple(int(f) for f in filters)
        self.convs = [keras.layers.Conv2D(f, 3, strides=2, padding="same", use_bias=False) for f in self.filters]
        self.norms = [keras.layers.BatchNormalization() for _ in self.filters]
        self.flatten = keras.layers.Flatten()
        self.mu = keras.layers.Dense(self.latent_dim)
        self.logvar = keras.layers.Dense(self.latent_dim, bias_initializer=keras.initializers.Constant(-4.0))

    def build(self, images_shape):
        shape = tuple(images_shape)
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
        shape = self.flatten.compute_output_shape(shape)
        self.mu.build(shape)
        self.logvar.build(shape)

    def call(self, images, training=False):
        h = images
        for conv, norm in zip(self.convs, self.norms):
            h = ops.relu(norm(conv(h), training=training))
        h = self.flatten(h)
        return self.mu(h), ops.clip(self.logvar(h), -12.0, 6.0)

    def compute_output_shape(self, images_shape):
        return (images_shape[0], self.latent_dim), (images_shape[0], self.latent_dim)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters}


@keras.saving.register_keras_serializable(package="semcom_sim")
class GaussianSampler(keras.layers.Layer):
    """Reparameterised sample ``z = mu + exp(logvar / 2) * eps`` while training, ``mu`` otherwise.

    Input: ``mu``, ``logvar`` [batch, dim] float32. Output: ``z`` [batch, dim] float32.

    :param seed: seed of the layer's own random stream.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mu, logvar, training=False):
        if not training:
            return mu
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        return mu + ops.exp(0.5 * logvar) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in nats per sample: [batch, dim] -> [batch]."""
    return 0.5 * ops.sum(ops.square(mu) + ops.exp(logvar) - logvar - 1.0, axis=-1)
