"""How well a classifier's confidence matches its accuracy: the expected calibration error and the negative
log-likelihood of the label, per sweep point (the ``ece`` and ``nll`` columns of ``results.csv``).

The confidence of a decision is the largest softmax probability of the decoder's logits, the probability the
receiver gives the class it decides for. A calibrated receiver is right on a fraction ``p`` of the samples it
decides with confidence ``p``.

- **Expected calibration error** (Naeini et al., AAAI 2015; Guo et al., "On Calibration of Modern Neural
  Networks", ICML 2017, eq. 3): the samples are put into :data:`CALIBRATION_BINS` equal-width bins of confidence,
  bin ``m`` holding the confidences in ``((m - 1) / M, m / M]``, and
  ``ECE = sum_m |B_m| / n * |accuracy(B_m) - mean confidence(B_m)|``. It is 0 for a calibrated receiver up to the
  binning and the sampling noise: over ``n`` samples its estimate is biased upwards by roughly
  ``sqrt(M / n)`` times the spread of the outcomes, so ECEs are compared at equal sample counts (the sweep's
  points stop at similar counts; the ``samples`` column says how many).
- **Negative log-likelihood** of the label, ``-log softmax(logits)[label]`` in nats, averaged over the samples:
  the cross-entropy of the receiver's distribution; it punishes confident mistakes without binning.
"""

from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 15
"""Equal-width confidence bins of the expected calibration error (Guo et al. 2017 use 15)."""


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, num_bins: int = CALIBRATION_BINS) -> float:
    """The expected calibration error of decisions with ``confidence`` [n] (in [0, 1]) and outcomes ``correct``
    [n] (bool), over ``num_bins`` equal-width bins ``((m - 1) / M, m / M]`` (a confidence of 0 goes to the first).

    :raises ValueError: empty or mismatched inputs, a confidence outside [0, 1], fewer than one bin.
    """
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    correct = np.asarray(correct, dtype=bool).reshape(-1)
    if confidence.size == 0 or confidence.size != correct.size:
        raise ValueError(f"expected_calibration_error: need as many outcomes as confidences, at least one "
                         f"(got {confidence.size} confidences, {correct.size} outcomes)")
    if not np.all((confidence >= 0.0) & (confidence <= 1.0)):
        raise ValueError("expected_calibration_error: confidences must lie in [0, 1]")
    if int(num_bins) < 1:
        raise ValueError(f"expected_calibration_error: num_bins must be >= 1, got {num_bins!r}")
    bins = np.clip(np.ceil(confidence * num_bins).astype(np.int64) - 1, 0, num_bins - 1)
    gap = np.bincount(bins, weights=correct.astype(np.float64) - confidence, minlength=num_bins)
    return float(np.abs(gap).sum() / confidence.size)  # sum_m |B_m|/n |acc - conf| = sum_m |sum_B (1[c] - p)| / n
