"""How far a scheme is from the limit: finite-blocklength channel coding over the channel a sample really sees.

A sample's label (``k`` bits) crosses ``n`` complex channel uses whose SNRs ``snr_1 .. snr_n`` are known to the
receiver (perfect CSIR; each resource element its own AWGN channel, as the OFDM link makes it: parallel AWGN
channels). The normal approximation (Polyanskiy, Poor and Verdu, "Channel coding rate in the finite blocklength
regime", IEEE Trans. Inf. Theory 56(5), 2010, for the AWGN channel; the parallel AWGN channel, whose mutual
information and dispersion add over the uses, as in Erseghe, "Coding in the finite-blocklength regime: bounds
based on Laplace integrals and their asymptotic approximations", IEEE Trans. Inf. Theory 62(12), 2016) gives the
smallest error probability of a code of ``2^k`` messages over those ``n`` uses:

    eps ~= Q((C - k + log2(n) / 2) / sqrt(V)),   C = sum_i log2(1 + snr_i),
                                                  V = sum_i snr_i (snr_i + 2) / (snr_i + 1)^2 * log2(e)^2,

``C`` the channel's mutual information with a Gaussian codebook (bits), ``V`` its dispersion (bits^2): each complex
use is two real AWGN uses at the same SNR, the real channel's dispersion ``P (P + 2) / (2 (P + 1)^2) log^2 e`` each.
Equivalently, the most bits sent with error probability ``eps``: ``k* ~= C - sqrt(V) Q^{-1}(eps) + log2(n) / 2``.

When the approximation is poor: it drops terms of order ``O(1)`` bits, so for tiny ``n`` (a few channel uses)
or tiny ``k`` (a few bits) it is a guide, not a value; Polyanskiy et al. show it within a fraction of a dB of the
exact bounds from ``n`` of about 100 at moderate error probabilities. Neither pilots nor CSI estimation are
charged (perfect CSIR); an ideal code of length ``n`` is assumed to exist for each ``n``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

__all__ = ["awgn_capacity_bits", "awgn_dispersion_bits2", "normal_approximation_error",
           "normal_approximation_bits", "label_arrival_accuracy"]

_LOG2_E = math.log2(math.e)


def awgn_capacity_bits(snr) -> np.ndarray:
    """``log2(1 + snr)``: bits per complex channel use at linear SNR ``snr`` (same shape)."""
    snr = np.asarray(snr, dtype=np.float64)
    _check_snr(snr)
    return np.log2(1.0 + snr)


def awgn_dispersion_bits2(snr) -> np.ndarray:
    """The dispersion of one complex AWGN channel use, ``snr (snr + 2) / (snr + 1)^2 log2(e)^2`` (bits^2; two real
    uses at the same SNR, each of dispersion ``P (P + 2) / (2 (P + 1)^2) log2(e)^2`` after Polyanskiy et al.)."""
    snr = np.asarray(snr, dtype=np.float64)
    _check_snr(snr)
    return snr * (snr + 2.0) / (snr + 1.0) ** 2 * _LOG2_E ** 2


def normal_approximation_error(k_bits: float, snrs) -> np.ndarray:
    """The normal approximation of the smallest block error probability of ``2^k_bits`` messages over complex
    channel uses with linear SNRs ``snrs`` [..., n] (the last axis: one sample's uses): [...] float64 in [0, 1]."""
    snrs = np.asarray(snrs, dtype=np.float64)
    if snrs.ndim == 0 or snrs.shape[-1] == 0:
        raise ValueError("snrs: need at least one channel use on the last axis")
    if not k_bits > 0:
        raise ValueError(f"k_bits: must be > 0, got {k_bits!r}")
    n = snrs.shape[-1]
    capacity = awgn_capacity_bits(snrs).sum(axis=-1)
    dispersion = awgn_dispersion_bits2(snrs).sum(axis=-1)
    margin = capacity - k_bits + 0.5 * math.log2(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(dispersion > 0, margin / np.sqrt(dispersion), np.where(margin >= 0, np.inf, -np.inf))
    return norm.sf(z)


def normal_approximation_bits(n: int, snr: float, error: float) -> float:
    """The most bits ``k*`` that ``n`` complex uses of an AWGN channel at linear SNR ``snr`` carry with block error
    probability ``error`` (normal approximation): ``n C - sqrt(n V) Q^{-1}(error) + log2(n) / 2``."""
    if int(n) != n or n < 1:
        raise ValueError(f"n: must be a positive integer, got {n!r}")
    if not 0 < error < 1:
        raise ValueError(f"error: must be in (0, 1), got {error!r}")
    capacity, dispersion = float(awgn_capacity_bits(snr)), float(awgn_dispersion_bits2(snr))
    return n * capacity - math.sqrt(n * dispersion) * norm.isf(error) + 0.5 * math.log2(n)


def label_arrival_accuracy(classifier_correct, error, prior_accuracy: float) -> np.ndarray:
    """The accuracy of sending a classifier's decision: per sample, its decision arrives with probability
    ``1 - error`` (right where ``classifier_correct``), and otherwise the receiver guesses, right with probability
    ``prior_accuracy`` (the largest class prior; ``1 / C`` for balanced classes). Broadcasts; float64."""
    if not 0 <= prior_accuracy <= 1:
        raise ValueError(f"prior_accuracy: must be in [0, 1], got {prior_accuracy!r}")
    correct = np.asarray(classifier_correct, dtype=np.float64)
    error = np.asarray(error, dtype=np.float64)
    return correct * (1.0 - error) + error * prior_accuracy


def _check_snr(snr: np.ndarray) -> None:
    if np.any(~np.isfinite(snr)) or np.any(snr < 0):
        raise ValueError("snr: linear SNRs must be finite and >= 0")
