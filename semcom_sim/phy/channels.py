"""Channel models of a scenario: AWGN, Rayleigh block fading, 3GPP TDL and CDL (SISO)."""

from __future__ import annotations

from sionna.phy.channel import RayleighBlockFading
from sionna.phy.channel.tr38901 import CDL, TDL, Antenna

from semcom_sim.scenario import Phy


def make_channel_model(phy: Phy):
    """Returns the Sionna channel model for ``phy.channel``, or ``None`` for AWGN (h = 1).

    The model is called as ``model(batch_size, num_time_steps, sampling_frequency)`` and returns
    path gains ``a`` [batch, 1, 1, 1, 1, num_paths, num_time_steps] (complex64) and delays ``tau``.
    TDL and CDL power delay profiles have unit total power, Rayleigh block fading draws one CN(0, 1)
    gain per frame, so E[|h|^2] = 1 for every model (tested); the channel is not renormalised per
    frame, so each frame keeps its own fading power.
    """
    name = phy.channel
    if name == "AWGN":
        return None
    if name == "Rayleigh":
        return RayleighBlockFading(num_rx=1, num_rx_ant=1, num_tx=1, num_tx_ant=1)
    family, model = name.split("-")
    delay_spread = phy.delay_spread_ns * 1e-9
    if family == "TDL":
        return TDL(model=model, delay_spread=delay_spread, carrier_frequency=phy.carrier_frequency_hz,
                   min_speed=phy.speed_mps, max_speed=phy.speed_mps)
    antenna = Antenna(polarization="single", polarization_type="V", antenna_pattern="omni",
                      carrier_frequency=phy.carrier_frequency_hz)
    return CDL(model=model, delay_spread=delay_spread, carrier_frequency=phy.carrier_frequency_hz,
               ut_array=antenna, bs_array=antenna, direction=phy.cdl_direction,
               min_speed=phy.speed_mps, max_speed=phy.speed_mps)
