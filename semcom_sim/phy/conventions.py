"""Signal conventions: Es = 1 per data resource element, noise CN(0, N0), Eb/N0 via Sionna.

* Es/N0 = 1 / N0 (per complex data resource element).
* Eb/N0 follows Sionna's ``ebnodb2no(ebno_db, num_bits_per_symbol, coderate, resource_grid)``: the
  energy spent on pilots and on the cyclic prefix counts against Eb, guards and DC do not.
  An analog scheme carries no bits; it declares ``phy.num_bits_per_symbol`` and ``phy.coderate``, the
  accounting its Eb is counted against (default 2 and 1: one complex channel use = one QPSK symbol).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sionna.phy.ofdm import ResourceGrid
from sionna.phy.utils import ebnodb2no


def ebno_db_to_no(ebno_db, num_bits_per_symbol: float, coderate: float,
                  resource_grid: ResourceGrid | None = None) -> tf.Tensor:
    """N0 (linear, float32, same shape as ``ebno_db``) for an Eb/N0 in dB. Rejects NaN/inf."""
    ebno = np.asarray(ebno_db, dtype=np.float64) if not tf.is_tensor(ebno_db) else None
    if ebno is not None and not np.all(np.isfinite(ebno)):
        raise ValueError(f"ebno_db must be finite, got {ebno_db!r}")
    return ebnodb2no(ebno_db, num_bits_per_symbol, coderate, resource_grid)


def esno_db_from_no(no) -> np.ndarray:
    """Es/N0 in dB for the project's convention Es = 1: ``-10 log10(no)``."""
    return -10.0 * np.log10(np.asarray(no, dtype=np.float64))


def ebno_db_to_esno_db(ebno_db, num_bits_per_symbol: float, coderate: float,
                       resource_grid: ResourceGrid | None = None) -> np.ndarray:
    """Es/N0 in dB of the data resource elements for an Eb/N0 in dB."""
    no = ebno_db_to_no(np.asarray(ebno_db, dtype=np.float32), num_bits_per_symbol, coderate, resource_grid)
    return esno_db_from_no(np.asarray(no))
