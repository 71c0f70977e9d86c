"""Training losses. A loss maps the model's outputs and the labels to a scalar and named parts.

The interface is small so that losses plug in next to each other:
``loss(outputs, labels, extras) -> (total, parts)``; ``extras`` carries per-batch side inputs such as
the rebuilt teacher distribution.
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


class InformationBottleneckKDLoss:
    """Paper A's information-bottleneck distillation loss (our reading of it, see docs/distillation.md):

    ``T^2 KL(p_teacher,T || softmax(logits / T)) + lambda CE(labels, logits) + beta KL(q(z|x) || N(0, I))``

    The first term is the relevance term: the student's prediction *after the channel* matched to the
    teacher distribution rebuilt from the cache (already at temperature ``T``); the last is the rate
    term of the stochastic encoder.

    Input: ``outputs["logits"]`` [batch, C], ``outputs["kl"]`` [batch], ``labels`` [batch] int32 and
    ``extras["teacher_probs"]`` [batch, C] float32 (rows sum to one). Output: the total (scalar) and
    ``{"kd": ..., "ce": ..., "kl": ...}``.

    With ``feature_weight > 0`` it adds feature-level KD, ``w * MSE(P mu, f_teacher)`` between a
    learned linear projection ``P`` of the encoder's mean (``outputs["projected_features"]``) and the
    teacher's feature vector (``extras["teacher_features"]`` [batch, D]), before the channel (as
    stage 1 of RKD-SC does).

    :param temperature: T.
    :param ce_weight: lambda.
    :param beta: weight of the rate term.
    :param feature_weight: weight of feature-level KD (0: off).
    """

    def __init__(self, temperature: float = 1.0, ce_weight: float = 0.5, beta: float = 1e-3,
                 feature_weight: float = 0.0):
        self.temperature = float(temperature)
        self.ce_weight = float(ce_weight)
        self.beta = float(beta)
        self.feature_weight = float(feature_weight)

    def __call__(self, outputs: Mapping, labels, extras: Mapping | None = None):
        if not extras or "teacher_probs" not in extras:
            raise ValueError("InformationBottleneckKDLoss needs extras['teacher_probs']")
        logits = outputs["logits"]
        teacher = extras["teacher_probs"]
        log_student = ops.log_softmax(logits / self.temperature, axis=-1)
        log_teacher = ops.log(ops.maximum(teacher, 1e-12))
        kd = ops.mean(ops.sum(teacher * (log_teacher - log_student), axis=-1)) * self.temperature ** 2
        ce = ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        kl = ops.mean(outputs["kl"])
        total = kd + self.ce_weight * ce + self.beta * kl
        parts = {"kd": kd, "ce": ce, "kl": kl}
        if self.feature_weight > 0:
            feature = ops.mean(ops.square(outputs["projected_features"] - extras["teacher_features"]))
            total = total + self.feature_weight * feature
            parts["feature_kd"] = feature
        return total, parts


class TermsLoss:
    """A weighted sum of named loss terms (what a training stage asks for, see ``Stage.loss_terms``).

    ``ce``: cross-entropy on the labels (weight ``ce_weight``); ``rate``: the KL rate term (``beta``);
    ``kd``: ``T^2 KL(p_teacher,T || softmax(logits / T))`` against ``extras["teacher_probs"]`` (weight 1);
    ``feature_kd``: MSE between ``outputs["projected_features"]`` and ``extras["teacher_features"]``
    (``feature_weight``). Output: the total (scalar) and each term's unweighted value.

    :param terms: the terms to sum (a subset of ``ce, rate, kd, feature_kd``).
    """

    def __init__(self, terms, ce_weight: float = 1.0, beta: float = 1e-3, temperature: float = 1.0,
                 feature_weight: float = 0.0):
        unknown = set(terms) - {"ce", "rate", "kd", "feature_kd"}
        if unknown or not terms:
            raise ValueError(f"terms must be a non-empty subset of ce, rate, kd, feature_kd, got {tuple(terms)!r}")
        self.terms = tuple(terms)
        self.weights = {"ce": float(ce_weight), "rate": float(beta), "kd": 1.0, "feature_kd": float(feature_weight)}
        self.temperature = float(temperature)

    def __call__(self, outputs: Mapping, labels, extras: Mapping | None = None):
        extras = extras or {}
        parts = {}
        if "ce" in self.terms:
            parts["ce"] = ops.mean(ops.sparse_categorical_crossentropy(labels, outputs["logits"], from_logits=True))
        if "rate" in self.terms:
            parts["kl"] = ops.mean(outputs["kl"])
        if "kd" in self.terms:
            teacher = extras["teacher_probs"]
            log_student = ops.log_softmax(outputs["logits"] / self.temperature, axis=-1)
            log_teacher = ops.log(ops.maximum(teacher, 1e-12))
            parts["kd"] = ops.mean(ops.sum(teacher * (log_teacher - log_student), axis=-1)) * self.temperature ** 2
        if "feature_kd" in self.terms:
            parts["feature_kd"] = ops.mean(ops.square(outputs["projected_features"] - extras["teacher_features"]))
        weight = {"ce": self.weights["ce"], "kl": self.weights["rate"], "kd": 1.0,
                  "feature_kd": self.weights["feature_kd"]}
        total = sum(weight[name] * value for name, value in parts.items())
        return total, parts


def make_loss(training: Training, terms: tuple[str, ...] = ()) -> LossFn:
    """The loss of a stage with ``terms`` (see :class:`TermsLoss`), or with ``()`` the loss of
    ``training.distillation``: plain CE + rate, or the IB distillation loss."""
    if terms:
        ce_weight = training.kd_lambda if "kd" in terms else 1.0
        return TermsLoss(terms, ce_weight, training.beta, training.kd_temperature, training.feature_kd_weight)
    if training.distillation == "none":
        return CrossEntropyRateLoss(beta=training.beta)
    return InformationBottleneckKDLoss(training.kd_temperature, training.kd_lambda, training.beta,
                                       training.feature_kd_weight)
