"""Paper A's channel-adaptive module Phi."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="semcom_sim")
class ChannelAdaptiveModule(keras.layers.Layer):
    """Re-weights feature channels from the estimated SNR: ``X = w * X0``, ``w = Phi(GAP(X0), snr)``.

    Phi is FC -> ReLU -> FC -> sigmoid on the global average of ``X0`` (over all axes but the batch
    and the channels; a [batch, channels] input is its own average) concatenated with the SNR.
    Followed by per-sample power normalisation in the PHY, ``w`` acts as an SNR-dependent soft
    power allocation over feature channels.

    Input: ``features`` [batch, ..., channels] float32 and ``snr_db`` [batch, num_snr_features] float32 (dB).
    Output: features of the same shape, each channel scaled by a weight in (0, 1).

    :param hidden_ratio: width of the hidden layer as a fraction of ``channels``.
    :param snr_scale_db: the SNR enters Phi as ``snr_db / snr_scale_db`` (keeps inputs near unit scale).
    """

    def __init__(self, hidden_ratio: float = 0.25, snr_scale_db: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_ratio = float(hidden_ratio)
        self.snr_scale_db = float(snr_scale_db)

    def build(self, features_shape, snr_db_shape):
        channels = int(features_shape[-1])
        self.hidden = keras.layers.Dense(max(1, int(channels * self.hidden_ratio)), activation="relu")
        self.gate = keras.layers.Dense(channels, activation="sigmoid")
        self.hidden.build((features_shape[0], channels + int(snr_db_shape[-1])))
        self.gate.build((features_shape[0], self.hidden.units))

    def weights_for(self, features, snr_db):
        """The channel weights ``w`` [batch, channels] (exposed for inspection and tests)."""
        if not self.built:
            self.build(features.shape, snr_db.shape)
            self.built = True
        axes = tuple(range(1, len(features.shape) - 1))
        pooled = ops.mean(features, axis=axes) if axes else features
        return self.gate(self.hidden(ops.concatenate([pooled, snr_db / self.snr_scale_db], axis=-1)))

    def call(self, features, snr_db):
        w = self.weights_for(features, snr_db)
        shape = (-1,) + (1,) * (len(features.shape) - 2) + (features.shape[-1],)
        return features * ops.reshape(w, shape)

    def compute_output_shape(self, features_shape, snr_db_shape):
        return features_shape

    def get_config(self):
        return {**super().get_config(), "hidden_ratio": self.hidden_ratio, "snr_scale_db": self.snr_scale_db}
