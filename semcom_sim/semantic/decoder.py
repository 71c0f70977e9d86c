"""Semantic decoder and classifier that see the estimated SNR."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="semcom_sim")
class SemanticDecoder(keras.layers.Layer):
    """Received features + SNR estimates -> class logits.

    Input: ``features`` [batch, latent_dim] float32 (equalised channel output) and ``snr_db``
    [batch, num_snr_features] float32 (dB). Output: logits [batch, num_classes] float32.

    :param num_classes: number of task classes.
    :param units: widths of the hidden dense layers (ReLU); the SNR is concatenated to each input.
    :param snr_scale_db: the SNR enters as ``snr_db / snr_scale_db``.
    """

    def __init__(self, num_classes: int, units: tuple[int, ...] = (256, 256), snr_scale_db: float = 10.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.units = tuple(int(u) for u in units)
        self.snr_scale_db = float(snr_scale_db)
        self.hidden = [keras.layers.Dense(u, activation="relu") for u in self.units]
        self.norms = [keras.layers.LayerNormalization() for _ in self.units]
        self.head = keras.layers.Dense(self.num_classes)

    def build(self, features_shape, snr_db_shape):
        width = int(features_shape[-1])
        num_snr = int(snr_db_shape[-1])
        for dense, norm in zip(self.hidden, self.norms):
            dense.build((None, width + num_snr))
            norm.build((None, dense.units))
            width = dense.units
        self.head.build((None, width + num_snr))

    def call(self, features, snr_db):
        snr = snr_db / self.snr_scale_db
        h = features
        for dense, norm in zip(self.hidden, self.norms):
            h = norm(dense(ops.concatenate([h, snr], axis=-1)))
        return self.head(ops.concatenate([h, snr], axis=-1))

    def compute_output_shape(self, features_shape, snr_db_shape):
        return (features_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "units": self.units,
                "snr_scale_db": self.snr_scale_db}
