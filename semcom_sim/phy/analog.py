"""Real semantic features <-> frames of complex symbols, and the analog link around OFDMLink.

Mapping (the project's convention, see docs/conventions.md):

* a sample's ``2 n`` real features become ``n`` complex symbols, pairs ``(2i, 2i+1)`` -> real, imag;
* each sample is scaled to unit average energy per complex symbol (per-sample power normalisation,
  so every frame has Es = 1 on its data resource elements); with nested lengths a sample sends only
  its first ``L`` symbols, with unit average energy over those ``L``, and the rest of its slots stay
  empty (zero energy): the symbols it sends see the same Es/N0 for every ``L``;
* ``samples_per_frame = num_data_symbols // n`` samples are packed one after the other into a frame
  (Sionna's data-RE order); data REs left over and the slots of a partly filled last frame carry
  fixed unit-energy QPSK filler, so Es = 1 holds for every frame and the filler is discarded.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from semcom_sim.phy.base import FramePacker, Link, LinkOutput
from semcom_sim.phy.link import OFDMLink
from semcom_sim.phy.mimo import MIMOOFDMLink, MIMOStreams, mean_db, mean_receive_snr_db
from semcom_sim.phy.snr import _db
from semcom_sim.scenario import Phy

_FILLER_SEED = 7


def _qpsk_filler(num: int) -> np.ndarray:
    bits = np.random.default_rng(_FILLER_SEED).integers(0, 2, size=(max(num, 0), 2))
    return (((1 - 2 * bits[:, 0]) + 1j * (1 - 2 * bits[:, 1])) / np.sqrt(2)).astype(np.complex64)


class FeatureMapper:
    """Real features [batch, 2 n] float32 -> frames [num_frames, num_data_symbols] complex64: per-sample
    power normalisation (:meth:`to_symbols`), then the :class:`~semcom_sim.phy.base.FramePacker`."""

    def __init__(self, num_channel_uses: int, num_data_symbols: int):
        if num_channel_uses > num_data_symbols:
            raise ValueError(f"num_channel_uses={num_channel_uses} exceeds num_data_symbols={num_data_symbols}")
        self.num_channel_uses = int(num_channel_uses)
        self.num_data_symbols = int(num_data_symbols)
        self.packer = FramePacker(self.num_channel_uses, self.num_data_symbols, _qpsk_filler, "complex channel uses")
        self.samples_per_frame = self.packer.samples_per_frame

    def num_frames(self, batch_size: int) -> int:
        return self.packer.num_frames(batch_size)

    def to_symbols(self, features: tf.Tensor, num_active: tf.Tensor | None = None) -> tf.Tensor:
        """[batch, 2 n] float32 -> [batch, n] complex64 with unit average energy per sample; with
        ``num_active`` [batch], unit average energy over each sample's first ``num_active`` symbols and
        zeros after them."""
        pairs = tf.reshape(features, [-1, self.num_channel_uses, 2])
        if num_active is None:
            energy = tf.reduce_mean(tf.reduce_sum(tf.square(pairs), axis=-1), axis=-1, keepdims=True)
        else:
            active = tf.cast(tf.range(self.num_channel_uses, dtype=tf.float32)[None, :]
                             < tf.cast(num_active, tf.float32)[:, None], tf.float32)
            pairs = pairs * active[..., None]
            energy = (tf.reduce_sum(tf.square(pairs), axis=[1, 2])[:, None]
                      / tf.maximum(tf.cast(num_active, tf.float32)[:, None], 1.0))
        pairs = pairs * tf.math.rsqrt(tf.maximum(energy, 1e-12))[..., None]
        return tf.complex(pairs[..., 0], pairs[..., 1])

    def __call__(self, features: tf.Tensor, num_active: tf.Tensor | None = None) -> tf.Tensor:
        return self.packer.pack(self.to_symbols(features, num_active))


def symbols_to_features(symbols: tf.Tensor) -> tf.Tensor:
    """[batch, n] complex -> real features [batch, 2 n] float32, pairs (real, imag) (not rescaled)."""
    return tf.reshape(tf.stack([tf.math.real(symbols), tf.math.imag(symbols)], axis=-1), [symbols.shape[0], -1])


class AnalogLink(Link):
    """The analog semantic link of a scenario's ``phy`` with ``num_channel_uses`` per sample: real
    features in, equalised real features out (see :class:`~semcom_sim.phy.base.Link` for the causal
    order of its calls).

    Eb/N0 is counted against ``phy.num_bits_per_symbol`` and ``phy.coderate`` per complex channel use; only
    the data REs that carry samples carry information, so the filler's energy counts as overhead, like
    pilots, through ``coderate_eff = coderate * used_fraction``.
    """

    def __init__(self, phy: Phy, num_channel_uses: int):
        self.phy = phy
        self.ofdm = OFDMLink(phy)
        self.mapper = FeatureMapper(num_channel_uses, self.ofdm.num_data_symbols)
        self.packer = self.mapper.packer
        self.num_bits_per_symbol = phy.num_bits_per_symbol
        self.coderate_eff = phy.coderate * self.used_fraction

    @property
    def used_fraction(self) -> float:
        """Share of a frame's data REs that carry samples (the rest is filler)."""
        return self.packer.used / self.packer.capacity

    def sample_snr(self, h, no, batch_size: int) -> tf.Tensor:
        """The SNR of each complex channel use a sample occupies (perfect CSIR, what the receiver could know):
        [batch, n] float32, linear, the uses in the sample's order."""
        return self.packer.unpack(self.ofdm.data_snr(h, no), batch_size)

    def transmit(self, features: tf.Tensor, h, no, num_active: tf.Tensor | None = None) -> LinkOutput:
        """Sends ``features`` [batch, 2 n] float32 (with ``num_active``: each sample's first channel uses
        only); returns the equalised features [batch, 2 n] (not rescaled) with the SNR estimates of each
        sample."""
        batch = features.shape[0]
        out = self.ofdm(self.mapper(features, num_active), h, no)
        no_eff = self.packer.unpack(out.no_eff, batch)
        return LinkOutput(
            features=symbols_to_features(self.packer.unpack(out.x_hat, batch)),
            snr_hat_db=self.frame_values(out.snr_hat_db, batch),
            snr_eff_db=_db(tf.reduce_mean(1.0 / tf.maximum(no_eff, 1e-12), axis=-1)),
            snr_true_db=self.frame_values(out.snr_true_db, batch),
            block_error=tf.zeros([batch], tf.float32),
        )


