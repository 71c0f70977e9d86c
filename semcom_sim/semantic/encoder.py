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


@keras.saving.register_keras_serializable(package="semcom_sim")
class TextEncoder(keras.layers.Layer):
    """Text encoder with a Gaussian output: token ids -> (mean, log-variance) of the latent.

    Word embeddings, width-3 1-D convolutions (ReLU), a max over the non-padding positions, then two
    dense heads. Token id 0 is padding.

    Input: ``tokens`` [batch, max_len] int32. Output: ``(mu, logvar)``, each [batch, latent_dim] float32.

    :param latent_dim: real features per sample (twice the complex channel uses).
    :param vocab_size: number of token ids (padding and unknown included).
    :param embedding_dim: size of the word embeddings.
    :param filters: filters of the convolutions.
    """

    def __init__(self, latent_dim: int, vocab_size: int, embedding_dim: int = 64,
                 filters: tuple[int, ...] = (128, 128), **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.filters = tuple(int(f) for f in filters)
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim)
        self.convs = [keras.layers.Conv1D(f, 3, padding="same", activation="relu") for f in self.filters]
        self.mu = keras.layers.Dense(self.latent_dim)
        self.logvar = keras.layers.Dense(self.latent_dim, bias_initializer=keras.initializers.Constant(-4.0))

    def build(self, tokens_shape):
        self.embedding.build(tokens_shape)
        shape = tuple(tokens_shape) + (self.embedding_dim,)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        self.mu.build((None, shape[-1]))
        self.logvar.build((None, shape[-1]))

    def call(self, tokens, training=False):
        mask = ops.cast(ops.not_equal(tokens, 0), "float32")[..., None]
        h = self.embedding(tokens)
        for conv in self.convs:
            h = conv(h)
        # max over real words only (ReLU outputs are >= 0, so masked positions at -1 never win)
        h = ops.max(h * mask - (1.0 - mask), axis=1)
        h = ops.maximum(h, 0.0)  # an all-padding text pools to zeros
        return self.mu(h), ops.clip(self.logvar(h), -12.0, 6.0)

    def compute_output_shape(self, tokens_shape):
        return (tokens_shape[0], self.latent_dim), (tokens_shape[0], self.latent_dim)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "filters": self.filters}


@keras.saving.register_keras_serializable(package="semcom_sim")
class FeatureEncoder(keras.layers.Layer):
    """Dense channel encoder with a Gaussian output for a feature vector: the teacher-over-channel
    reference sends a frozen teacher's features through the link with this as its only encoder.

    Input: ``features`` [batch, feature_dim] float32. Output: ``(mu, logvar)``, each [batch, latent_dim].

    :param latent_dim: real features per sample (twice the complex channel uses).
    :param units: widths of the hidden dense layers (ReLU).
    """

    def __init__(self, latent_dim: int, units: tuple[int, ...] = (256,), **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.units = tuple(int(u) for u in units)
        self.norm = keras.layers.LayerNormalization()
        self.hidden = [keras.layers.Dense(u, activation="relu") for u in self.units]
        self.mu = keras.layers.Dense(self.latent_dim)
        self.logvar = keras.layers.Dense(self.latent_dim, bias_initializer=keras.initializers.Constant(-4.0))

    def build(self, features_shape):
        shape = (None, int(features_shape[-1]))
        self.norm.build(shape)
        for dense in self.hidden:
            dense.build(shape)
            shape = (None, dense.units)
        self.mu.build(shape)
        self.logvar.build(shape)

    def call(self, features, training=False):
        h = self.norm(features)
        for dense in self.hidden:
            h = dense(h)
        return self.mu(h), ops.clip(self.logvar(h), -12.0, 6.0)

    def compute_output_shape(self, features_shape):
        return (features_shape[0], self.latent_dim), (features_shape[0], self.latent_dim)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "units": self.units}
