"""How much to send: the nested (prefix) length of a sample's transmission and the policy that picks it.

A sample's latent has ``2 n`` real features, ``n`` complex channel uses. With nested lengths the
transmitter keeps only the first ``L`` channel uses (the first ``2 L`` real features) and the receiver
zero-fills the rest, so one model serves every ``L`` of a set: it is trained with ``L`` drawn per sample
from the set, independent of the SNR. A **length policy** ``L*(q)`` maps each level ``q`` of the SNR
that the transmitter learned through feedback to the ``L`` it sends; both ends know ``q``, so nothing
more is signalled.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

__all__ = ["LengthMask", "LengthPolicy", "LengthSampler", "policy_grid_db"]


@keras.saving.register_keras_serializable(package="semcom_sim")
class LengthMask(keras.layers.Layer):
    """Keeps the first ``L`` complex channel uses of each sample: ``m_L`` of the nested length.

    Input: ``features`` [batch, 2 n] float32 (pairs ``(2i, 2i+1)`` are channel use ``i``) and ``length``
    [batch] (channel uses kept, ``1 <= L <= n``; any numeric dtype).
    Output: ``features`` with the real features ``>= 2 L`` set to zero, same shape and dtype.
    """

    def call(self, features, length):
        positions = ops.arange(ops.shape(features)[-1], dtype="float32")[None, :]
        keep = ops.cast(positions < 2.0 * ops.cast(length, "float32")[:, None], features.dtype)
        return features * keep

    def compute_output_shape(self, features_shape, length_shape):
        return features_shape


@keras.saving.register_keras_serializable(package="semcom_sim")
class LengthSampler(keras.layers.Layer):
    """Draws one length per sample, uniformly from a set, for training.

    Input: ``reference`` [batch, ...] (only its batch size is used).
    Output: lengths [batch] float32, each one of ``lengths``.

    :param lengths: the set of lengths (complex channel uses), e.g. ``(2, 4, 8, 16, 24, 32, 48, 64)``.
    :param seed: seed of the draws.
    """

    def __init__(self, lengths: Sequence[int], seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not lengths or any(int(v) < 1 for v in lengths):
            raise ValueError(f"LengthSampler: lengths must be positive channel-use counts, got {lengths!r}")
        self.lengths = tuple(int(v) for v in lengths)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, reference):
        batch = ops.shape(reference)[0]
        index = keras.random.randint((batch,), 0, len(self.lengths), seed=self.seed_generator)
        return ops.take(ops.convert_to_tensor(self.lengths, "float32"), index)

    def get_config(self):
        return {**super().get_config(), "lengths": list(self.lengths), "seed": self.seed}


def policy_grid_db(low_db: float = -20.0, high_db: float = 40.0, step_db: float = 0.5) -> np.ndarray:
    """The SNR grid a length policy is indexed by, in dB (default: -20..40 dB in 0.5 dB steps).

    It does not depend on the feedback quantiser, so one model's weights load under any
    ``phy.snr_feedback_bits``: a policy fitted with 4-bit feedback gives every grid point the length of the
    4-bit level whose bin holds it, and a fed-back level of any quantiser is looked up over the grid
    points of its own bin (:class:`LengthPolicy`)."""
    return np.arange(low_db, high_db + step_db / 2, step_db, dtype=np.float32)


@keras.saving.register_keras_serializable(package="semcom_sim")
class LengthPolicy(keras.layers.Layer):
    """The length policy ``L*(q)``: a table of one length per point of an SNR grid
    (:func:`policy_grid_db`), looked up at the grid point nearest to the SNR the transmitter learned.

    The table is a pair of non-trainable weights (saved with the model's weights): ``levels_db`` [K]
    and ``table`` [K] (channel uses). Until :meth:`set_table` is called every level maps to
    ``longest``.

    Input: ``snr_tx_db`` [batch] float32 (the fed-back SNR in dB); keyword ``bin_width_db`` (float, default
    0): the width of the feedback quantiser's bins. A fed-back level ``q`` stands for every SNR of its bin
    ``[q - w/2, q + w/2)``, so the policy sends the largest ``L`` over the grid points of that bin (the
    ``L`` that the worst SNR consistent with ``q`` needs); with ``w = 0``, or no grid point in the bin, the
    grid point nearest to ``q``.
    Output: lengths [batch] float32.

    :param levels_db: the grid in dB, increasing.
    :param longest: the longest length (the default of every level).
    """

    def __init__(self, levels_db: Sequence[float], longest: int, **kwargs):
        super().__init__(**kwargs)
        levels = [float(v) for v in levels_db]
        if not levels or any(b <= a for a, b in zip(levels, levels[1:])):
            raise ValueError(f"LengthPolicy: levels_db must be increasing and non-empty, got {levels_db!r}")
        if int(longest) < 1:
            raise ValueError(f"LengthPolicy: longest must be >= 1, got {longest!r}")
        self.levels = tuple(levels)
        self.longest = int(longest)

    def build(self, input_shape=None):
        k = len(self.levels)
        self.levels_db = self.add_weight(shape=(k,), initializer=keras.initializers.Constant(self.levels),
                                         trainable=False, name="levels_db")
        self.table = self.add_weight(shape=(k,), initializer=keras.initializers.Constant(float(self.longest)),
                                     trainable=False, name="table")

    def set_table(self, lengths: Sequence[int]) -> None:
        """Sets ``L*(q)`` for every level (as many values as levels, each in ``1..longest``)."""
        values = np.asarray(lengths, dtype=np.float32)
        if values.shape != (len(self.levels),) or values.min() < 1 or values.max() > self.longest:
            raise ValueError(f"LengthPolicy: need {len(self.levels)} lengths in 1..{self.longest}, got {lengths!r}")
        if not self.built:
            self.build()
        self.table.assign(values)

    def lengths(self) -> np.ndarray:
        """The table ``L*(q)`` as a numpy array [K]."""
        if not self.built:
            self.build()
        return np.asarray(ops.convert_to_numpy(self.table))

    def call(self, snr_tx_db, bin_width_db: float = 0.0):
        offset = self.levels_db[None, :] - ops.cast(snr_tx_db, "float32")[:, None]
        nearest = ops.take(self.table, ops.argmin(ops.abs(offset), axis=-1))
        if not bin_width_db:
            return nearest
        half = 0.5 * float(bin_width_db)
        in_bin = ops.logical_and(offset >= -half, offset < half)
        widest = ops.max(ops.where(in_bin, self.table[None, :], 0.0), axis=-1)
        return ops.where(ops.any(in_bin, axis=-1), widest, nearest)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        return {**super().get_config(), "levels_db": list(self.levels), "longest": self.longest}
