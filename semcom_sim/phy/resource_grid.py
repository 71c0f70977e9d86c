"""The OFDM resource grid of a scenario (one grid is one frame)."""

from __future__ import annotations

import numpy as np
from sionna.phy.ofdm import ResourceGrid

from semcom_sim.scenario import Phy


def make_resource_grid(phy: Phy, num_streams: int = 1) -> ResourceGrid:
    """Builds the Sionna ``ResourceGrid`` described by ``phy``, one transmitter with ``num_streams`` streams
    (1: the SISO grid of every scenario).

    Pilots are unit-energy QPSK on ``phy.pilot_ofdm_symbol_indices`` (Sionna's Kronecker pattern,
    drawn from its own fixed seed 0, so every run of a scenario uses the same pilots); with several streams
    the pattern keeps each stream's pilots on subcarriers the others leave empty (orthogonal pilots).
    """
    kronecker = phy.pilot_pattern == "kronecker"
    return ResourceGrid(
        num_ofdm_symbols=phy.num_ofdm_symbols,
        fft_size=phy.fft_size,
        subcarrier_spacing=phy.subcarrier_spacing_hz,
        num_tx=1,
        num_streams_per_tx=int(num_streams),
        cyclic_prefix_length=phy.cyclic_prefix_length,
        num_guard_carriers=phy.num_guard_carriers,
        dc_null=phy.dc_null,
        pilot_pattern="kronecker" if kronecker else "empty",
        pilot_ofdm_symbol_indices=list(phy.pilot_ofdm_symbol_indices) if kronecker else None,
    )


def null_subcarrier_indices(resource_grid: ResourceGrid) -> np.ndarray:
    """Indices (0..fft_size-1) of the guard and DC subcarriers, which carry no energy."""
    effective = set(np.asarray(resource_grid.effective_subcarrier_ind).tolist())
    return np.array([k for k in range(resource_grid.fft_size) if k not in effective], dtype=np.int32)
