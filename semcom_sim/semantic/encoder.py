"""The semantic encoder: a backbone (images, text or feature vectors -> a feature vector) followed by
one Gaussian head (-> mean and log-variance of the latent), and the reparameterised sampler.

A researcher's own backbone is any registered Keras layer that maps a batch of inputs to
``[batch, ...]`` features (flattened by :class:`SemanticEncoder`); see ``model.backbone``.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["ConvBackbone", "TextBackbone", "DenseBackbone", "GaussianHead", "SemanticEncoder", "GaussianSampler",
           "gaussian_kl"]


@keras.saving.register_keras_serializable(package="semcom_sim")
class ConvBackbone(keras.layers.Layer):
    """Image backbone: stride-2 3x3 convolutions, each followed by batch norm and ReLU, then flattened.

    Input: ``images`` [batch, height, width, channels] float32 in [0, 1] (any size and channel count).
    Output: features [batch, ceil(height / 2^L) * ceil(width / 2^L) * filters[-1]] float32.

    :param filters: filters of the convolutions (``L = len(filters)`` halvings of the image).
    """

    def __init__(self, filters: tuple[int, ...] = (32, 64, 64), **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.convs = [keras.layers.Conv2D(f, 3, strides=2, padding="same", use_bias=False) for f in self.filters]
        self.norms = [keras.layers.BatchNormalization() for _ in self.filters]
        self.flatten = keras.layers.Flatten()

    def build(self, images_shape):
        shape = tuple(images_shape)
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)

    def call(self, images, training=False):
        h = images
        for conv, norm in zip(self.convs, self.norms):
            h = ops.relu(norm(conv(h), training=training))
        return self.flatten(h)

    def compute_output_shape(self, images_shape):
        shape = tuple(images_shape)
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return self.flatten.compute_output_shape(shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="semcom_sim")
class TextBackbone(keras.layers.Layer):
    """Text backbone: word embeddings, width-3 1-D convolutions (ReLU), a max over the non-padding
    positions. Token id 0 is padding.

    Input: ``tokens`` [batch, max_len] int32. Output: features [batch, filters[-1]] float32.

    :param vocab_size: number of token ids (padding and unknown included).
    :param embedding_dim: size of the word embeddings.
    :param filters: filters of the convolutions.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, filters: tuple[int, ...] = (128, 128), **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.filters = tuple(int(f) for f in filters)
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim)
        self.convs = [keras.layers.Conv1D(f, 3, padding="same", activation="relu") for f in self.filters]

    def build(self, tokens_shape):
        self.embedding.build(tokens_shape)
        shape = tuple(tokens_shape) + (self.embedding_dim,)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)

    def call(self, tokens, training=False):
        mask = ops.cast(ops.not_equal(tokens, 0), "float32")[..., None]
        h = self.embedding(tokens)
        for conv in self.convs:
            h = conv(h)
        # max over real words only (ReLU outputs are >= 0, so masked positions at -1 never win)
        h = ops.max(h * mask - (1.0 - mask), axis=1)
        return ops.maximum(h, 0.0)  # an all-padding text pools to zeros

    def compute_output_shape(self, tokens_shape):
        return (tokens_shape[0], self.filters[-1])

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "filters": self.filters}


@keras.saving.register_keras_serializable(package="semcom_sim")
class DenseBackbone(keras.layers.Layer):
    """Feature-vector backbone: layer norm, then dense layers (ReLU). The teacher-over-channel
    reference reads a frozen teacher's features through it.

    Input: ``features`` [batch, feature_dim] float32. Output: [batch, units[-1]] (the normalised input
    if ``units`` is empty).

    :param units: widths of the hidden dense layers.
    """

    def __init__(self, units: tuple[int, ...] = (256,), **kwargs):
        super().__init__(**kwargs)
        self.units = tuple(int(u) for u in units)
        self.norm = keras.layers.LayerNormalization()
        self.hidden = [keras.layers.Dense(u, activation="relu") for u in self.units]

    def build(self, features_shape):
        shape = (None, int(features_shape[-1]))
        self.norm.build(shape)
        for dense in self.hidden:
            dense.build(shape)
            shape = (None, dense.units)

    def call(self, features, training=False):
        h = self.norm(features)
        for dense in self.hidden:
            h = dense(h)
        return h

    def compute_output_shape(self, features_shape):
        return (features_shape[0], self.units[-1] if self.units else features_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="semcom_sim")
class GaussianHead(keras.layers.Layer):
    """The Gaussian output of every encoder: features -> mean and log-variance of the latent.

    Input: features [batch, width] float32. Output: ``(mu, logvar)``, each [batch, latent_dim] float32;
    the log-variance is clipped to [-12, 6] and starts near -4 (bias initialiser), a nearly
    deterministic code.

    :param latent_dim: real features per sample (twice the complex channel uses).
    """

    def __init__(self, latent_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.mu = keras.layers.Dense(self.latent_dim)
        self.logvar = keras.layers.Dense(self.latent_dim, bias_initializer=keras.initializers.Constant(-4.0))

    def build(self, features_shape):
        self.mu.build(features_shape)
        self.logvar.build(features_shape)

    def call(self, features):
        return self.mu(features), ops.clip(self.logvar(features), -12.0, 6.0)

    def compute_output_shape(self, features_shape):
        return (features_shape[0], self.latent_dim), (features_shape[0], self.latent_dim)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="semcom_sim")
class SemanticEncoder(keras.layers.Layer):
    """The encoder part: ``backbone`` (flattened to [batch, width]) -> :class:`GaussianHead`.

    Input: whatever the backbone reads (images, token ids, feature vectors). Output: ``(mu, logvar)``,
    each [batch, latent_dim] float32.

    :param backbone: a Keras layer (or its serialised config) mapping inputs to [batch, ...] features.
    :param latent_dim: real features per sample (twice the complex channel uses).
    """

    def __init__(self, backbone: keras.layers.Layer | dict, latent_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone if isinstance(backbone, keras.layers.Layer) else keras.saving.deserialize_keras_object(
            backbone)
        self.latent_dim = int(latent_dim)
        self.head = GaussianHead(self.latent_dim, name="head")

    def build(self, inputs_shape):
        if not self.backbone.built:  # a deserialised backbone comes built
            self.backbone.build(inputs_shape)
        shape = self.backbone.compute_output_shape(inputs_shape)
        width = 1
        for d in shape[1:]:
            width *= int(d)
        if not self.head.built:
            self.head.build((None, width))

    def call(self, inputs, training=False):
        h = self.backbone(inputs, training=training)
        if len(h.shape) != 2:
            h = ops.reshape(h, (ops.shape(h)[0], -1))
        return self.head(h)

    def compute_output_shape(self, inputs_shape):
        return (inputs_shape[0], self.latent_dim), (inputs_shape[0], self.latent_dim)

    def get_config(self):
        return {**super().get_config(), "backbone": keras.saving.serialize_keras_object(self.backbone),
                "latent_dim": self.latent_dim}


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