class MIMOAnalogLink(MIMOStreams, Link):
    """The analog semantic link over :class:`~semcom_sim.phy.mimo.MIMOOFDMLink`: the same per-sample mapping
    as :class:`AnalogLink`, with a frame holding ``num_streams x num_data_symbols`` complex channel uses.

    A sample's consecutive symbols go across the streams first, then across the data REs in Sionna's order
    (:class:`~semcom_sim.phy.mimo.MIMOStreams`), so ``S`` streams carry a sample in about ``1 / S`` of the
    resource elements, and every sample sees every stream. ``num_channel_uses`` keeps its meaning: complex
    symbols sent per sample. The transmitter learns the linear mean of the per-stream SINRs fed back; the
    receiver's own ``snr_hat_db`` is the same mean over the data frame's equalised streams.
    """

    def __init__(self, phy: Phy, num_channel_uses: int):
        self.phy = phy
        self.ofdm = MIMOOFDMLink(phy)
        self.num_streams = self.ofdm.num_streams
        self.mapper = FeatureMapper(num_channel_uses, self.num_streams * self.ofdm.num_data_symbols)
        self.packer = self.mapper.packer
        self.num_bits_per_symbol = phy.num_bits_per_symbol
        self.coderate_eff = phy.coderate * self.packer.used / self.packer.capacity

    def transmit(self, features: tf.Tensor, h, no, num_active: tf.Tensor | None = None) -> LinkOutput:
        """As :meth:`AnalogLink.transmit`, with ``h`` the ``(h, h_sound)`` of :meth:`draw_channel`."""
        h, h_sound = h
        batch = features.shape[0]
        g = self.ofdm.precoder(h, h_sound, no)
        out = self.ofdm(self.to_streams(self.mapper(features, num_active)), h, no, g)
        no_eff = self.packer.unpack(self.from_streams(out.no_eff), batch)
        return LinkOutput(
            features=symbols_to_features(self.packer.unpack(self.from_streams(out.x_hat), batch)),
            snr_hat_db=self.frame_values(mean_db(out.sinr_db), batch),
            snr_eff_db=_db(tf.reduce_mean(1.0 / tf.maximum(no_eff, 1e-12), axis=-1)),
            snr_true_db=self.frame_values(mean_receive_snr_db(h, no), batch),
            block_error=tf.zeros([batch], tf.float32),
        )
