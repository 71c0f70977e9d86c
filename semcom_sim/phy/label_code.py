"""A classifier's decision over a real short code: the label baseline of a task-oriented link.

The device classifies on its own and sends only its decision, a class index, over the channel uses one sample of
an :class:`~semcom_sim.phy.analog.AnalogLink` occupies:

* the index in natural binary, ``k = ceil(log2(num_classes))`` bits (most significant first);
* one 5G NR polar codeword (:class:`~sionna.phy.fec.polar.Polar5GEncoder`, ``channel_type="downlink"``: the
  DCI format of 38.212 7.3, a 24-bit CRC (CRC24C) and the input bit interleaver, sub-block interleaving and
  rate matching to ``n`` coded bits). The uplink's polar format needs ``k >= 12`` (38.212 6.3.1.2.1 sends
  fewer bits with the small-block Reed-Muller code, which Sionna does not have), so the downlink format
  carries a label of a few bits in either direction;
* Gray QPSK (what the PDCCH carries a DCI with), ``n = 2 x num_channel_uses`` coded bits on the sample's own
  channel uses, in the sample's slots of the frames: the channel, the pilots, the CSI estimate, the LMMSE
  equaliser and the noise are the analog link's;
* APP demapping with each symbol's effective noise variance, then CRC-aided successive-cancellation list
  decoding (list 8, the list size 3GPP's reference curves use): ``"scl"`` Sionna's list decoder, ``"hybrid"``
  successive cancellation first and the list decoder only where the CRC fails (Sionna's ``hybSCL``; the list
  decoder runs on the host through ``tf.py_function``, so the call is not XLA-compilable, but it is several
  times faster on a CPU);
* a codeword whose CRC fails delivers nothing: :meth:`PolarLabelCode.transmit` returns ``-1`` for it.

5G downlink polar codes allow ``25 <= n <= 576`` coded bits and ``k <= 140``: 13 to 288 channel uses per sample.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from sionna.phy.fec.polar import Polar5GDecoder, Polar5GEncoder
from sionna.phy.mapping import Demapper, Mapper

from semcom_sim.errors import ScenarioError
from semcom_sim.phy.analog import AnalogLink

NUM_BITS_PER_SYMBOL = 2
"""QPSK: the modulation the PDCCH carries a DCI with."""

MIN_CODED_BITS, MAX_CODED_BITS = 25, 576
"""Sionna's limits on the coded bits of the 5G downlink polar format (CRC24C, no segmentation)."""

DECODERS = {"scl": "SCL", "hybrid": "hybSCL"}


def label_bits(num_classes: int) -> int:
    """``ceil(log2(num_classes))``: the bits of one class index (at least 1)."""
    if int(num_classes) < 2:
        raise ValueError(f"num_classes: need at least 2 classes, got {num_classes!r}")
    return max(1, math.ceil(math.log2(int(num_classes))))


class PolarLabelCode:
    """Sends each sample's class index as one 5G polar codeword over that sample's channel uses of ``link``
    (see the module docstring).

    :param link: the analog link whose grid, channel, CSI and slots the codewords use.
    :param num_classes: classes of the task; ``k = ceil(log2(num_classes))`` information bits.
    :param list_size: the list decoder's list size.
    :param decoder: ``"hybrid"`` (SC, list decoding where the CRC fails) or ``"scl"`` (list decoding always).

    Input of :meth:`transmit`: ``labels`` [batch] int32 (the indices sent), ``h`` (the data frame's channel of
    :meth:`AnalogLink.draw_channel`), ``no`` [num_frames] float32. Output: [batch] int32, the index each codeword
    delivered (its CRC passed), ``-1`` where the CRC failed.
    """

    def __init__(self, link: AnalogLink, num_classes: int, list_size: int = 8, decoder: str = "hybrid"):
        if not isinstance(link, AnalogLink):
            raise ScenarioError(f"the polar label baseline needs the analog SISO link, not {type(link).__name__}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder: {decoder!r} is not one of {', '.join(DECODERS)}")
        self.link = link
        self.k = label_bits(num_classes)
        self.num_channel_uses = link.mapper.num_channel_uses
        self.n = NUM_BITS_PER_SYMBOL * self.num_channel_uses
        if not MIN_CODED_BITS <= self.n <= MAX_CODED_BITS:  # k <= 140 holds for any class count below 2^140
            raise ScenarioError(f"model.num_channel_uses: the 5G polar label code needs 13 to 288 channel uses per "
                                f"sample ({MIN_CODED_BITS} to {MAX_CODED_BITS} QPSK coded bits), got "
                                f"{self.num_channel_uses}")
        self.encoder = Polar5GEncoder(self.k, self.n, channel_type="downlink")
        self.decoder = Polar5GDecoder(self.encoder, dec_type=DECODERS[decoder], list_size=int(list_size),
                                      return_crc_status=True)
        self.mapper = Mapper("qam", NUM_BITS_PER_SYMBOL)
        self.demapper = Demapper("app", "qam", NUM_BITS_PER_SYMBOL)
        self._weights = tf.constant(2 ** np.arange(self.k - 1, -1, -1), tf.int32)

    def to_bits(self, labels: tf.Tensor) -> tf.Tensor:
        """[batch] int32 -> [batch, k] float32, most significant bit first."""
        labels = tf.cast(labels, tf.int32)
        return tf.cast(tf.bitwise.bitwise_and(labels[:, None] // self._weights, 1), tf.float32)

    def from_bits(self, bits: tf.Tensor) -> tf.Tensor:
        """[batch, k] in {0, 1} -> [batch] int32."""
        return tf.reduce_sum(tf.cast(bits, tf.int32) * self._weights, axis=-1)

    def transmit(self, labels: tf.Tensor, h, no) -> tf.Tensor:
        batch = labels.shape[0]
        symbols = tf.reshape(self.mapper(self.encoder(self.to_bits(labels))), [batch, self.num_channel_uses])
        out = self.link.ofdm(self.link.packer.pack(symbols), h, no)
        x_hat = self.link.packer.unpack(out.x_hat, batch)
        no_eff = self.link.packer.unpack(out.no_eff, batch)
        bits, crc_ok = self.decoder(self.demapper(x_hat, no_eff))
        return tf.where(crc_ok, self.from_bits(bits), -1)
