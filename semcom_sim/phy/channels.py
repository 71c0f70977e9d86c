"""Channel models of a scenario: AWGN, Rayleigh block fading, 3GPP TDL and CDL, with the scenario's arrays."""

from __future__ import annotations

from sionna.phy.channel import RayleighBlockFading
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
