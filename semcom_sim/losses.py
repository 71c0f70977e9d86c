"""Training losses. A loss maps the model's outputs and the labels to a scalar and named parts.

The interface is deliberately small so that the information-bottleneck distillation loss (teacher
cache) plugs in next to the plain one: ``loss(outputs, labels, extras) -> (total, parts)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from keras import ops

from semcom_sim.scenario import Training

LossFn = Callable[[Mapping, object, Mapping], tuple[object, dict]]


class CrossEntropyRateLoss:
    """``CE(labels, logits) + beta * KL(q(z|x) || N(0, I))``, both in nats and averaged over the batch.

    Input: ``outputs["logits"]`` [batch, num_classes], ``outputs["kl"]`` [batch] and ``labels`` [batch]
    int32. Output: the total loss (scalar float32) and ``{"ce": ..., "kl": ...}``.

    :param beta: weight of the rate term (0 switches it off).
    """

    def __init__(self, beta: float = 1e-3):
        self.beta = float(beta)

    def __call__(self, outputs: Mapping, labels, extras: Mapping | None = None):
        ce = ops.mean(ops.sparse_categorical_crossentropy(labels, outputs["logits"], from_logits=True))
        kl = ops.mean(outputs["kl"])
        return ce + self.beta * kl, {"ce": ce, "kl": kl}


def make_loss(training: Training) -> LossFn:
    """The loss named by ``training.loss``."""
    if training.loss == "ce":
        return CrossEntropyRateLoss(beta=training.beta)
    raise ValueError(f"training.loss: {training.loss!r} is not implemented")
