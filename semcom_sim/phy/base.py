"""The family of links: one interface for the analog and the digital link, and the one frame packer.

A :class:`Link` carries one real vector per sample (features for the analog link, bits for the
digital one) through OFDM frames of :class:`~semcom_sim.phy.link.OFDMLink`, and hands the receiver
the vectors back with the SNR side information. In causal order (what
:class:`semcom_sim.system.SemanticLink` does)::

    no = link.noise_variance(ebno_db)           # ebno_db [num_frames]
    h, h_sound = link.draw_channel(num_frames)
    snr_tx_db = link.sound(h_sound, no, batch)   # [batch]: what the transmitter knows
    out = link.transmit(x, h, no)                # LinkOutput, per sample

A subclass implements :meth:`Link.transmit` and sets ``packer``, ``num_bits_per_symbol`` and
``coderate_eff`` (what Eb/N0 is counted against).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from semcom_sim.phy.conventions import ebno_db_to_no
from semcom_sim.phy.link import OFDMLink

__all__ = ["FramePacker", "Link", "LinkOutput"]


class FramePacker:
    """Per-sample vectors [batch, width] <-> frames [num_frames, capacity], samples one after the other.

    ``samples_per_frame = capacity // width`` samples fill a frame; the slots left at the end of every
    frame (``capacity - samples_per_frame * width`` values) and the sample slots of a partly filled last
    frame carry fixed filler, which the receiver discards.

    :param width: values per sample.
    :param capacity: values per frame.
    :param filler: ``filler(num)`` -> ``num`` fixed values of the frame's dtype (the same every call).
    :param what: names the values in errors (``"complex channel uses"``, ``"bits"``).
    """

    def __init__(self, width: int, capacity: int, filler: Callable[[int], np.ndarray], what: str = "values"):
        self.width, self.capacity = int(width), int(capacity)
        if self.width <= 0:
            raise ValueError(f"a sample needs at least one of the {what}, got {width}")
        self.samples_per_frame = self.capacity // self.width
        if self.samples_per_frame == 0:
            raise ValueError(f"a sample of {self.width} {what} exceeds the {self.capacity} of one frame")
        self.used = self.samples_per_frame * self.width
        self._tail = tf.constant(filler(self.capacity - self.used))
        self._filler_sample = tf.constant(filler(self.width))

    def num_frames(self, batch_size: int) -> int:
        return -(-int(batch_size) // self.samples_per_frame)

    def pack(self, values: tf.Tensor) -> tf.Tensor:
        """[batch, width] -> [num_frames, capacity] (the filler's dtype)."""
        values = tf.cast(values, self._filler_sample.dtype)
        batch = values.shape[0]
        num_frames = self.num_frames(batch)
        pad = num_frames * self.samples_per_frame - batch
        if pad:
            values = tf.concat([values, tf.tile(self._filler_sample[None], [pad, 1])], axis=0)
        frames = tf.reshape(values, [num_frames, self.used])
        if self._tail.shape[0]:
            frames = tf.concat([frames, tf.tile(self._tail[None], [num_frames, 1])], axis=1)
        return frames

    def unpack(self, frames: tf.Tensor, batch_size: int) -> tf.Tensor:
        """[num_frames, capacity] -> [batch, width] (same dtype): drops the filler."""
        return tf.reshape(frames[:, : self.used], [-1, self.width])[:batch_size]

    def frame_values(self, values: tf.Tensor, batch_size: int) -> tf.Tensor:
        """A per-frame value [num_frames] -> per sample [batch]."""
        return tf.repeat(values, self.samples_per_frame)[:batch_size]


class LinkOutput(NamedTuple):
    """What the receiver has for each sample after a link, all [batch, ...] float32.

    * ``features`` [batch, width]: the received vector (equalised features; decoded bits);
    * ``snr_hat_db`` [batch]: the pilot SNR estimate of the sample's frame;
    * ``snr_eff_db`` [batch]: ``10 log10 mean(1/no_eff)`` over the sample's symbols after LMMSE (analog;
      zeros for the digital link, whose hard decisions carry no reliability);
    * ``snr_true_db`` [batch]: the true mean ``|h|^2 Es/N0`` of the frame (diagnostics only);
    * ``block_error`` [batch]: 1.0 where the sample's frame was not decoded error-free (digital; zeros
      for the analog link).
    """

    features: tf.Tensor
    snr_hat_db: tf.Tensor
    snr_eff_db: tf.Tensor
    snr_true_db: tf.Tensor
    block_error: tf.Tensor


class Link(abc.ABC):
    """Base class of the links (see the module docstring).

    :ivar ofdm: the :class:`OFDMLink` of the scenario's ``phy`` (a multi-antenna link's
        :class:`~semcom_sim.phy.mimo.MIMOOFDMLink`).
    :ivar packer: the :class:`FramePacker` of one sample's vector into frames.
    :ivar num_bits_per_symbol: bits one complex channel use is counted for in Eb/N0.
    :ivar coderate_eff: information bits that carry samples per coded bit (filler counts as overhead).
    :ivar decoder_sees_snr: whether the receiver's SNR estimates reach the semantic decoder.
    :ivar error_free_while_training: the link is an error-free pipe during training (a separation
        design learns its source code apart from the channel code), so no channel is drawn then.
    """

    ofdm: OFDMLink
    packer: FramePacker
    num_bits_per_symbol: float
    coderate_eff: float
    decoder_sees_snr: bool = True
    error_free_while_training: bool = False

    @property
    def resource_grid(self):
        return self.ofdm.resource_grid

    @property
    def samples_per_frame(self) -> int:
        return self.packer.samples_per_frame

    def num_frames(self, batch_size: int) -> int:
        """OFDM frames that ``batch_size`` samples occupy."""
        return self.packer.num_frames(batch_size)

    def frame_values(self, values: tf.Tensor, batch_size: int) -> tf.Tensor:
        """A per-frame value [num_frames] -> per sample [batch]."""
        return self.packer.frame_values(values, batch_size)

    def noise_variance(self, ebno_db) -> tf.Tensor:
        """N0 for Eb/N0 in dB (same shape), counted against ``num_bits_per_symbol`` and ``coderate_eff`` with
        the grid's pilot and cyclic-prefix overhead (Sionna's ``ebnodb2no``)."""
        return ebno_db_to_no(ebno_db, self.num_bits_per_symbol, self.coderate_eff, self.resource_grid)

    def draw_channel(self, num_frames: int):
        """``(h, h_sound)`` of :meth:`OFDMLink.draw_channel`."""
        return self.ofdm.draw_channel(num_frames)

    def sound(self, h_sound, no, batch_size: int) -> tf.Tensor:
        """SNR in dB known at the transmitter (sounding and feedback), per sample [batch] float32."""
        return self.frame_values(self.ofdm.sound(h_sound, no), batch_size)

    @abc.abstractmethod
    def transmit(self, x: tf.Tensor, h, no, num_active: tf.Tensor | None = None) -> LinkOutput:
        """Sends one vector per sample ``x`` [batch, width] over the frames of ``h`` with noise variances
        ``no`` [num_frames]; returns the receiver's :class:`LinkOutput`. ``num_active`` [batch] (nested
        lengths): the complex channel uses each sample really sends (its first ones; the rest of its
        slots are empty), power normalised over those; ``None``: all of them."""
