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


def generator_state() -> dict:
    """The state of Sionna's three generators (``tf_rng``, ``np_rng``, ``py_rng``), to continue their streams
    later with :func:`restore_generator_state`: ``{"tf_rng": int64 array (the algorithm's state), "tf_rng_alg": int,
    "np_rng": dict, "py_rng": list}`` (the two last JSON-serialisable)."""
    config = sionna.phy.config
    version, internal, gauss = config.py_rng.getstate()
    return {"tf_rng": config.tf_rng.state.numpy(), "tf_rng_alg": int(config.tf_rng.algorithm),
            "np_rng": config.np_rng.bit_generator.state, "py_rng": [version, list(internal), gauss]}


def restore_generator_state(state: dict) -> None:
    """Sets Sionna's generators to a state from :func:`generator_state` (their next draws are the ones that
    followed it)."""
    config = sionna.phy.config
    if int(config.tf_rng.algorithm) != int(state["tf_rng_alg"]):
        raise ValueError(f"a generator state of algorithm {state['tf_rng_alg']} cannot continue Sionna's tf_rng "
                         f"(algorithm {int(config.tf_rng.algorithm)})")
    config.tf_rng.reset(state["tf_rng"])
    config.np_rng.bit_generator.state = state["np_rng"]
    version, internal, gauss = state["py_rng"]
    config.py_rng.setstate((version, tuple(internal), gauss))
