"""Uniform scalar quantisation of semantic features, and features <-> bits (for the digital link).

A mid-rise uniform quantiser with ``L = 2**num_bits`` levels over [-1, 1]: level ``i`` (0..L-1) is
``-1 + (2 i + 1) / L`` and covers ``[-1 + 2 i / L, -1 + 2 (i + 1) / L)``; inputs outside [-1, 1] go
to the outer levels. The caller bounds the features first (``tanh``). Bits are the level index in
natural binary, most significant bit first, one feature after the other.
"""

from __future__ import annotations

import keras
from keras import ops


def _check_num_bits(num_bits) -> int:
    if int(num_bits) != num_bits or not 1 <= int(num_bits) <= 16:
        raise ValueError(f"num_bits must be an integer in 1..16, got {num_bits!r}")
    return int(num_bits)


def quantization_index(x, num_bits: int):
    """Level index of each feature, [batch, d] float32 -> [batch, d] float32 (integer values in 0..L-1)."""
    levels = 2 ** _check_num_bits(num_bits)
    x = ops.cast(x, "float32")
    return ops.clip(ops.floor((x + 1.0) * (levels / 2.0)), 0.0, levels - 1.0)


def index_to_level(index, num_bits: int):
    """Reconstruction level of an index: ``-1 + (2 i + 1) / L`` (same shape, float32)."""
    levels = 2 ** _check_num_bits(num_bits)
    return (2.0 * ops.cast(index, "float32") + 1.0) / levels - 1.0


def features_to_bits(x, num_bits: int):
    """Features [batch, d] float32 -> bits [batch, d * num_bits] float32 in {0, 1}.

    Feature ``j`` occupies bits ``j * num_bits .. (j + 1) * num_bits - 1``, the level index MSB first.
    """
    num_bits = _check_num_bits(num_bits)
    index = quantization_index(x, num_bits)
    weights = ops.convert_to_tensor([2.0 ** (num_bits - 1 - b) for b in range(num_bits)], "float32")
    bits = ops.mod(ops.floor(ops.expand_dims(index, -1) / weights), 2.0)  # [batch, d, num_bits]
    return ops.reshape(bits, (ops.shape(bits)[0], -1))


def bits_to_features(bits, num_bits: int):
    """Bits [batch, d * num_bits] in {0, 1} -> dequantised features [batch, d] float32 (the levels).

    The exact inverse of :func:`features_to_bits` on quantised features.
    """
    num_bits = _check_num_bits(num_bits)
    bits = ops.cast(bits, "float32")
    grouped = ops.reshape(bits, (ops.shape(bits)[0], -1, num_bits))
    weights = ops.convert_to_tensor([2.0 ** (num_bits - 1 - b) for b in range(num_bits)], "float32")
    return index_to_level(ops.sum(grouped * weights, axis=-1), num_bits)


@keras.saving.register_keras_serializable(package="semcom_sim")
class UniformQuantizer(keras.layers.Layer):
    """Mid-rise uniform quantiser over [-1, 1] with a straight-through gradient.

    Input: features [batch, d] float32, assumed in [-1, 1] (values outside go to the outer levels).
    Output: the dequantised features [batch, d] float32, each at one of the ``2**num_bits`` levels
    ``-1 + (2 i + 1) / 2**num_bits``. The backward pass is the identity (``x + stop_gradient(q - x)``),
    so an encoder in front of it trains.

    :param num_bits: bits per feature (1..16).
    """

    def __init__(self, num_bits: int, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = _check_num_bits(num_bits)

    def build(self, input_shape):
        self.built = True

    def call(self, x):
        x = ops.cast(x, "float32")
        q = index_to_level(quantization_index(x, self.num_bits), self.num_bits)
        # The straight-through estimator x + stop_gradient(q - x), written so that the forward value is
        # exactly q (x + (q - x) can be off by one ulp in float32).
        return ops.stop_gradient(q) + (x - ops.stop_gradient(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits}
