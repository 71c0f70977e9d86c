"""The digital separation baseline: bits -> 5G LDPC -> QAM -> OFDMLink -> soft demapping -> BP decoding.

Chain (one 5G NR LDPC codeword per OFDM frame, the grid of :class:`~semcom_sim.phy.link.OFDMLink`):

* ``m = phy.num_bits_per_symbol`` (QAM order: 2 = QPSK, 4 = 16-QAM, 6 = 64-QAM) and ``phy.coderate``
  set the codeword: ``n = num_data_symbols * m`` coded bits and ``k = round(n * coderate)`` information
  bits, lowered to what 5G LDPC allows (``k <= 8448`` and a rate ``k / n <= 948/1024``, the highest
  code rate of 38.214; see :func:`info_bits_per_frame`);
* each sample's ``bits_per_sample`` bits are packed one after the other into a frame's ``k``
  information bits, ``samples_per_frame = k // bits_per_sample`` samples per frame; information bits
  left over and the slots of a partly filled last frame carry fixed pseudo-random filler bits (seeded
  numpy), discarded at the receiver;
* :class:`~sionna.phy.fec.ldpc.LDPC5GEncoder` (rate matching and the 38.212 bit interleaver for
  ``m``) -> :class:`~sionna.phy.mapping.Mapper` (``"qam"``, Gray, unit average energy, so Es = 1)
  -> :class:`OFDMLink` (channel, CSI, LMMSE) -> :class:`~sionna.phy.mapping.Demapper` (``"app"``,
  with the LMMSE's per-symbol effective noise variances ``no_eff``) ->
  :class:`~sionna.phy.fec.ldpc.LDPC5GDecoder` (flooding BP, hard decisions on the info bits).
  Sionna 1.2's demapper emits logits ``ln P(b=1)/P(b=0)``, which is exactly what the decoder takes as
  input, so no sign flip is needed between them.

Eb/N0 is counted against the information bits that carry samples: ``ebno_db_to_no(ebno_db, m,
r_eff, resource_grid)`` with ``r_eff = samples_per_frame * bits_per_sample / n``; filler bits are
overhead, like pilots and the cyclic prefix, so a digital and an analog scheme at the same Eb/N0 spend
the same energy per information bit they deliver.

The receiver takes hard decisions: below the code's threshold whole frames fail (the "cliff effect"),
above it they decode error-free. ``LinkOutput.block_error`` flags the samples of failed frames.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import Demapper, Mapper
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import EPDetector, KBestDetector, LinearDetector, MaximumLikelihoodDetector

from semcom_sim.errors import ScenarioError
from semcom_sim.phy.base import FramePacker, Link, LinkOutput
from semcom_sim.phy.link import OFDMLink
from semcom_sim.phy.mimo import MIMOOFDMLink, MIMOStreams, mean_db, mean_receive_snr_db
from semcom_sim.scenario import Phy

_FILLER_SEED = 11

# Limits of 5G NR LDPC (38.212 5.2.2 and 5.4.2.1, 38.214 5.1.3.1) that Sionna's encoder enforces.
MAX_INFO_BITS = 8448
MIN_INFO_BITS = 12
MAX_CODED_BITS = 316 * 384
MAX_CODERATE = 948 / 1024
MIN_CODERATE = 1 / 5


def _filler_bits(num: int) -> np.ndarray:
    return np.random.default_rng(_FILLER_SEED).integers(0, 2, size=max(int(num), 0)).astype(np.float32)


def info_bits_per_frame(n: int, coderate: float) -> int:
    """The information bits ``k`` of one codeword of ``n`` coded bits at ``coderate``.

    ``k = round(n * coderate)``, lowered to ``min(8448, floor(n * 948/1024))`` where 5G LDPC allows no
    more (Sionna's encoder accepts rates up to 0.95 with a printed warning above 948/1024; this keeps to
    the 38.214 maximum). Raises :class:`ScenarioError` where no 5G codeword fits (rate below 1/5, ``n`` too
    large, or fewer than 12 information bits).
    """
    if n > MAX_CODED_BITS:
        raise ScenarioError(f"phy.fft_size: a frame of {n} coded bits exceeds 5G LDPC's {MAX_CODED_BITS}; "
                            "use a smaller grid")
    if coderate < MIN_CODERATE:
        raise ScenarioError(f"phy.coderate: {coderate} is below 5G LDPC's minimum rate 1/5")
    k = min(int(round(n * coderate)), MAX_INFO_BITS, int(math.floor(n * MAX_CODERATE)))
    if k < MIN_INFO_BITS:
        raise ScenarioError(f"phy.coderate: k={k} information bits per frame is below 5G LDPC's minimum of "
                            f"{MIN_INFO_BITS}")
    return k


class DigitalLink(Link):
    """The digital separation link of a scenario's ``phy`` carrying ``bits_per_sample`` bits per sample:
    bits in, decoded bits out, one 5G LDPC codeword per OFDM frame (see the module docstring and
    :class:`~semcom_sim.phy.base.Link` for the causal order of its calls).

    Works eagerly and inside ``tf.function`` with a static batch size, with or without
    ``jit_compile`` (Sionna 1.2's BP decoder compiles under XLA on CPU). While a model trains, the
    link is an error-free bit pipe (``error_free_while_training``), and its decoder sees no SNR.

    :param phy: the scenario's physical layer; ``phy.num_bits_per_symbol`` must be an even integer (QAM).
    :param bits_per_sample: bits each sample carries (e.g. features x bits per feature of a quantiser).
    :param num_bp_iterations: belief-propagation iterations of the decoder (no early stopping).
    """

    decoder_sees_snr = False
    error_free_while_training = True

    def __init__(self, phy: Phy, bits_per_sample: int, num_bp_iterations: int = 20):
        m = phy.num_bits_per_symbol
        if m != int(m) or int(m) < 2 or int(m) % 2:
            raise ScenarioError(f"phy.num_bits_per_symbol: {m} is not a QAM order (an even integer >= 2)")
        bits_per_sample = int(bits_per_sample)
        if bits_per_sample <= 0:
            raise ValueError(f"bits_per_sample must be > 0, got {bits_per_sample}")
        self.phy = phy
        self.num_bits_per_symbol = m = int(m)
        self.bits_per_sample = bits_per_sample
        self.ofdm = self._make_ofdm(phy)
        self._n = self._symbols_per_frame() * m
        self._k = info_bits_per_frame(self._n, phy.coderate)
        if bits_per_sample > self._k:
            raise ValueError(f"bits_per_sample={bits_per_sample} exceeds the k={self._k} information bits "
                             "of one frame; enlarge the grid or phy.coderate, or send fewer bits")
        self.packer = FramePacker(bits_per_sample, self._k, _filler_bits, "bits")
        self.coderate_eff = self.packer.used / self._n
        self.encoder = LDPC5GEncoder(self._k, self._n, num_bits_per_symbol=m)
        self.decoder = LDPC5GDecoder(self.encoder, hard_out=True, num_iter=int(num_bp_iterations))
        self.mapper = Mapper("qam", m)
        self.demapper = Demapper("app", "qam", m)

    def _make_ofdm(self, phy: Phy):
        return OFDMLink(phy)

    def _symbols_per_frame(self) -> int:
        return self.ofdm.num_data_symbols

    @property
    def n(self) -> int:
        """Coded bits per frame (one codeword): ``num_data_symbols * num_bits_per_symbol`` (times the streams)."""
        return self._n

    @property
    def k(self) -> int:
        """Information bits per frame (one codeword)."""
        return self._k

    def pack(self, bits: tf.Tensor) -> tf.Tensor:
        """[batch, bits_per_sample] -> information bits of the frames [num_frames, k] float32 (with filler)."""
        return self.packer.pack(bits)

    def unpack(self, frames: tf.Tensor, batch_size: int) -> tf.Tensor:
        """[num_frames, k] -> [batch, bits_per_sample] (drops the filler)."""
        return self.packer.unpack(frames, batch_size)

    def transmit(self, bits: tf.Tensor, h, no, num_active: tf.Tensor | None = None) -> LinkOutput:
        """Sends ``bits`` [batch, bits_per_sample] (float32 or int, values in {0, 1}) over the frames
        of ``h`` with noise variances ``no`` [num_frames]; ``features`` of the output are the decoded
        bits [batch, bits_per_sample] float32 and ``block_error`` flags the samples of failed frames
        (all ``k`` decoded information bits of the frame, filler included, compared). Every sample
        sends its whole codeword share: ``num_active`` must be ``None``."""
        if num_active is not None:
            raise ValueError("DigitalLink sends whole codewords: nested lengths (num_active) need the analog link")
        batch = bits.shape[0]
        info = self.pack(bits)
        x = self.mapper(self.encoder(info))
        out = self.ofdm(x, h, no)
        llr = self.demapper(out.x_hat, out.no_eff)
        info_hat = self.decoder(llr)
        frame_error = tf.cast(tf.reduce_any(tf.not_equal(info_hat, info), axis=-1), tf.float32)
        return LinkOutput(
            features=self.unpack(info_hat, batch),
            snr_hat_db=self.frame_values(out.snr_hat_db, batch),
            snr_eff_db=tf.zeros([batch], tf.float32),
            snr_true_db=self.frame_values(out.snr_true_db, batch),
            block_error=self.frame_values(frame_error, batch),
        )


class MIMODigitalLink(MIMOStreams, DigitalLink):
    """The digital separation link over :class:`~semcom_sim.phy.mimo.MIMOOFDMLink`: one 5G LDPC codeword per
    frame across all ``num_streams x num_data_symbols`` resource elements (the QAM symbols across the streams
    first, like :class:`~semcom_sim.phy.analog.MIMOAnalogLink`), detected by ``phy.detector``:

    * ``"linear"``: Sionna's ``LinearDetector`` (``phy.equalizer``, then APP demapping with each symbol's
      effective noise variance: the SISO chain's equaliser and demapper for several streams);
    * ``"kbest"``: ``KBestDetector`` keeping ``phy.kbest_num_paths`` paths (LLRs from its list);
    * ``"ep"``: ``EPDetector`` (expectation propagation, 10 iterations, damping 0.9, Sionna's defaults);
    * ``"ml"``: ``MaximumLikelihoodDetector`` with APP demapping (exact LLRs; small configurations).

    The transmitter precodes as the analog link does and learns the same per-stream SINRs; the receiver's
    ``snr_hat_db`` (a diagnostic: the decoder sees no SNR) is the linear mean of the post-equalisation SINRs.
    """

    def __init__(self, phy: Phy, bits_per_sample: int, num_bp_iterations: int = 20):
        super().__init__(phy, bits_per_sample, num_bp_iterations)
        self.num_streams = self.ofdm.num_streams
        rg, m = self.ofdm.resource_grid, self.num_bits_per_symbol
        streams = StreamManagement(np.ones([1, 1], np.int32), self.num_streams)
        common = dict(resource_grid=rg, stream_management=streams)
        if phy.detector == "linear":
            self.detector = LinearDetector(phy.equalizer, "bit", "app", constellation_type="qam",
                                           num_bits_per_symbol=m, **common)
        elif phy.detector == "kbest":
            self.detector = KBestDetector("bit", self.num_streams, phy.kbest_num_paths, constellation_type="qam",
                                          num_bits_per_symbol=m, **common)
        elif phy.detector == "ep":
            self.detector = EPDetector("bit", num_bits_per_symbol=m, **common)
        else:
            self.detector = MaximumLikelihoodDetector("bit", "app", constellation_type="qam", num_bits_per_symbol=m,
                                                      **common)

    def _make_ofdm(self, phy: Phy):
        return MIMOOFDMLink(phy)

    def _symbols_per_frame(self) -> int:
        return self.ofdm.num_streams * self.ofdm.num_data_symbols

    def transmit(self, bits: tf.Tensor, h, no, num_active: tf.Tensor | None = None) -> LinkOutput:
        """As :meth:`DigitalLink.transmit`, with ``h`` the ``(h, h_sound)`` of :meth:`draw_channel`."""
        if num_active is not None:
            raise ValueError("DigitalLink sends whole codewords: nested lengths (num_active) need the analog link")
        h, h_sound = h
        batch = bits.shape[0]
        info = self.pack(bits)
        x = self.to_streams(self.mapper(self.encoder(info)))
        received = self.ofdm.receive(x, h, no, self.ofdm.precoder(h, h_sound, no))
        llr = self.detector(*received)[:, 0]  # [frames, streams, num_data_symbols * m]
        llr = tf.reshape(llr, [tf.shape(llr)[0], self.num_streams, -1, self.num_bits_per_symbol])
        llr = tf.reshape(tf.transpose(llr, [0, 2, 1, 3]), [tf.shape(llr)[0], -1])  # the codeword's bit order
        info_hat = self.decoder(llr)
        frame_error = tf.cast(tf.reduce_any(tf.not_equal(info_hat, info), axis=-1), tf.float32)
        return LinkOutput(
            features=self.unpack(info_hat, batch),
            snr_hat_db=self.frame_values(mean_db(self.ofdm.equalize(received).sinr_db), batch),
            snr_eff_db=tf.zeros([batch], tf.float32),
            snr_true_db=self.frame_values(mean_receive_snr_db(h, no), batch),
            block_error=self.frame_values(frame_error, batch),
        )

