"""Uncoded QPSK bit error rate through the project's own OFDM link (a check of the conventions)."""

from __future__ import annotations

import numpy as np
import sionna.phy
import tensorflow as tf

from semcom_sim.phy.conventions import ebno_db_to_no
from semcom_sim.phy.link import OFDMLink
from semcom_sim.scenario import Phy


def simulate_uncoded_qpsk_ber(phy: Phy, ebno_db, num_bits: int, seed: int = 0,
                              frames_per_batch: int = 4096, count_overhead: bool = False,
                              return_batch_ber: bool = False) -> np.ndarray:
    """BER of Gray-mapped QPSK with hard decisions after the link's LMMSE equaliser.

    :param phy: the physical layer (channel, grid, CSI) to use.
    :param ebno_db: Eb/N0 points in dB, shape [num_points].
    :param num_bits: at least this many bits per point.
    :param seed: Sionna's global seed (channel, noise).
    :param count_overhead: count pilot and cyclic-prefix energy in Eb (Sionna's ``ebnodb2no`` with the
        resource grid); ``False`` counts the data REs only, which is what textbook curves assume.
    :param return_batch_ber: return the BER of every batch, [num_points, num_batches], instead of
        the mean; batches are independent, so their spread gives the estimate's standard error.
    :return: BER per point, float64 [num_points].
    """
    ebno_db = np.atleast_1d(np.asarray(ebno_db, dtype=np.float64))
    link = OFDMLink(phy)
    num_data = link.num_data_symbols
    bits_per_frame = 2 * num_data
    num_batches = max(1, -(-num_bits // (bits_per_frame * frames_per_batch)))
    sionna.phy.config.seed = seed
    rg = link.resource_grid if count_overhead else None

    @tf.function(jit_compile=True)
    def errors(no):
        bits = sionna.phy.config.tf_rng.uniform([frames_per_batch, num_data, 2], 0, 2, dtype=tf.int32)
        signs = 1.0 - 2.0 * tf.cast(bits, tf.float32)
        x = tf.complex(signs[..., 0], signs[..., 1]) / np.sqrt(2.0).astype(np.float32)
        h, _ = link.draw_channel(frames_per_batch)
        out = link(x, h, tf.fill([frames_per_batch], no))
        decided = tf.cast(tf.stack([tf.math.real(out.x_hat) < 0, tf.math.imag(out.x_hat) < 0], -1), tf.int32)
        return tf.reduce_sum(tf.cast(decided != bits, tf.int64))

    batch_ber = np.array([[int(errors(ebno_db_to_no(np.float32(point), 2, 1.0, rg))) for _ in range(num_batches)]
                          for point in ebno_db]) / (frames_per_batch * bits_per_frame)
    return batch_ber if return_batch_ber else batch_ber.mean(axis=1)
