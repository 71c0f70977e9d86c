"""Single-user MIMO OFDM: ``num_streams`` spatial layers from the transmitting array to the receiving one.

The antennas, direction, streams and precoding come from the scenario's ``phy`` (``num_ut_ant``, ``num_bs_ant``,
``direction``, ``num_streams``, ``precoding``, ``precoding_csi``, ``equalizer``).

* **Power.** The total transmit power is one per resource element whatever the number of antennas: every
  stream's unit-energy symbols are scaled by ``1 / sqrt(num_streams)``, after the precoder's unit-norm
  columns (``precoding="none"``: each antenna sends its own stream, the identity precoder).
* **Eb/N0.** Sionna's ``ebnodb2no`` with the multi-stream resource grid: the bits of all streams share that
  unit of energy, so at one Eb/N0 the noise variance is ``1 / num_streams`` of a single stream's, and every
  stream of an identity channel sees the SNR of a SISO link (tested).
* **Precoding.** ``zf`` / ``rzf``: Sionna's regularised zero forcing (stream ``k`` to receive antenna ``k``;
  ``alpha = 0`` for ZF, ``alpha = num_streams * N0`` for RZF, the regulariser that maximises the
  signal-to-leakage ratio at total power one); ``svd``: the ``num_streams`` strongest right singular
  vectors of the channel per resource element (eigen-beamforming; one stream is maximum-ratio transmission).
  The transmitter precodes with ``precoding_csi``: ``"sounded"``, the receiver's estimate of the channel on
  a sounding frame sent ``phy.snr_feedback_delay_ms`` before the data frame (unprecoded orthogonal pilots
  from every transmit antenna, estimated like the data frame's CSI, fed back unquantised), or ``"perfect"``,
  the data frame's own channel. The pilots of the data frame are precoded with the data, so an LS receiver
  estimates the effective channel ``H G / sqrt(num_streams)`` (DMRS-like); a perfect-CSI receiver is given it.
* **Feedback.** :meth:`MIMOOFDMLink.sound` returns every stream's post-equalisation SINR as the receiver
  computes it on the sounding frame (its channel estimate, its N0 estimate, the precoder the transmitter
  would use), quantised per stream to ``phy.snr_feedback_bits``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf
from sionna.phy import Block, config
from sionna.phy.channel import ApplyOFDMChannel
from sionna.phy.mimo import StreamManagement, rzf_precoding_matrix
from sionna.phy.ofdm import (
    LMMSEEqualizer,
    LSChannelEstimator,
    RemoveNulledSubcarriers,
    ResourceGridMapper,
    ZFEqualizer,
)

from semcom_sim.phy.channels import draw_ofdm_channel, make_channel_model
from semcom_sim.phy.conventions import ebno_db_to_no
from semcom_sim.phy.resource_grid import make_resource_grid, null_subcarrier_indices
from semcom_sim.phy.snr import _db, estimate_no_from_nulls, quantize_snr_db
from semcom_sim.scenario import Phy


class MIMOOutput(NamedTuple):
    """What the receiver has after one data frame (all tensors have ``num_frames`` first).

    * ``x_hat`` [num_frames, num_streams, num_data_symbols] complex64: equalised symbols of every stream.
    * ``no_eff`` [num_frames, num_streams, num_data_symbols] float32: their effective noise variances.
    * ``sinr_db`` [num_frames, num_streams] float32: each stream's post-equalisation SINR,
      ``mean(1 / no_eff)`` over its data resource elements, in dB.
    """

    x_hat: tf.Tensor
    no_eff: tf.Tensor
    sinr_db: tf.Tensor


class MIMOReceived(NamedTuple):
    """What the receiver holds before detection (the inputs of Sionna's OFDM equalisers and detectors).

    * ``y`` [num_frames, 1, num_rx_ant, num_ofdm_symbols, fft_size] complex64: the received grid.
    * ``h_hat`` [num_frames, 1, num_rx_ant, 1, num_streams, num_ofdm_symbols, num_effective_subcarriers]
      complex64: the effective channel of every stream (precoder included), estimated or perfect.
    * ``err_var``: its estimation error variance (broadcastable to ``h_hat``; 0 with perfect CSI).
    * ``no`` [num_frames, 1, 1] float32: the N0 the receiver uses (estimated, or the true one).
    """

    y: tf.Tensor
    h_hat: tf.Tensor
    err_var: tf.Tensor
    no: tf.Tensor


class MIMOOFDMLink(Block):
    """The multi-antenna OFDM link of ``phy`` (see the module docstring), split the way
    :class:`~semcom_sim.phy.link.OFDMLink` is:

    1. :meth:`draw_channel`: the data frame's channel and the sounding frame's, ``phy.snr_feedback_delay_ms``
       earlier (whole OFDM symbols);
    2. :meth:`precoder`: the precoding matrices the transmitter computes from the CSI it has;
    3. :meth:`sound`: the per-stream SINR fed back to the transmitter;
    4. :meth:`call`: maps the streams onto the grid, precodes, applies the channel and CN(0, N0) noise,
       estimates CSI (``phy.csi``) and equalises all streams jointly (``phy.equalizer``).

    :param phy: the grid, channel, arrays and precoding.

    Input of :meth:`call`: ``x`` [num_frames, num_streams, num_data_symbols] complex64 with unit average energy,
    ``h`` from :meth:`draw_channel`, ``no`` [num_frames] float32, ``g`` from :meth:`precoder` (``None``
    without precoding). Output: :class:`MIMOOutput`.
    """

    def __init__(self, phy: Phy, **kwargs):
        super().__init__(**kwargs)
        _ = config.tf_rng  # create Sionna's generator eagerly, never inside a traced function
        self.phy = phy
        self.num_tx_ant, self.num_rx_ant, self.num_streams = phy.num_tx_ant, phy.num_rx_ant, phy.num_streams
        self.resource_grid = rg = make_resource_grid(phy, self.num_streams)
        # the sounding frame: orthogonal pilots from every transmit antenna, unprecoded
        self.sounding_grid = srg = make_resource_grid(phy, self.num_tx_ant)
        self._sound_data_symbols = int(srg.num_data_symbols)  # a Python int: Sionna computes it with TF ops
        self.num_data_symbols = int(rg.num_data_symbols)
        self.channel_model = make_channel_model(phy)
        self.lag_symbols = int(round(phy.snr_feedback_delay_ms * 1e-3 / rg.ofdm_symbol_duration))
        self._mapper, self._sound_mapper = ResourceGridMapper(rg), ResourceGridMapper(srg)
        self._apply = ApplyOFDMChannel()
        self._remove_nulls = RemoveNulledSubcarriers(rg)
        ls = phy.csi == "ls"
        self._estimator = LSChannelEstimator(rg, interpolation_type=phy.interpolation) if ls else None
        self._sound_estimator = LSChannelEstimator(srg, interpolation_type=phy.interpolation) if ls else None
        streams = StreamManagement(np.ones([1, 1], np.int32), self.num_streams)
        self._equalizer = (LMMSEEqualizer if phy.equalizer == "lmmse" else ZFEqualizer)(rg, streams)
        self._scale = tf.constant(1.0 / np.sqrt(self.num_streams), tf.complex64)
        effective = np.asarray(rg.effective_subcarrier_ind, np.int64)
        self._effective_ind = tf.constant(effective, tf.int32)
        self._null_ind = tf.constant(null_subcarrier_indices(rg))
        select = np.zeros([len(effective), rg.fft_size], np.complex64)
        select[np.arange(len(effective)), effective] = 1.0
        self._to_fft = tf.constant(select)  # [num_effective_subcarriers, fft_size]

    def noise_variance(self, ebno_db, num_bits_per_symbol: float = 2, coderate: float = 1.0) -> tf.Tensor:
        """N0 for an Eb/N0 in dB: Sionna's ``ebnodb2no`` with this link's multi-stream grid (pilot and
        cyclic-prefix energy count against Eb; all streams share one unit of energy per resource element)."""
        return ebno_db_to_no(ebno_db, num_bits_per_symbol, coderate, self.resource_grid)

    # -- channel ----------------------------------------------------------------------------------
    def draw_channel(self, num_frames: int) -> tuple[tf.Tensor, tf.Tensor]:
        """Channel frequency responses of the data and sounding frames.

        :return: ``(h, h_sound)``, each [num_frames, 1, num_rx_ant, 1, num_tx_ant, num_ofdm_symbols, fft_size]
            complex64 (AWGN: the identity).
        """
        return draw_ofdm_channel(self.channel_model, self.resource_grid, num_frames, self.num_rx_ant, self.num_tx_ant,
                                 self.lag_symbols)

    # -- transmitter's CSI ------------------------------------------------------------------------
    def _sounding(self, h_sound, no):
        """The receiver's view of the sounding frame: ``(h_hat, err_var, no_hat)``, ``h_hat``
        [num_frames, 1, num_rx_ant, 1, num_tx_ant, num_ofdm_symbols, num_effective_subcarriers]."""
        num_frames = tf.shape(no)[0]
        zeros = tf.zeros([num_frames, 1, self.num_tx_ant, self._sound_data_symbols], tf.complex64)
        y = self._apply(self._sound_mapper(zeros), h_sound, tf.reshape(no, [-1, 1, 1, 1, 1]))
        no_hat = (tf.stop_gradient(estimate_no_from_nulls(y, self._null_ind))
                  if self.phy.snr_estimator == "pilots" else no)
        if self._sound_estimator is None:
            return self._remove_nulls(h_sound), tf.zeros([], tf.float32), no_hat
        h_hat, err_var = self._sound_estimator(y, no_hat)
        return h_hat, err_var, no_hat

    def precoder(self, h: tf.Tensor, h_sound: tf.Tensor, no: tf.Tensor) -> tf.Tensor | None:
        """The precoding matrices ``g`` [num_frames, num_ofdm_symbols, num_effective_subcarriers, num_tx_ant,
        num_streams] complex64 (unit-norm columns) the transmitter computes from ``phy.precoding_csi``;
        ``None`` without precoding."""
        if self.phy.precoding == "none":
            return None
        if self.phy.precoding_csi == "perfect":
            h_t = self._remove_nulls(h)
        else:
            h_t = self._sounding(h_sound, no)[0]
        return self._precoding_matrix(h_t, no)

    def _precoding_matrix(self, h_t, no):
        h_t = tf.transpose(h_t[:, 0, :, 0], [0, 3, 4, 1, 2])  # [frames, symbols, subcarriers, rx ant, tx ant]
        if self.phy.precoding == "svd":
            return _strongest_right_singular_vectors(h_t, self.num_streams)
        alpha = 0.0 if self.phy.precoding == "zf" else self.num_streams * tf.reshape(no, [-1, 1, 1])
        return rzf_precoding_matrix(h_t, alpha=alpha)

    def _precoded(self, h, g):
        """``H G / sqrt(num_streams)`` [num_frames, 1, num_rx_ant, 1, num_streams, num_ofdm_symbols,
        num_effective_subcarriers] from ``h`` (nulled subcarriers removed) and ``g`` (``None``: identity)."""
        if g is None:
            return h * self._scale
        h_eff = tf.matmul(tf.transpose(h[:, 0, :, 0], [0, 3, 4, 1, 2]), g) * self._scale
        return tf.transpose(h_eff, [0, 3, 4, 1, 2])[:, None, :, None]

    def sound(self, h_sound: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        """The per-stream SINR in dB the transmitter knows before sending, [num_frames, num_streams] float32:
        the post-equalisation SINR the receiver computes on the sounding frame with its CSI and N0 estimates
        and the precoder those give, quantised to ``phy.snr_feedback_bits``."""
        h_hat, err_var, no_hat = self._sounding(h_sound, no)
        g = None if self.phy.precoding == "none" else self._precoding_matrix(h_hat, no)
        h_eff = self._precoded(h_hat, g)
        # the estimate's error, per entry of H, seen through unit-norm precoder columns and the 1/sqrt(S) scaling
        err_eff = err_var if not err_var.shape.rank else tf.reduce_mean(err_var, axis=4, keepdims=True)
        err_eff = err_eff / self.num_streams
        y = tf.zeros([tf.shape(no)[0], 1, self.num_rx_ant, self.resource_grid.num_ofdm_symbols,
                      self.resource_grid.fft_size], tf.complex64)  # the SINR does not depend on what is received
        _, no_eff = self._equalizer(y, h_eff, err_eff, tf.reshape(no_hat, [-1, 1, 1]))
        sinr_db = _db(tf.reduce_mean(1.0 / tf.maximum(no_eff[:, 0], 1e-12), axis=-1))
        return quantize_snr_db(sinr_db, self.phy.snr_feedback_bits, self.phy.snr_feedback_range_db)

    # -- data frame -------------------------------------------------------------------------------
    def receive(self, x, h, no, g=None) -> MIMOReceived:
        """Sends the streams ``x`` [num_frames, num_streams, num_data_symbols] complex64 (unit average energy)
        precoded with ``g`` over ``h`` with noise ``no`` [num_frames]; returns what the receiver holds."""
        x_grid = self._mapper(x[:, None]) * self._scale  # [frames, 1, streams, symbols, fft], pilots included
        if g is not None:
            x_eff = tf.transpose(tf.gather(x_grid[:, 0], self._effective_ind, axis=-1), [0, 2, 3, 1])
            x_pre = tf.squeeze(tf.matmul(g, x_eff[..., None]), -1)  # [frames, symbols, subcarriers, tx ant]
            x_grid = tf.matmul(tf.transpose(x_pre, [0, 3, 1, 2]), self._to_fft)[:, None]
        y = self._apply(x_grid, h, tf.reshape(no, [-1, 1, 1, 1, 1]))
        no_hat = (tf.stop_gradient(estimate_no_from_nulls(y, self._null_ind))
                  if self.phy.snr_estimator == "pilots" and self._estimator is not None else no)
        if self._estimator is None:
            h_hat, err_var = self._precoded(self._remove_nulls(h), g), tf.zeros([], tf.float32)
        else:
            h_hat, err_var = self._estimator(y, no_hat)
        return MIMOReceived(y=y, h_hat=h_hat, err_var=err_var, no=tf.reshape(no_hat, [-1, 1, 1]))

    def equalize(self, received: MIMOReceived) -> MIMOOutput:
        """Joint equalisation of all streams (``phy.equalizer``) and each stream's post-equalisation SINR."""
        x_hat, no_eff = self._equalizer(*received)
        x_hat, no_eff = x_hat[:, 0], no_eff[:, 0]
        sinr_db = _db(tf.reduce_mean(1.0 / no_eff, axis=-1))
        return MIMOOutput(x_hat=x_hat, no_eff=no_eff, sinr_db=sinr_db)

    def call(self, x, h, no, g=None):
        return self.equalize(self.receive(x, h, no, g))


def _strongest_right_singular_vectors(h: tf.Tensor, num: int) -> tf.Tensor:
    """The ``num`` strongest right singular vectors of complex matrices ``h`` [..., n, m] -> [..., m, num].

    XLA has no complex SVD, so this takes the SVD of the real representation ``[[Re h, -Im h], [Im h, Re h]]``,
    whose singular values are those of ``h``, each twice, with the right singular vectors ``[x; y]`` and
    ``[-y; x]`` of one complex vector ``x + j y``: every second column is one of them (up to a phase)."""
    re, im = tf.math.real(h), tf.math.imag(h)
    real = tf.concat([tf.concat([re, -im], axis=-1), tf.concat([im, re], axis=-1)], axis=-2)
    _, _, v = tf.linalg.svd(real)  # [..., 2m, 2 min(n, m)], singular values in descending order
    m = h.shape[-1]
    v = v[..., : 2 * num : 2]
    v = tf.complex(v[..., :m, :], v[..., m:, :])
    # a singular vector is defined up to a phase, which the decomposition picks per resource element: rotate each so
    # its first entry is real and non-negative, so the precoder (and the effective channel the receiver estimates
    # and interpolates between pilots) changes smoothly where the channel does
    first = v[..., :1, :]
    phase = tf.math.divide_no_nan(tf.math.conj(first), tf.cast(tf.abs(first), tf.complex64))
    return v * tf.where(tf.abs(first) > 0, phase, tf.ones_like(phase))


def mean_receive_snr_db(h: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
    """The mean receive SNR per antenna, ``mean |h|^2 / N0`` over antenna pairs and the grid, in dB [num_frames]
    (a diagnostic; ``h`` [num_frames, 1, rx, 1, tx, symbols, subcarriers], ``no`` [num_frames])."""
    return _db(tf.reduce_mean(tf.square(tf.abs(h)), axis=[1, 2, 3, 4, 5, 6]) / no)


def mean_db(values_db: tf.Tensor) -> tf.Tensor:
    """The linear mean over the last axis, in dB: [..., n] -> [...]."""
    return _db(tf.reduce_mean(tf.pow(10.0, values_db / 10.0), axis=-1))


class MIMOStreams:
    """What the links over :class:`MIMOOFDMLink` share (a mixin before :class:`~semcom_sim.phy.base.Link`):

    * :meth:`draw_channel` returns ``((h, h_sound), h_sound)``: the transmitter precodes each data frame with
      the CSI of its sounding frame, so ``transmit`` takes both;
    * :meth:`sound`: the per-stream SINRs the receiver measured on the sounding frame (each quantised), of
      which the transmitter's modules read the linear mean in dB, the SINR a sample spread evenly over the
      streams sees (NR likewise reports one CQI per codeword for up to four layers);
    * a frame's values go across the streams first: value ``j`` on RE ``j // S`` of stream ``j % S``.
    """

    ofdm: MIMOOFDMLink
    num_streams: int

    def draw_channel(self, num_frames: int):
        h, h_sound = self.ofdm.draw_channel(num_frames)
        return (h, h_sound), h_sound

    def sound(self, h_sound, no, batch_size: int) -> tf.Tensor:
        return self.frame_values(mean_db(self.ofdm.sound(h_sound, no)), batch_size)

    def to_streams(self, frames: tf.Tensor) -> tf.Tensor:
        """[num_frames, S * num_data_symbols] -> [num_frames, S, num_data_symbols] (across the streams first)."""
        return tf.transpose(tf.reshape(frames, [tf.shape(frames)[0], -1, self.num_streams]), [0, 2, 1])

    def from_streams(self, values: tf.Tensor) -> tf.Tensor:
        """The inverse of :meth:`to_streams`."""
        return tf.reshape(tf.transpose(values, [0, 2, 1]), [tf.shape(values)[0], -1])

