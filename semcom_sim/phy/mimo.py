"""Single-user MIMO OFDM: several streams from a transmitter's antennas to a receiver's, equalised jointly.

One stream per transmit antenna (spatial multiplexing without precoding), the total transmit power normalised
over the antennas: each antenna sends its unit-energy symbols scaled by ``1 / sqrt(num_tx_ant)``, so a
resource element carries energy 1 whatever the number of streams. Eb/N0 is Sionna's ``ebnodb2no`` with the
multi-stream resource grid: the bits of all streams share that energy, so at one Eb/N0 the noise variance is
``1 / num_streams`` of a single stream's, and every stream of an identity channel sees the SNR of a SISO link
(tested). Channels: AWGN (the identity matrix, ``num_rx_ant >= num_tx_ant``) and i.i.d. Rayleigh block fading
(every antenna pair an independent CN(0, 1) gain, constant over the frame).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf
from sionna.phy import Block, config
from sionna.phy.channel import ApplyOFDMChannel, RayleighBlockFading, cir_to_ofdm_channel, subcarrier_frequencies
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import (
    LMMSEEqualizer,
    LSChannelEstimator,
    RemoveNulledSubcarriers,
    ResourceGridMapper,
    ZFEqualizer,
)

from semcom_sim.phy.conventions import ebno_db_to_no
from semcom_sim.phy.resource_grid import make_resource_grid
from semcom_sim.phy.snr import _db
from semcom_sim.scenario import Phy

MIMO_CHANNELS = ("AWGN", "Rayleigh")
MIMO_EQUALIZERS = ("lmmse", "zf")


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


class MIMOOFDMLink(Block):
    """A ``num_tx_ant`` x ``num_rx_ant`` OFDM link of ``phy``'s grid, one stream per transmit antenna:
    maps the streams onto the grid, scales the total power to one per resource element, applies the channel and
    CN(0, N0) noise, estimates CSI (``phy.csi``: perfect or LS on the orthogonal pilots) and equalises all
    streams jointly (``equalizer``: ``"lmmse"`` or ``"zf"``).

    :param phy: the grid, CSI and channel (``phy.channel`` one of :data:`MIMO_CHANNELS`).
    :param num_tx_ant: transmit antennas = streams.
    :param num_rx_ant: receive antennas (at least ``num_tx_ant``).
    :param equalizer: ``"lmmse"`` or ``"zf"``.

    Input of :meth:`call`: ``x`` [num_frames, num_streams, num_data_symbols] complex64 with unit average energy,
    ``h`` from :meth:`draw_channel`, ``no`` [num_frames] float32. Output: :class:`MIMOOutput`.
    """

    def __init__(self, phy: Phy, num_tx_ant: int, num_rx_ant: int, equalizer: str = "lmmse", **kwargs):
        super().__init__(**kwargs)
        _ = config.tf_rng  # create Sionna's generator eagerly, never inside a traced function
        if phy.channel not in MIMO_CHANNELS:
            raise ValueError(f"phy.channel: {phy.channel!r} has no multi-antenna model here; one of "
                             f"{', '.join(MIMO_CHANNELS)}")
        if equalizer not in MIMO_EQUALIZERS:
            raise ValueError(f"equalizer: {equalizer!r} is not one of {', '.join(MIMO_EQUALIZERS)}")
        if not 1 <= int(num_tx_ant) <= int(num_rx_ant):
            raise ValueError(f"num_rx_ant: {num_rx_ant} receive antennas cannot separate {num_tx_ant} streams; "
                             "need 1 <= num_tx_ant <= num_rx_ant")
        self.phy = phy
        self.num_tx_ant, self.num_rx_ant = int(num_tx_ant), int(num_rx_ant)
        self.num_streams = self.num_tx_ant
        self.resource_grid = rg = make_resource_grid(phy, self.num_streams)
        self.num_data_symbols = int(rg.num_data_symbols)
        self._frequencies = subcarrier_frequencies(rg.fft_size, rg.subcarrier_spacing)
        self._rayleigh = (RayleighBlockFading(num_rx=1, num_rx_ant=self.num_rx_ant, num_tx=1,
                                              num_tx_ant=self.num_tx_ant) if phy.channel == "Rayleigh" else None)
        self._mapper = ResourceGridMapper(rg)
        self._apply = ApplyOFDMChannel()
        self._remove_nulls = RemoveNulledSubcarriers(rg)
        self._estimator = (LSChannelEstimator(rg, interpolation_type=phy.interpolation)
                           if phy.csi == "ls" else None)
        streams = StreamManagement(np.ones([1, 1], np.int32), self.num_streams)
        self._equalizer = (LMMSEEqualizer if equalizer == "lmmse" else ZFEqualizer)(rg, streams)
        self._scale = tf.constant(1.0 / np.sqrt(self.num_tx_ant), tf.complex64)

    def noise_variance(self, ebno_db, num_bits_per_symbol: float = 2, coderate: float = 1.0) -> tf.Tensor:
        """N0 for an Eb/N0 in dB: Sionna's ``ebnodb2no`` with this link's multi-stream grid (pilot and
        cyclic-prefix energy count against Eb; all streams share one unit of energy per resource element)."""
        return ebno_db_to_no(ebno_db, num_bits_per_symbol, coderate, self.resource_grid)

    def draw_channel(self, num_frames: int) -> tf.Tensor:
        """Channel frequency responses [num_frames, 1, num_rx_ant, 1, num_tx_ant, num_ofdm_symbols, fft_size]."""
        rg = self.resource_grid
        if self._rayleigh is None:
            eye = tf.eye(self.num_rx_ant, self.num_tx_ant, dtype=tf.complex64)
            return tf.broadcast_to(eye[None, None, :, None, :, None, None],
                                   [num_frames, 1, self.num_rx_ant, 1, self.num_tx_ant, rg.num_ofdm_symbols,
                                    rg.fft_size])
        a, tau = self._rayleigh(num_frames, rg.num_ofdm_symbols)
        return cir_to_ofdm_channel(self._frequencies, a, tau, normalize=False)

    def call(self, x, h, no):
        x_grid = self._mapper(x[:, None]) * self._scale  # [frames, 1, streams = tx antennas, symbols, fft]
        y = self._apply(x_grid, h, tf.reshape(no, [-1, 1, 1, 1, 1]))
        if self._estimator is None:
            h_hat, err_var = self._remove_nulls(h) * self._scale, tf.zeros([], tf.float32)
        else:
            h_hat, err_var = self._estimator(y, no)
        x_hat, no_eff = self._equalizer(y, h_hat, err_var, tf.reshape(no, [-1, 1, 1]))
        x_hat, no_eff = x_hat[:, 0], no_eff[:, 0]
        sinr_db = _db(tf.reduce_mean(1.0 / no_eff, axis=-1))
        return MIMOOutput(x_hat=x_hat, no_eff=no_eff, sinr_db=sinr_db)
