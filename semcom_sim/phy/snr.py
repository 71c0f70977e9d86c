"""SNR estimation at the receiver and the quantised feedback to the transmitter.

Sionna's LS estimator takes N0 as an input and does not estimate it. Here N0 is measured on the
null (guard and DC) subcarriers, which carry noise only, and the received signal power on the
pilots: ``snr_hat = (mean |y_pilot|^2 - no_hat) / (mean |p|^2 * no_hat)`` per frame. With Es = 1 on
data and pilots, this estimates the frame's average |h|^2 Es/N0 (pre-equalisation SNR).
"""

from __future__ import annotations

import tensorflow as tf

# Floor of the SNR estimate (dB): a negative signal-power estimate at very low SNR is clipped here.
SNR_FLOOR_DB = -20.0


def _db(x):
    return 10.0 * tf.math.log(x) / tf.math.log(10.0)


def estimate_no_from_nulls(y: tf.Tensor, null_ind) -> tf.Tensor:
    """N0 per frame from the received null subcarriers.

    :param y: received grid [num_frames, num_rx, num_rx_ant, num_ofdm_symbols, fft_size], complex64.
    :param null_ind: indices of the null subcarriers.
    :return: ``no_hat`` [num_frames], float32.
    """
    y_null = tf.gather(y, null_ind, axis=-1)
    return tf.reduce_mean(tf.square(tf.abs(y_null)), axis=[1, 2, 3, 4])


def estimate_snr_db_from_pilots(y: tf.Tensor, no_hat: tf.Tensor, effective_ind, pilot_ind,
                                pilot_energy: float) -> tf.Tensor:
    """Pre-equalisation SNR in dB per frame from the pilots.

    :param y: received grid [num_frames, 1, 1, num_ofdm_symbols, fft_size], complex64.
    :param no_hat: N0 estimate [num_frames], float32.
    :param effective_ind: indices of the non-null subcarriers.
    :param pilot_ind: flat indices of the pilot REs in the [num_ofdm_symbols, num_effective] grid.
    :param pilot_energy: mean |p|^2 of the pilots.
    :return: ``snr_hat_db`` [num_frames], float32, floored at :data:`SNR_FLOOR_DB`.
    """
    y_eff = tf.gather(y, effective_ind, axis=-1)
    y_flat = tf.reshape(y_eff, [tf.shape(y)[0], -1])
    y_pilots = tf.gather(y_flat, pilot_ind, axis=-1)
    received = tf.reduce_mean(tf.square(tf.abs(y_pilots)), axis=-1)
    signal = (received - no_hat) / pilot_energy
    floor = no_hat * 10.0 ** (SNR_FLOOR_DB / 10.0)
    return _db(tf.maximum(signal, floor) / no_hat)


def quantize_snr_db(snr_db: tf.Tensor, num_bits: int | None, range_db: tuple[float, float]) -> tf.Tensor:
    """Uniform mid-rise quantiser of an SNR in dB with ``2**num_bits`` levels over ``range_db``.

    Values outside the range are clipped to the outermost level. ``num_bits=None`` returns the input.
    """
    if num_bits is None:
        return snr_db
    lo, hi = float(range_db[0]), float(range_db[1])
    levels = 2 ** int(num_bits)
    step = (hi - lo) / levels
    index = tf.clip_by_value(tf.floor((snr_db - lo) / step), 0.0, levels - 1.0)
    return lo + (index + 0.5) * step
