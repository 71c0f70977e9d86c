"""Sionna's random generators, seen from outside the PHY: seeding and the training SNR draw."""

from __future__ import annotations

import sionna.phy
import tensorflow as tf


def seed_generators(seed: int) -> None:
    """Seeds Sionna's generators (channels, noise) from ``seed``."""
    sionna.phy.config.seed = int(seed)


def uniform_ebno_db(num_frames: int, low: float, high: float) -> tf.Tensor:
    """One Eb/N0 in dB per frame, uniform in [low, high), from Sionna's generator (XLA-safe).

    :return: [num_frames] float32.
    """
    return sionna.phy.config.tf_rng.uniform([num_frames], low, high)
