"""The channel codec part: what turns the transmitted features into what the link carries, and back.

``IdentityCodec`` (the analog link carries the features themselves) and ``BitCodec`` (the digital link
carries bits: each quantised feature becomes ``num_bits`` bits). A learned codec (the channel-aware
transformer of RKD-SC) takes the same place.
"""

from __future__ import annotations

import keras

from semcom_sim.semantic.quantizer import bits_to_features, features_to_bits

__all__ = ["IdentityCodec", "BitCodec"]


@keras.saving.register_keras_serializable(package="semcom_sim")
class IdentityCodec(keras.layers.Layer):
    """The features go to the link as they are: ``encode(x) = x``, ``decode(y) = y`` ([batch, d] float32)."""

    def encode(self, features):
        return features

    def decode(self, received):
        return received

    def call(self, features):
        return self.decode(self.encode(features))


@keras.saving.register_keras_serializable(package="semcom_sim")
class BitCodec(keras.layers.Layer):
    """Quantised features <-> bits for a digital link.

    ``encode``: features [batch, d] float32 on the levels of a ``num_bits`` uniform quantiser over
    [-1, 1] -> bits [batch, d * num_bits] float32 (natural binary, most significant first).
    ``decode``: bits -> the levels again (exact inverse for error-free bits).

    :param num_bits: bits per feature.
    """

    def __init__(self, num_bits: int, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = int(num_bits)

    def encode(self, features):
        return features_to_bits(features, self.num_bits)

    def decode(self, bits):
        return bits_to_features(bits, self.num_bits)

    def call(self, features):
        return self.decode(self.encode(features))

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits}
