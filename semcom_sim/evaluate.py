"""Monte Carlo evaluation batches of a trained model (TensorFlow-specific, like ``train.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from semcom_sim.system import SemanticLink
from semcom_sim.train import seed_everything


class AccuracyEvaluator:
    """Yields ``(num_correct, num_samples)`` per batch over the test set with fresh channel and noise.

    The test set is visited in a random order and then again in a new order, for as long as the
    sweep asks; every batch draws new channels and noise. ``make_batches(ebno_db, seed)`` reseeds all
    generators from ``seed``, so a point's result does not depend on the points before it.

    :param model: a built :class:`SemanticLink`.
    :param x: test inputs [num, ...] (images [num, H, W, C] float32, token ids, features); ``y``: labels [num] int32.
    :param batch_size: samples per Monte Carlo batch (fixed, so the function compiles once).
    :param jit_compile: XLA-compile the forward pass.
    """

    def __init__(self, model: SemanticLink, x: np.ndarray, y: np.ndarray, batch_size: int,
                 jit_compile: bool = True):
        self.model, self.x, self.y = model, x, y
        self.batch_size = int(batch_size)

        @tf.function(jit_compile=jit_compile)
        def correct(images, labels, ebno_db):
            outputs = model((images, ebno_db), training=False)
            hits = tf.argmax(outputs["logits"], -1, output_type=tf.int32) == labels
            return tf.reduce_sum(tf.cast(hits, tf.int32))

        self._correct = correct

    def make_batches(self, ebno_db: float, seed: int) -> Iterator[tuple[int, int]]:
        seed_everything(seed)
        rng = np.random.default_rng(seed)
        ebno = tf.constant(float(ebno_db), tf.float32)
        order = rng.permutation(len(self.y))
        position = 0
        while True:
            if position + self.batch_size > len(order):
                order = order[position:]
                while len(order) < self.batch_size:  # a batch larger than the test set repeats it
                    order = np.concatenate([order, rng.permutation(len(self.y))])
                position = 0
            idx = order[position:position + self.batch_size]
            position += self.batch_size
            yield int(self._correct(tf.constant(self.x[idx]), tf.constant(self.y[idx]), ebno)), len(idx)

    def accuracy(self, ebno_db: float, num_samples: int, seed: int) -> float:
        """Accuracy over at least ``num_samples`` samples at one Eb/N0 (whole batches)."""
        correct = total = 0
        batches = self.make_batches(ebno_db, seed)
        while total < num_samples:
            k, n = next(batches)
            correct, total = correct + k, total + n
        batches.close()
        return correct / total
