"""Real semantic features <-> frames of complex symbols, and the analog link around OFDMLink.

Mapping (the project's convention, see docs/conventions.md):

* a sample's ``2 n`` real features become ``n`` complex symbols, pairs ``(2i, 2i+1)`` -> real, imag;
* each sample is scaled to unit average energy per complex symbol (per-sample power normalisation,
  so every frame has Es = 1 on its data resource elements);
* ``samples_per_frame = num_data_symbols // n`` samples are packed one after the other into a frame
  (Sionna's data-RE order); data REs left over and the slots of a partly filled last frame carry
  fixed unit-energy QPSK filler, so Es = 1 holds for every frame and the filler is discarded.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from semcom_sim.phy.conventions import ebno_db_to_no
from semcom_sim.phy.link import OFDMLink
from semcom_sim.phy.snr import _db
from semcom_sim.scenario import Phy

_FILLER_SEED = 7


def _qpsk_filler(num: int) -> np.ndarray:
    bits = np.random.default_rng(_FILLER_SEED).integers(0, 2, size=(max(num, 0), 2))
    return (((1 - 2 * bits[:, 0]) + 1j * (1 - 2 * bits[:, 1])) / np.sqrt(2)).astype(np.complex64)


class FeatureMapper:
    """Real features [batch, 2 n] float32 -> frames [num_frames, num_data_symbols] complex64."""

    def __init__(self, num_channel_uses: int, num_data_symbols: int):
        if num_channel_uses > num_data_symbols:
            raise ValueError(f"num_channel_uses={num_channel_uses} exceeds num_data_symbols={num_data_symbols}")
        self.num_channel_uses = n = int(num_channel_uses)
        self.num_data_symbols = int(num_data_symbols)
        self.samples_per_frame = num_data_symbols // n
        self._tail = tf.constant(_qpsk_filler(num_data_symbols - self.samples_per_frame * n))
        self._filler_sample = tf.constant(_qpsk_filler(n))

    def num_frames(self, batch_size: int) -> int:
        return -(-int(batch_size) // self.samples_per_frame)

    def to_symbols(self, features: tf.Tensor) -> tf.Tensor:
        """[batch, 2 n] float32 -> [batch, n] complex64 with unit average energy per sample."""
        pairs = tf.reshape(features, [-1, self.num_channel_uses, 2])
        energy = tf.reduce_mean(tf.reduce_sum(tf.square(pairs), axis=-1), axis=-1, keepdims=True)
        pairs = pairs * tf.math.rsqrt(tf.maximum(energy, 1e-12))[..., None]
        return tf.complex(pairs[..., 0], pairs[..., 1])

    def __call__(self, features: tf.Tensor) -> tf.Tensor:
        symbols = self.to_symbols(features)
        batch = features.shape[0]
        num_frames = self.num_frames(batch)
        pad = num_frames * self.samples_per_frame - batch
        if pad:
            filler = tf.tile(self._filler_sample[None], [pad, 1])
            symbols = tf.concat([symbols, filler], axis=0)
        frames = tf.reshape(symbols, [num_frames, self.samples_per_frame * self.num_channel_uses])
        if self._tail.shape[0]:
            frames = tf.concat([frames, tf.tile(self._tail[None], [num_frames, 1])], axis=1)
        return frames


class FeatureDemapper:
    """Frames [num_frames, num_data_symbols] -> per-sample values [batch, ...] (inverse of the mapper)."""

    def __init__(self, mapper: FeatureMapper):
        self.mapper = mapper

    def samples(self, frames: tf.Tensor, batch_size: int) -> tf.Tensor:
        """[num_frames, num_data_symbols] -> [batch, n] (same dtype): drops filler."""
        m = self.mapper
        used = frames[:, : m.samples_per_frame * m.num_channel_uses]
        return tf.reshape(used, [-1, m.num_channel_uses])[:batch_size]

    def frame_values(self, values: tf.Tensor, batch_size: int) -> tf.Tensor:
        """A per-frame value [num_frames] -> per sample [batch]."""
        return tf.repeat(values, self.mapper.samples_per_frame)[:batch_size]

    def __call__(self, x_hat: tf.Tensor, batch_size: int) -> tf.Tensor:
        """Equalised frames -> real features [batch, 2 n] float32 (not rescaled)."""
        symbols = self.samples(x_hat, batch_size)
        return tf.reshape(tf.stack([tf.math.real(symbols), tf.math.imag(symbols)], axis=-1), [batch_size, -1])


class AnalogOutput(NamedTuple):
    """Receiver side of the analog link, per sample: ``features`` [batch, 2 n] float32,
    ``snr_hat_db`` [batch] (pilot estimate of the sample's frame), ``snr_eff_db`` [batch]
    (10 log10 mean(1/no_eff) over the sample's symbols after LMMSE), ``snr_true_db`` [batch]."""

    features: tf.Tensor
    snr_hat_db: tf.Tensor
    snr_eff_db: tf.Tensor
    snr_true_db: tf.Tensor


class AnalogLink:
    """The analog semantic link of a scenario's ``phy`` with ``num_channel_uses`` per sample.

    Usage, in causal order (what :class:`semcom_sim.system.SemanticLink` does)::

        no = link.noise_variance(ebno_db)          # ebno_db [num_frames]
        h, h_sound = link.draw_channel(num_frames)
        snr_tx_db = link.sound(h_sound, no, batch)  # [batch]: what the transmitter knows
        out = link.transmit(features, h, no)        # AnalogOutput
    """

    def __init__(self, phy: Phy, num_channel_uses: int):
        self.phy = phy
        self.ofdm = OFDMLink(phy)
        self.resource_grid = self.ofdm.resource_grid
        self.mapper = FeatureMapper(num_channel_uses, self.ofdm.num_data_symbols)
        self.demapper = FeatureDemapper(self.mapper)

    def num_frames(self, batch_size: int) -> int:
        return self.mapper.num_frames(batch_size)

    @property
    def used_fraction(self) -> float:
        """Share of a frame's data REs that carry samples (the rest is filler)."""
        m = self.mapper
        return m.samples_per_frame * m.num_channel_uses / m.num_data_symbols

    def noise_variance(self, ebno_db) -> tf.Tensor:
        """N0 for Eb/N0 in dB, counted against ``phy.bits_per_symbol`` and ``phy.coderate`` with the grid.

        Only the data REs that carry samples carry information; the filler's energy counts as
        overhead, like pilots, through an effective code rate ``coderate * used_fraction``.
        """
        return ebno_db_to_no(ebno_db, self.phy.bits_per_symbol, self.phy.coderate * self.used_fraction,
                             self.resource_grid)

    def draw_channel(self, num_frames: int):
        return self.ofdm.draw_channel(num_frames)

    def sound(self, h_sound, no, batch_size: int) -> tf.Tensor:
        """SNR in dB known at the transmitter, per sample [batch] float32."""
        return self.demapper.frame_values(self.ofdm.sound(h_sound, no), batch_size)

    def transmit(self, features: tf.Tensor, h, no) -> AnalogOutput:
        batch = features.shape[0]
        out = self.ofdm(self.mapper(features), h, no)
        no_eff = self.demapper.samples(out.no_eff, batch)
        return AnalogOutput(
            features=self.demapper(out.x_hat, batch),
            snr_hat_db=self.demapper.frame_values(out.snr_hat_db, batch),
            snr_eff_db=_db(tf.reduce_mean(1.0 / tf.maximum(no_eff, 1e-12), axis=-1)),
            snr_true_db=self.demapper.frame_values(out.snr_true_db, batch),
        )
