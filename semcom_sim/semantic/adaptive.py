"""Paper A's channel-adaptive module Phi."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="semcom_sim")
class ChannelAdaptiveModule(keras.layers.Layer):
    """Re-weights feature channels from the estimated SNR: ``X = w * X0``, ``w = Phi(GAP(X0), snr)``.

    Phi is FC -> ReLU -> FC -> sigmoid on the global average of ``X0`` (over all axes but the batch
    and the channels; a [batch, channels] input is its own average). How it sees the side information
    ``s`` (the SNR in dB, and possibly more, e.g. the nested length ``L / n``):

    - ``conditioning="concat"`` (paper A): ``s / snr_scale_db`` is concatenated to the pooled features
      at the input of the first FC;
    - ``conditioning="film"``: feature-wise linear modulation of the hidden units,
      ``h = ReLU(FC(GAP(X0)) * (1 + gamma(s)) + beta(s))`` with ``gamma, beta`` from a small MLP of
      ``s`` (side values after the first are used as given), so the SNR can move every hidden unit.

    Followed by per-sample power normalisation in the PHY, ``w`` acts as an SNR-dependent soft power
    allocation over feature channels.

    Input: ``features`` [batch, ..., channels] float32 and ``snr_db`` [batch, num_side] float32 (the
    first column the SNR in dB).
    Output: features of the same shape, each channel scaled by a weight in (0, 1).

    :param hidden_ratio: width of the hidden layer as a fraction of ``channels``.
    :param snr_scale_db: the SNR enters Phi as ``snr_db / snr_scale_db`` (keeps inputs near unit scale).
    :param conditioning: ``"concat"`` or ``"film"`` (see above).
    :param film_units: width of the MLP that maps the side information to ``gamma, beta`` (``"film"``).
    """

    def __init__(self, hidden_ratio: float = 0.25, snr_scale_db: float = 10.0, conditioning: str = "concat",
                 film_units: int = 32, **kwargs):
        super().__init__(**kwargs)
        if conditioning not in ("concat", "film"):
            raise ValueError(f"ChannelAdaptiveModule: conditioning must be 'concat' or 'film', got {conditioning!r}")
        self.hidden_ratio = float(hidden_ratio)
        self.snr_scale_db = float(snr_scale_db)
        self.conditioning = conditioning
        self.film_units = int(film_units)

    def build(self, features_shape, snr_db_shape):
        channels = int(features_shape[-1])
        units = max(1, int(channels * self.hidden_ratio))
        side = int(snr_db_shape[-1])
        concat = self.conditioning == "concat"
        self.hidden = keras.layers.Dense(units, activation="relu" if concat else None)
        self.gate = keras.layers.Dense(channels, activation="sigmoid")
        if concat:
            self.hidden.build((features_shape[0], channels + side))
        else:
            self.hidden.build((features_shape[0], channels))
            self.film_hidden = keras.layers.Dense(self.film_units, activation="relu")
            self.film_hidden.build((features_shape[0], side))
            self.film = keras.layers.Dense(2 * units, kernel_initializer="zeros")  # starts as the identity
            self.film.build((features_shape[0], self.film_units))
        self.gate.build((features_shape[0], units))

    def _side(self, snr_db):
        """FiLM's input: the SNR scaled by ``snr_scale_db``, the other side values as given."""
        return ops.concatenate([snr_db[:, :1] / self.snr_scale_db, snr_db[:, 1:]], axis=-1)

    def weights_for(self, features, snr_db):
        """The channel weights ``w`` [batch, channels] (exposed for inspection and tests)."""
        if not self.built:
            self.build(features.shape, snr_db.shape)
            self.built = True
        axes = tuple(range(1, len(features.shape) - 1))
        pooled = ops.mean(features, axis=axes) if axes else features
        if self.conditioning == "concat":
            return self.gate(self.hidden(ops.concatenate([pooled, snr_db / self.snr_scale_db], axis=-1)))
        gamma, beta = ops.split(self.film(self.film_hidden(self._side(snr_db))), 2, axis=-1)
        return self.gate(ops.relu(self.hidden(pooled) * (1.0 + gamma) + beta))

    def call(self, features, snr_db):
        w = self.weights_for(features, snr_db)
        shape = (-1,) + (1,) * (len(features.shape) - 2) + (features.shape[-1],)
        return features * ops.reshape(w, shape)

    def compute_output_shape(self, features_shape, snr_db_shape):
        return features_shape

    def get_config(self):
        return {**super().get_config(), "hidden_ratio": self.hidden_ratio, "snr_scale_db": self.snr_scale_db,
                "conditioning": self.conditioning, "film_units": self.film_units}
