"""Channel models of a scenario: AWGN, Rayleigh block fading, 3GPP TDL and CDL, with the scenario's arrays."""

from __future__ import annotations

import tensorflow as tf
from sionna.phy.channel import RayleighBlockFading, cir_to_ofdm_channel, subcarrier_frequencies
from sionna.phy.channel.tr38901 import CDL, TDL, Antenna, AntennaArray
from sionna.phy.channel.utils import exp_corr_mat

from semcom_sim.scenario import Phy


def make_channel_model(phy: Phy):
    """Returns the Sionna channel model for ``phy.channel``, or ``None`` for AWGN (the identity).

    The model is called as ``model(batch_size, num_time_steps, sampling_frequency)`` and returns
    path gains ``a`` [batch, 1, num_rx_ant, 1, num_tx_ant, num_paths, num_time_steps] (complex64) and delays
    ``tau``, the transmitting end set by ``phy.direction``. TDL and CDL power delay profiles have unit total
    power, Rayleigh block fading draws one CN(0, 1) gain per frame and antenna pair, so E[|h|^2] = 1 for every
    model and antenna pair (tested); the channel is not renormalised per frame, so each frame keeps its own
    fading power.

    Arrays: uniform linear arrays of ``num_*_ant`` elements (cross-polarised pairs with ``dual``
    polarisation) spaced ``phy.antenna_spacing`` wavelengths, for CDL; TDL antennas are correlated by the
    exponential model ``R_ij = rho^|i - j|`` with ``rho = phy.spatial_correlation`` at both ends (Sionna's
    Kronecker model); Rayleigh antennas are independent.
    """
    name = phy.channel
    if name == "AWGN":
        return None
    nt, nr = phy.num_tx_ant, phy.num_rx_ant
    if name == "Rayleigh":
        return RayleighBlockFading(num_rx=1, num_rx_ant=nr, num_tx=1, num_tx_ant=nt)
    family, model = name.split("-")
    delay_spread = phy.delay_spread_ns * 1e-9
    if family == "TDL":
        rho = phy.spatial_correlation
        return TDL(model=model, delay_spread=delay_spread, carrier_frequency=phy.carrier_frequency_hz,
                   min_speed=phy.speed_mps, max_speed=phy.speed_mps, num_rx_ant=nr, num_tx_ant=nt,
                   rx_corr_mat=exp_corr_mat(rho, nr) if rho > 0 and nr > 1 else None,
                   tx_corr_mat=exp_corr_mat(rho, nt) if rho > 0 and nt > 1 else None)
    return CDL(model=model, delay_spread=delay_spread, carrier_frequency=phy.carrier_frequency_hz,
               ut_array=_array(phy, "ut"), bs_array=_array(phy, "bs"), direction=phy.direction,
               min_speed=phy.speed_mps, max_speed=phy.speed_mps)


def _array(phy: Phy, end: str) -> Antenna | AntennaArray:
    """The uniform linear array at ``end`` (``"ut"`` or ``"bs"``) of ``phy``; one vertically polarised element
    is Sionna's single ``Antenna`` (the SISO link of every scenario written before arrays existed)."""
    num_ant = getattr(phy, f"num_{end}_ant")
    dual = getattr(phy, f"{end}_polarization") == "dual"
    pattern = getattr(phy, f"{end}_antenna_pattern")
    if num_ant == 1 and not dual:
        return Antenna(polarization="single", polarization_type="V", antenna_pattern=pattern,
                       carrier_frequency=phy.carrier_frequency_hz)
    return AntennaArray(num_rows=1, num_cols=num_ant // 2 if dual else num_ant,
                        polarization="dual" if dual else "single", polarization_type="cross" if dual else "V",
                        antenna_pattern=pattern,
                        carrier_frequency=phy.carrier_frequency_hz, horizontal_spacing=phy.antenna_spacing,
                        vertical_spacing=phy.antenna_spacing)


def draw_ofdm_channel(model, resource_grid, num_frames: int, num_rx_ant: int, num_tx_ant: int,
                      lag_symbols: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
    """The frequency responses of a data frame and of the frame ``lag_symbols`` OFDM symbols before it (the
    sounding frame), each [num_frames, 1, num_rx_ant, 1, num_tx_ant, num_ofdm_symbols, fft_size] complex64, from
    ``model`` (:func:`make_channel_model`; ``None``: the identity for both)."""
    rg = resource_grid
    if model is None:
        eye = tf.eye(num_rx_ant, num_tx_ant, dtype=tf.complex64)
        h = tf.broadcast_to(eye[None, None, :, None, :, None, None],
                            [num_frames, 1, num_rx_ant, 1, num_tx_ant, rg.num_ofdm_symbols, rg.fft_size])
        return h, h
    a, tau = model(num_frames, rg.num_ofdm_symbols + lag_symbols, 1.0 / rg.ofdm_symbol_duration)
    h_all = cir_to_ofdm_channel(subcarrier_frequencies(rg.fft_size, rg.subcarrier_spacing), a, tau, normalize=False)
    return h_all[..., lag_symbols:, :], h_all[..., : rg.num_ofdm_symbols, :]

