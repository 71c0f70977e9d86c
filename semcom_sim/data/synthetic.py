"""A synthetic 10-class image set for fast tests: shifted, noisy, smooth random templates (numpy only).

Each class is a smooth random template (low-pass-filtered Gaussian noise, 60 % of it a component
shared by all classes, so that classes differ only in part of the picture). A sample is its class
template shifted by up to :data:`MAX_SHIFT` pixels in each direction plus white Gaussian noise of
standard deviation :data:`NOISE_STD`, clipped to [0, 1]. A small CNN learns it to about 97 %;
no single pixel separates the classes (best single-pixel nearest-mean accuracy about 17 %).
Everything is determined by the seed.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from semcom_sim.data.base import seeded_rng

__all__ = ["NAME", "CLASS_NAMES", "NUM_CLASSES", "DEFAULT_NUM_TRAIN", "DEFAULT_NUM_TEST", "IMAGE_SHAPE",
           "make_templates", "make_split", "make_arrays"]

NAME = "synthetic"
NUM_CLASSES = 10
CLASS_NAMES = tuple(f"class-{k}" for k in range(NUM_CLASSES))
DEFAULT_NUM_TRAIN = 2000
DEFAULT_NUM_TEST = 500
MAX_SHIFT = 2            # pixels, each direction
NOISE_STD = 0.3          # pixel noise
SHARED_FRACTION = 0.6    # weight of the component common to all templates
SMOOTHING_PX = 2.0       # std of the Gaussian low-pass filter, in pixels
_TEMPLATE_STREAM, _TRAIN_STREAM, _TEST_STREAM = 0, 1, 2


IMAGE_SHAPE = (28, 28, 1)  # the default (H, W, C), Fashion-MNIST's; data.image_shape chooses another


def _lowpass(noise: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian low-pass filter (circular, via FFT) over the last two axes of float64 ``[..., H, W]``."""
    fy = np.fft.fftfreq(noise.shape[-2])
    fx = np.fft.fftfreq(noise.shape[-1])
    gain = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (fy[:, None] ** 2 + fx[None, :] ** 2))
    return np.fft.ifft2(np.fft.fft2(noise) * gain).real


def _unit_std(a: np.ndarray) -> np.ndarray:
    """``a`` float64 ``[..., H, W]`` scaled to zero mean, unit std per image."""
    a = a - a.mean(axis=(-2, -1), keepdims=True)
    return a / a.std(axis=(-2, -1), keepdims=True)


def make_templates(seed: int, image_shape: tuple[int, int, int] = IMAGE_SHAPE) -> np.ndarray:
    """Class templates, float64 ``[10, H + 2 * MAX_SHIFT, W + 2 * MAX_SHIFT, C]`` with values in [0.1, 0.9]
    (each channel of an RGB template is its own smooth field)."""
    h, w, c = image_shape
    rng = seeded_rng(seed, _TEMPLATE_STREAM)
    size_h, size_w = h + 2 * MAX_SHIFT, w + 2 * MAX_SHIFT
    common = _unit_std(_lowpass(rng.standard_normal((c, size_h, size_w)), SMOOTHING_PX))
    specific = _unit_std(_lowpass(rng.standard_normal((NUM_CLASSES, c, size_h, size_w)), SMOOTHING_PX))
    t = np.moveaxis(SHARED_FRACTION * common + (1.0 - SHARED_FRACTION) * specific, 1, -1)  # channels last
    t = t - t.min(axis=(1, 2, 3), keepdims=True)
    return 0.1 + 0.8 * t / t.max(axis=(1, 2, 3), keepdims=True)


def make_split(templates: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples: images float32 ``[n, H, W, C]`` in [0, 1] and class-balanced labels int32 ``[n]``.

    :param templates: float64 ``[K, H + 2 * MAX_SHIFT, W + 2 * MAX_SHIFT, C]`` from :func:`make_templates`.
    """
    h, w, c = templates.shape[1] - 2 * MAX_SHIFT, templates.shape[2] - 2 * MAX_SHIFT, templates.shape[3]
    labels = rng.permutation(np.arange(n) % templates.shape[0])
    windows = sliding_window_view(templates, (h, w), axis=(1, 2))  # [K, 2s+1, 2s+1, C, H, W], a view
    dy = rng.integers(0, 2 * MAX_SHIFT + 1, size=n)
    dx = rng.integers(0, 2 * MAX_SHIFT + 1, size=n)
    x = np.moveaxis(windows[labels, dy, dx], 1, -1) + NOISE_STD * rng.standard_normal((n, h, w, c))
    return np.clip(x, 0.0, 1.0).astype(np.float32), labels.astype(np.int32)


def make_arrays(seed: int, num_train: int | None = None, num_test: int | None = None,
                image_shape: tuple[int, int, int] = IMAGE_SHAPE
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train float32 ``[N, H, W, C]``, y_train int32 ``[N]``, x_test float32 ``[M, H, W, C]``,
    y_test int32 ``[M]`` (defaults N = 2000, M = 500, (H, W, C) = (28, 28, 1)), all determined by ``seed``.

    Train and test share the templates and draw shifts and noise from separate streams, so changing
    ``num_test`` does not change the training set.
    """
    templates = make_templates(seed, tuple(int(d) for d in image_shape))
    n_train = DEFAULT_NUM_TRAIN if num_train is None else num_train
    n_test = DEFAULT_NUM_TEST if num_test is None else num_test
    x_train, y_train = make_split(templates, n_train, seeded_rng(seed, _TRAIN_STREAM))
    x_test, y_test = make_split(templates, n_test, seeded_rng(seed, _TEST_STREAM))
    return x_train, y_train, x_test, y_test
