"""The dense channel codec: the ablation of RKD-SC's channel-aware transformer (``rkd-sc-dense-codec``).

An MLP at each end, with the same inputs and outputs as :class:`~semcom_sim.semantic.cat.CATEncoder` and
:class:`~semcom_sim.semantic.cat.CATDecoder`: the side information (SNR in dB scaled by
``snr_scale_db``, and ``L / n``) is concatenated to the input of every layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from semcom_sim.semantic.cat import side_information

__all__ = ["DenseChannelDecoder", "DenseChannelEncoder"]


@keras.saving.register_keras_serializable(package="semcom_sim")
class DenseChannelEncoder(keras.layers.Layer):
    """Semantic vector + side information -> the ``2 n`` real features of the ``n`` channel uses.

    Input: ``features`` [batch, D] float32, ``snr_db`` [batch, S] float32 (dB) and ``length`` [batch]
    float32 or ``None`` (seen as ``L / n``). Output: [batch, output_dim] float32.

    :param num_channel_uses: ``n`` (for ``L / n``).
    :param output_dim: real features out (``2 n`` at the transmitter).
    :param units: hidden widths (GELU).
    :param snr_scale_db: SNRs enter as ``snr_db / snr_scale_db``.
    """

    def __init__(self, num_channel_uses: int, output_dim: int, units: Sequence[int] = (256,),
                 snr_scale_db: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        if int(num_channel_uses) < 1 or int(output_dim) < 1 or any(int(u) < 1 for u in units):
            raise ValueError(f"{type(self).__name__}: num_channel_uses, output_dim and units must be >= 1, got "
                             f"{num_channel_uses!r}, {output_dim!r}, {tuple(units)!r}")
        self.num_channel_uses = int(num_channel_uses)
        self.output_dim = int(output_dim)
        self.units = tuple(int(u) for u in units)
        self.snr_scale_db = float(snr_scale_db)

    def build(self, features_shape, snr_db_shape, length_shape=None):
        side = int(snr_db_shape[-1]) + 1
        width = int(features_shape[-1])
        self.hidden = []
        for i, units in enumerate(self.units):
            layer = keras.layers.Dense(units, activation="gelu", name=f"hidden_{i}")
            layer.build((None, width + side))
            self.hidden.append(layer)
            width = units
        self.out = keras.layers.Dense(self.output_dim, name="out")
        self.out.build((None, width + side))

    def call(self, features, snr_db, length=None):
        side = side_information(snr_db, length, self.num_channel_uses, self.snr_scale_db)
        h = features
        for layer in self.hidden:
            h = layer(ops.concatenate([h, side], axis=-1))
        return self.out(ops.concatenate([h, side], axis=-1))

    def compute_output_shape(self, features_shape, snr_db_shape, length_shape=None):
        return (features_shape[0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "num_channel_uses": self.num_channel_uses, "output_dim": self.output_dim,
                "units": list(self.units), "snr_scale_db": self.snr_scale_db}


@keras.saving.register_keras_serializable(package="semcom_sim")
class DenseChannelDecoder(DenseChannelEncoder):
    """Received real features (zero-filled after the sent length) + the receiver's SNR estimates and
    ``L / n`` -> the semantic vector [batch, output_dim] float32. The same MLP as the encoder; the
    inputs are ``received`` [batch, 2 n], ``snr_db`` [batch, S] and ``length``."""
