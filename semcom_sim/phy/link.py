"""The OFDM link: resource grid -> channel -> CSI estimation -> LMMSE equalisation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf
from sionna.phy import Block, config
from sionna.phy.channel import ApplyOFDMChannel, cir_to_ofdm_channel, subcarrier_frequencies
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import LMMSEEqualizer, LSChannelEstimator, RemoveNulledSubcarriers, ResourceGridMapper

from semcom_sim.phy.channels import make_channel_model
from semcom_sim.phy.resource_grid import make_resource_grid, null_subcarrier_indices
from semcom_sim.phy.snr import _db, estimate_no_from_nulls, estimate_snr_db_from_pilots, quantize_snr_db
from semcom_sim.scenario import Phy


class OFDMOutput(NamedTuple):
    """What the receiver has after one data frame (all tensors have ``num_frames`` first).

    * ``x_hat`` [num_frames, num_data_symbols] complex64: LMMSE-equalised data symbols.
    * ``no_eff`` [num_frames, num_data_symbols] float32: their effective noise variances.
    * ``snr_hat_db`` [num_frames] float32: the receiver's pilot-based SNR estimate of this frame.
    * ``snr_true_db`` [num_frames] float32: the true mean |h|^2 Es/N0 over the data REs (diagnostics only).
    """

    x_hat: tf.Tensor
    no_eff: tf.Tensor
    snr_hat_db: tf.Tensor
    snr_true_db: tf.Tensor


class OFDMLink(Block):
    """SISO OFDM link of a scenario's ``phy`` section, split the way a real system works:

    1. :meth:`draw_channel` draws the channel of the data frame and of the sounding frame that
       precedes it by ``phy.snr_feedback_delay_ms`` (rounded to whole OFDM symbols); for block
       fading and AWGN both are the same.
    2. :meth:`sound` is what the transmitter learns before sending: the receiver's SNR estimate on
       the sounding frame (its own noise draw), quantised to ``phy.snr_feedback_bits``.
    3. :meth:`call` sends the data frame: maps symbols onto the grid, applies the channel and
       CN(0, N0) noise, estimates CSI (perfect or LS) and equalises (LMMSE).

    Input of :meth:`call`: ``x`` [num_frames, num_data_symbols] complex64 with unit average energy,
    ``h`` from :meth:`draw_channel`, ``no`` [num_frames] float32. Output: :class:`OFDMOutput`.
    """

    def __init__(self, phy: Phy, **kwargs):
        super().__init__(**kwargs)
        _ = config.tf_rng  # create Sionna's generator eagerly, never inside a traced function
        self.phy = phy
        self.resource_grid = rg = make_resource_grid(phy)
        self.num_data_symbols = int(rg.num_data_symbols)
        self.channel_model = make_channel_model(phy)
        self._frequencies = subcarrier_frequencies(rg.fft_size, rg.subcarrier_spacing)
        self._sampling_frequency = 1.0 / rg.ofdm_symbol_duration
        self.lag_symbols = int(round(phy.snr_feedback_delay_ms * 1e-3 / rg.ofdm_symbol_duration))
        self._mapper = ResourceGridMapper(rg)
        self._apply = ApplyOFDMChannel()
        self._remove_nulls = RemoveNulledSubcarriers(rg)
        self._estimator = (LSChannelEstimator(rg, interpolation_type=phy.interpolation)
                           if phy.csi == "ls" else None)
        self._equalizer = LMMSEEqualizer(rg, StreamManagement(np.ones([1, 1], np.int32), 1))
        self._null_ind = tf.constant(null_subcarrier_indices(rg))
        self._effective_ind = tf.constant(np.asarray(rg.effective_subcarrier_ind, np.int32))
        mask = np.asarray(rg.pilot_pattern.mask)[0, 0].reshape(-1)
        self._pilot_ind = tf.constant(np.flatnonzero(mask).astype(np.int32))
        pilots = np.asarray(rg.pilot_pattern.pilots)
        self._pilot_energy = float(np.mean(np.abs(pilots) ** 2)) if pilots.size else 1.0
        data_mask = (mask == 0).reshape(rg.num_ofdm_symbols, rg.num_effective_subcarriers)
        self._data_mask = tf.constant(data_mask, tf.float32)

    # -- channel ----------------------------------------------------------------------------------
    def draw_channel(self, num_frames: int) -> tuple[tf.Tensor, tf.Tensor]:
        """Channel frequency responses of the data and sounding frames.

        :return: ``(h, h_sound)``, each [num_frames, 1, 1, 1, 1, num_ofdm_symbols, fft_size] complex64.
        """
        rg = self.resource_grid
        shape = [num_frames, 1, 1, 1, 1, rg.num_ofdm_symbols, rg.fft_size]
        if self.channel_model is None:
            h = tf.ones(shape, tf.complex64)
            return h, h
        num_steps = rg.num_ofdm_symbols + self.lag_symbols
        a, tau = self.channel_model(num_frames, num_steps, self._sampling_frequency)
        h_all = cir_to_ofdm_channel(self._frequencies, a, tau, normalize=False)
        h = h_all[..., self.lag_symbols:, :]
        h_sound = h_all[..., : rg.num_ofdm_symbols, :]
        return h, h_sound

    def _receive(self, x_grid, h, no):
        return self._apply(x_grid, h, tf.reshape(no, [-1, 1, 1, 1, 1]))

    def _snr_db(self, y, h, no, no_hat):
        if self.phy.snr_estimator == "pilots":
            return estimate_snr_db_from_pilots(y, no_hat, self._effective_ind, self._pilot_ind,
                                               self._pilot_energy)
        return self._true_snr_db(h, no)

    def _true_snr_db(self, h, no):
        h_eff = tf.reshape(self._remove_nulls(h), [tf.shape(h)[0], self.resource_grid.num_ofdm_symbols, -1])
        gain = tf.reduce_sum(tf.square(tf.abs(h_eff)) * self._data_mask, axis=[1, 2])
        gain = gain / tf.reduce_sum(self._data_mask)
        return _db(gain / no)

    def data_snr(self, h: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        """The SNR ``|h|^2 Es / N0`` (Es = 1) of every data resource element of each frame, in the order the
        grid's mapper fills them (OFDM symbol by symbol, subcarriers within): [num_frames, num_data_symbols]
        float32, linear."""
        h_eff = tf.reshape(self._remove_nulls(h), [tf.shape(h)[0], -1])  # [frames, symbols * effective subcarriers]
        data = tf.boolean_mask(tf.square(tf.abs(h_eff)), tf.reshape(self._data_mask > 0, [-1]), axis=1)
        return data / tf.reshape(no, [-1, 1])

    def _no_hat(self, y, no):
        # The null subcarriers carry no data, so no_hat does not depend on what is sent: stopping the
        # gradient there is exact and keeps the backward pass off the receiver's estimators.
        if self.phy.snr_estimator == "pilots":
            return tf.stop_gradient(estimate_no_from_nulls(y, self._null_ind))
        return no

    def _pilot_grid(self, num_frames):
        zeros = tf.zeros([num_frames, 1, 1, self.num_data_symbols], tf.complex64)
        return self._mapper(zeros)

    def sound(self, h_sound: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        """The SNR in dB that the transmitter knows before sending: the receiver's estimate on the
        sounding frame, fed back through ``phy.snr_feedback_bits``. Shape [num_frames], float32."""
        y = self._receive(self._pilot_grid(tf.shape(no)[0]), h_sound, no)
        snr_db = self._snr_db(y, h_sound, no, self._no_hat(y, no))
        return quantize_snr_db(snr_db, self.phy.snr_feedback_bits, self.phy.snr_feedback_range_db)

    # -- data frame -------------------------------------------------------------------------------
    def call(self, x, h, no):
        x_grid = self._mapper(x[:, None, None, :])
        y = self._receive(x_grid, h, no)
        no_hat = self._no_hat(y, no)
        if self._estimator is None:
            h_hat, err_var, no_eq = self._remove_nulls(h), tf.zeros([], tf.float32), no
        else:
            h_hat, err_var = self._estimator(y, no_hat)
            no_eq = no_hat
        x_hat, no_eff = self._equalizer(y, h_hat, err_var, tf.reshape(no_eq, [-1, 1, 1]))
        return OFDMOutput(x_hat=x_hat[:, 0, 0, :], no_eff=no_eff[:, 0, 0, :],
                          snr_hat_db=self._snr_db(y, h, no, no_hat), snr_true_db=self._true_snr_db(h, no))
