"""Monte Carlo evaluation of a trained model (TensorFlow-specific, like ``train.py``): the sweep's batches
and per-sample outcomes for paired studies."""

from __future__ import annotations

import abc
import dataclasses
import json
import math
import sys
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from semcom_sim.checkpoints import load_model
from semcom_sim.condition import Condition
from semcom_sim.data.splits import validation_rows
from semcom_sim.errors import ScenarioError
from semcom_sim.limits import normal_approximation_error
from semcom_sim.phy import AnalogLink, PolarLabelCode, esno_db_from_no
from semcom_sim.results import ResultsStore, condition_of, model_id
from semcom_sim.sweep import Executor, pending_points, run_sweep
from semcom_sim.system import SemanticLink, seed_everything

_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {key: tf.function}


def traced(model: SemanticLink, kind: str, jit_compile: bool, *, forced: bool = False, fed: bool = False,
           shuffle: bool = False):
    """The traced batch function of ``model``, one per ``(kind, jit_compile, forced, fed, shuffle)`` and model object,
    shared by every evaluator of that model (a new trace per model, not per evaluator; a batch shape of its own
    still traces once). The functions hold the model weakly: they go when the model goes.

    * ``kind="correct"``: ``(images, labels, ebno_db, length) -> (hits [B] bool, channel uses summed, confidence
      [B], label NLL [B])``; ``length`` (a float32 scalar) forces every sample's length where ``forced``.
    * ``kind="per-sample"``: ``(images, labels, ebno_db, fed_snr_db, permutation, length) -> (hits, channel uses
      [B], the transmitter's SNR [B], label cross-entropy [B])``; each input is used where its flag says
      (``fed``: tell the transmitter ``fed_snr_db``; ``shuffle``: permute the learned SNRs; ``forced``: ``length``).
    """
    key = (kind, bool(jit_compile), bool(forced), bool(fed), bool(shuffle))
    functions = _TRACED.setdefault(model, {})
    if key in functions:
        return functions[key]
    ref = weakref.ref(model)
    if kind == "correct":
        @tf.function(jit_compile=jit_compile)
        def correct(images, labels, ebno_db, length):
            outputs = ref()((images, ebno_db), training=False, length=length if forced else None)
            logits = tf.cast(outputs["logits"], tf.float32)
            hits = tf.argmax(logits, -1, output_type=tf.int32) == labels
            confidence = tf.reduce_max(tf.nn.softmax(logits, -1), -1)
            nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            return hits, tf.reduce_sum(outputs["channel_uses"]), confidence, nll

        functions[key] = correct
    elif kind == "per-sample":
        @tf.function(jit_compile=jit_compile)
        def run(images, labels, ebno_db, fed_snr_db, permutation, length):
            outputs = ref()((images, ebno_db), training=False, fed_snr_db=fed_snr_db if fed else None,
                            snr_permutation=permutation if shuffle else None, length=length if forced else None)
            hits = tf.argmax(outputs["logits"], -1, output_type=tf.int32) == labels
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=outputs["logits"])
            return hits, outputs["channel_uses"], outputs["snr_tx_db"], ce

        functions[key] = run
    else:
        raise ValueError(f"kind: {kind!r} is not 'correct' or 'per-sample'")
    return functions[key]


class AccuracyEvaluator:
    """Yields ``(num_correct, num_samples, channel_uses)`` per batch over a test set with fresh channel
    and noise (``channel_uses``: the complex channel uses the batch's samples sent, summed).

    The test set is visited in a random order and then again in a new order, for as long as the
    sweep asks; every batch draws new channels and noise. ``make_batches(ebno_db, seed)`` reseeds all
    generators from ``seed``, so a point's result does not depend on the points before it, and two
    calls with the same seed see the same samples, channels and noise: :meth:`outcomes` uses this
    to compare what a model does with and without a change of what the transmitter is told (paired).

    :param model: a built :class:`SemanticLink`.
    :param x: test inputs [num, ...] (images [num, H, W, C] float32, token ids, features); ``y``: labels [num] int32.
    :param batch_size: samples per Monte Carlo batch (fixed, so the function compiles once).
    :param jit_compile: XLA-compile the forward pass.
    :param length: nested lengths: every sample sends this many channel uses (what a model with
        ``model.fixed_length`` does; a runtime input, so one traced function serves every length).

    The traced functions belong to the model (:func:`traced`): every evaluator of the same model object (the
    per-epoch monitor, the sweep under the training condition, each length of the length study) shares them.
    """

    def __init__(self, model: SemanticLink, x: np.ndarray, y: np.ndarray, batch_size: int,
                 jit_compile: bool = True, length: float | None = None):
        self.model, self.x, self.y = model, x, y
        self.batch_size = int(batch_size)
        self.jit_compile = jit_compile
        self.length = None if length is None else float(length)

    def _batches(self, seed: int) -> Iterator[np.ndarray]:
        """Indices of the samples of each batch: the test set in random orders (reseeds everything)."""
        seed_everything(seed)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.y))
        position = 0
        while True:
            if position + self.batch_size > len(order):
                order = order[position:]
                while len(order) < self.batch_size:  # a batch larger than the test set repeats it
                    order = np.concatenate([order, rng.permutation(len(self.y))])
                position = 0
            yield order[position:position + self.batch_size]
            position += self.batch_size

    def make_batches(self, ebno_db: float, seed: int) -> Iterator[tuple]:
        """``(num_correct, num_samples, channel_uses, hits, confidence, nll)`` per batch; ``hits``: one bool per
        sample, in draw order (what paired comparisons of two models on the same draws read); ``confidence``: the
        largest softmax probability of each sample's logits; ``nll``: each label's negative log-likelihood (nats;
        :mod:`semcom_sim.calibration`)."""
        ebno = tf.constant(float(ebno_db), tf.float32)
        forced = tf.constant(0.0 if self.length is None else self.length, tf.float32)
        correct = traced(self.model, "correct", self.jit_compile, forced=self.length is not None)
        for idx in self._batches(seed):
            hits, uses, confidence, nll = correct(tf.constant(self.x[idx]), tf.constant(self.y[idx]), ebno, forced)
            hits = np.asarray(hits, dtype=bool)
            yield int(hits.sum()), len(idx), float(uses), hits, np.asarray(confidence), np.asarray(nll)

    def accuracy(self, ebno_db: float, num_samples: int, seed: int) -> float:
        """Accuracy over at least ``num_samples`` samples at one Eb/N0 (whole batches)."""
        correct = total = 0
        batches = self.make_batches(ebno_db, seed)
        while total < num_samples:
            k, n, *_ = next(batches)
            correct, total = correct + k, total + n
        batches.close()
        return correct / total

    def outcomes(self, ebno_db: float, num_samples: int, seed: int, *, fed_snr_db: float | None = None,
                 shuffle: bool = False, length: float | None = None) -> dict[str, np.ndarray]:
        """Per-sample outcomes of at least ``num_samples`` samples (whole batches) at one Eb/N0.

        The same ``seed`` gives the same samples, channel and noise draws whatever the keyword
        arguments, so outcomes of two calls are paired sample by sample.

        :param fed_snr_db: tell the transmitter this SNR (dB) instead of what it learned by sounding.
        :param shuffle: permute the learned SNRs across each batch (a permutation drawn from ``seed``
            apart from every other draw).
        :param length: nested lengths: every sample sends this many channel uses.
        :returns: ``correct`` [N] bool, ``channel_uses`` [N] float32, ``snr_tx_db`` [N] float32 (what the
            transmitter used), ``cross_entropy`` [N] float32 (nats, of the label), ``index`` [N] int64 (the
            sample's position in ``x``).
        """
        run = traced(self.model, "per-sample", self.jit_compile, fed=fed_snr_db is not None, shuffle=shuffle,
                     forced=length is not None)
        permutations = np.random.default_rng([seed, 7]).permuted(
            np.tile(np.arange(self.batch_size, dtype=np.int32), (max(1, -(-num_samples // self.batch_size)), 1)),
            axis=1)
        ebno = tf.constant(float(ebno_db), tf.float32)
        fed = tf.constant(0.0 if fed_snr_db is None else float(fed_snr_db), tf.float32)
        forced = tf.constant(0.0 if length is None else float(length), tf.float32)
        names = ("correct", "channel_uses", "snr_tx_db", "cross_entropy")
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names + ("index",)}
        total = 0
        for i, idx in enumerate(self._batches(seed)):
            if total >= num_samples:
                break
            values = run(tf.constant(self.x[idx]), tf.constant(self.y[idx]), ebno, fed,
                         tf.constant(permutations[i]), forced)
            for name, value in zip(names, values):
                parts[name].append(value.numpy())
            parts["index"].append(np.asarray(idx, dtype=np.int64))
            total += len(idx)
        return {name: np.concatenate(values) for name, values in parts.items()}


class LabelEvaluator(AccuracyEvaluator, abc.ABC):
    """The label baselines of a model's link, batch by batch like :meth:`AccuracyEvaluator.make_batches` and on the
    same samples and channel draws as the schemes: the model's student runs whole on the device (no channel) and only
    its decision crosses the channel uses a sample of this link occupies. A sample is right when the label the
    receiver names is its own: the decision that arrived, or ``guess_class`` (the most frequent class) when none did.

    ``confidence`` and ``nll`` of a batch are the on-device decision's (what was sent). The analog SISO link only
    (:class:`~semcom_sim.phy.analog.AnalogLink`). A subclass says how the decision crosses the channel
    (:meth:`deliver`).

    :param guess_class: the class the receiver names when the decision did not arrive.
    """

    def __init__(self, model: SemanticLink, x: np.ndarray, y: np.ndarray, batch_size: int, guess_class: int,
                 jit_compile: bool = True):
        super().__init__(model, x, y, batch_size, jit_compile=jit_compile)
        if not isinstance(model.link, AnalogLink):
            raise ScenarioError(f"the label baselines need the analog SISO link, not {type(model.link).__name__}")
        self.guess_class = int(guess_class)

    def _decide(self, images, labels, ebno_db) -> tuple:
        """Inside a ``tf.function``: the on-device decision [batch] int32, its confidence and label NLL [batch], and
        the data frames' channel ``h`` and noise variances ``no`` [num_frames] that the schemes' forward pass draws
        first after the same reseeding (the same realisation)."""
        model = self.model
        logits = tf.cast(model((images, ebno_db), training=False, bypass_channel=True)["logits"], tf.float32)
        num_frames = model.num_frames(images.shape[0])
        no = model.link.noise_variance(tf.broadcast_to(ebno_db, (num_frames,)))
        h, _ = model.link.draw_channel(num_frames)
        decided = tf.argmax(logits, -1, output_type=tf.int32)
        confidence = tf.reduce_max(tf.nn.softmax(logits, -1), -1)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return decided, confidence, nll, h, no

    @abc.abstractmethod
    def deliver(self, images: np.ndarray, labels: np.ndarray, ebno_db: tf.Tensor,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(received, confidence, nll)`` of one batch: the label the receiver gets per sample [batch] int (``-1``:
        none arrived), and the on-device decision's confidence and label NLL [batch]; ``rng``: this point's
        generator for any draw outside TensorFlow."""

    def make_batches(self, ebno_db: float, seed: int) -> Iterator[tuple]:
        ebno = tf.constant(float(ebno_db), tf.float32)
        rng = np.random.default_rng([seed, 11])
        uses = float(self.model.link.mapper.num_channel_uses)
        for idx in self._batches(seed):
            labels = self.y[idx]
            received, confidence, nll = self.deliver(self.x[idx], labels, ebno, rng)
            hits = np.where(received >= 0, received == labels, labels == self.guess_class)
            yield int(hits.sum()), len(idx), uses * len(idx), hits, np.asarray(confidence), np.asarray(nll)


class LabelReferenceEvaluator(LabelEvaluator):
    """The finite-blocklength reference (:mod:`semcom_sim.limits`): the decision, ``k_bits`` bits, arrives over the
    ``n`` channel uses of a sample with probability ``1 - eps``, ``eps`` the best block error probability of the
    normal approximation over those uses' SNRs (perfect CSIR), drawn from the point's seed.

    :param k_bits: the bits of one decision (``log2`` of the classes; less with an ideal source code).
    """

    def __init__(self, model: SemanticLink, x: np.ndarray, y: np.ndarray, batch_size: int, k_bits: float,
                 guess_class: int, jit_compile: bool = True):
        super().__init__(model, x, y, batch_size, guess_class, jit_compile=jit_compile)
        self.k_bits = float(k_bits)

        @tf.function(jit_compile=jit_compile)
        def on_device_and_channel(images, labels, ebno_db):
            decided, confidence, nll, h, no = self._decide(images, labels, ebno_db)
            return decided, model.link.sample_snr(h, no, images.shape[0]), confidence, nll

        self._on_device = on_device_and_channel

    def deliver(self, images, labels, ebno_db, rng):
        decided, snr, confidence, nll = self._on_device(tf.constant(images), tf.constant(labels), ebno_db)
        error = normal_approximation_error(self.k_bits, np.asarray(snr, dtype=np.float64))
        arrived = rng.random(len(labels)) >= error
        return np.where(arrived, np.asarray(decided), -1), confidence, nll


class PolarLabelEvaluator(LabelEvaluator):
    """The practical label baseline: the decision crosses the channel in one 5G polar codeword per sample
    (:class:`~semcom_sim.phy.label_code.PolarLabelCode`: QPSK on the sample's own channel uses, the link's CSI and
    LMMSE, CRC-aided list decoding); a codeword whose CRC fails delivers nothing. The student and the channel draw
    run in a ``tf.function`` (XLA with ``jit_compile``); the code runs eagerly: its list decoder runs on the host
    (``tf.py_function``) and a graph of its successive-cancellation stage takes longer to trace than a small sweep
    spends decoding.

    :param num_classes: the task's classes (``ceil(log2)`` information bits per codeword).
    """

    def __init__(self, model: SemanticLink, x: np.ndarray, y: np.ndarray, batch_size: int, num_classes: int,
                 guess_class: int, jit_compile: bool = True):
        super().__init__(model, x, y, batch_size, guess_class, jit_compile=jit_compile)
        self.code = PolarLabelCode(model.link, num_classes)
        self._on_device = tf.function(self._decide, jit_compile=jit_compile)

    def deliver(self, images, labels, ebno_db, rng):
        decided, confidence, nll, h, no = self._on_device(tf.constant(images), tf.constant(labels), ebno_db)
        return np.asarray(self.code.transmit(decided, h, no)), confidence, nll


# -- a sweep's batches as a picklable job -----------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BatchSource:
    """``make_batches(ebno_db, seed)`` of one trained model under one test scenario, as a picklable recipe:
    a worker process rebuilds the model from ``checkpoint`` (a path it shares with the driver) and
    ``scenario`` (the resolved test scenario), and evaluates the test split of ``dataset``.

    In the driver, ``evaluator`` holds the :class:`AccuracyEvaluator` already built (it is not pickled);
    a worker loads the model once and keeps the last one it loaded, so the points of one sweep (and every length of
    the length study) that land on the same worker load it once. Calls give exactly what
    ``AccuracyEvaluator.make_batches`` gives.

    :param checkpoint: the :class:`semcom_sim.train.Checkpoint` whose weights are evaluated.
    :param scenario: the resolved test scenario (scheme patch, test patch and study variant applied).
    :param dataset: the dataset whose test split is evaluated; a distributed executor ships it once
        through its object store and sets it here.
    :param batch_size: samples per Monte Carlo batch. ``jit_compile``: XLA-compile the forward pass.
    :param reference: ``""`` the model itself; ``"ideal"`` or ``"polar"``: a label baseline (:meth:`evaluator_of`).
    """

    checkpoint: Any
    scenario: Any
    dataset: Any
    batch_size: int
    jit_compile: bool = True
    evaluator: AccuracyEvaluator | None = dataclasses.field(default=None, repr=False)
    reference: str = ""

    def __getstate__(self) -> dict:
        return {**self.__dict__, "evaluator": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def key(self) -> tuple:
        """What identifies the batches (a distributed executor matches the points it submitted ahead by it)."""
        return (str(self.checkpoint.weights_path), self.scenario.to_json(),
                getattr(self.dataset, "fingerprint", None), int(self.batch_size), bool(self.jit_compile),
                str(self.reference))

    @property
    def model_key(self) -> tuple:
        """What identifies the model a worker builds (``dataset`` by its fingerprint): not the length study's fixed
        length, which the evaluator forces at run time, so every length shares the model and its traced functions."""
        tested = self.scenario.to_dict()
        tested["model"]["fixed_length"] = None
        return (str(self.checkpoint.weights_path), json.dumps(tested, sort_keys=True, default=str),
                getattr(self.dataset, "fingerprint", None), bool(self.jit_compile))

    def build(self) -> AccuracyEvaluator:
        """The evaluator: the driver's, else one of the model this process loaded last for the same
        :attr:`model_key`."""
        if self.evaluator is not None:
            return self.evaluator
        key = self.model_key
        if _WORKER_MODEL.get("key") != key:
            _WORKER_MODEL.clear()
            _WORKER_MODEL.update(key=key, model=load_model(self.checkpoint, self.scenario, self.dataset))
        return self.evaluator_of(_WORKER_MODEL["model"])

    def evaluator_of(self, model: SemanticLink) -> AccuracyEvaluator:
        """The evaluator of ``model`` on the test split: the model's own, or a label baseline of its student and link
        (``reference``: ``"ideal"`` the finite-blocklength reference with ``k`` = ``log2`` of the classes, ``"polar"``
        the 5G polar label code); a baseline's receiver guesses the most frequent training label."""
        x, y = self.dataset.x_test, self.dataset.y_test
        if not self.reference:  # the length study's fixed length, forced at run time (the model's functions serve all)
            return AccuracyEvaluator(model, x, y, self.batch_size, jit_compile=self.jit_compile,
                                     length=self.scenario.model.fixed_length)
        counts = np.bincount(np.asarray(self.dataset.y_train), minlength=model.num_classes)
        common = dict(guess_class=int(np.argmax(counts)), jit_compile=self.jit_compile)
        if self.reference == "ideal":
            return LabelReferenceEvaluator(model, x, y, self.batch_size, k_bits=math.log2(model.num_classes), **common)
        if self.reference == "polar":
            return PolarLabelEvaluator(model, x, y, self.batch_size, num_classes=model.num_classes, **common)
        raise ValueError(f"reference: {self.reference!r} is not one of '', 'ideal', 'polar'")

    def __call__(self, ebno_db: float, seed: int) -> Iterator[tuple[int, int, float, np.ndarray]]:
        return self.build().make_batches(ebno_db, seed)


_WORKER_MODEL: dict = {}  # the model a worker process loaded last (one model in memory at a time)


@dataclass(frozen=True, eq=False)
class EpochValidator:
    """The per-epoch monitor of ``compare``'s distillation axis, as picklable settings: accuracy on held-out
    *training* rows (``rows``, never trained on) at ``ebno_db`` through the scenario's channel after every
    epoch. The test split is not read during training.

    :meth:`for_scenario` reads them from a scenario (``compare.target_ebno_db``, ``compare.monitor_samples``,
    ``sweep.batch_size``, ``training.jit_compile``) and the rows the trained scheme holds out
    (:func:`semcom_sim.data.splits.validation_rows`); :meth:`bind` gives the ``on_epoch_end`` callback of
    :func:`semcom_sim.train.train_model` for one dataset (one evaluator per model).
    """

    scheme: str
    ebno_db: float
    rows: np.ndarray
    batch_size: int
    jit_compile: bool = True

    @property
    def num_samples(self) -> int:
        return int(self.rows.size)

    @classmethod
    def for_scenario(cls, scenario, scheme: str, trained, dataset) -> EpochValidator:
        """The monitor of ``scheme`` trained as ``trained`` (which holds out the rows) on ``dataset``."""
        cfg = scenario.compare
        rows = validation_rows(trained, dataset)[:cfg.monitor_samples]
        if rows.size == 0:
            raise ScenarioError(f"compare.monitor_samples: '{scheme}' holds out no training rows to monitor "
                                "(training.validation_samples is 0)")
        return cls(scheme, float(cfg.target_ebno_db), rows, min(scenario.sweep.batch_size, rows.size),
                   scenario.training.jit_compile)

    def bind(self, dataset, log=print):
        evaluators = {}

        def on_epoch_end(model, epoch: int) -> dict:
            if id(model) not in evaluators:
                evaluators[id(model)] = AccuracyEvaluator(model, dataset.x_train[self.rows],
                                                          dataset.y_train[self.rows], self.batch_size,
                                                          jit_compile=self.jit_compile)
            acc = evaluators[id(model)].accuracy(self.ebno_db, self.num_samples, seed=10_000 + epoch)
            log(f"[{self.scheme}] held-out accuracy {acc:.4f} at {self.ebno_db:g} dB ({self.num_samples} "
                "training rows not trained on)")
            return {"val_accuracy": acc}

        return on_epoch_end


# -- the sweep of a resolved job ------------------------------------------------------------------------------

def sample_budget(min_samples: int, max_samples: int, batch_size: int, num_test: int) -> tuple[int, int]:
    """``(min_samples, max_samples)`` of a point over a test set of ``num_test`` samples drawn ``batch_size`` at a
    time in a random order: ``max_samples`` capped at the whole batches the test set holds, so no sample is
    drawn twice and the Wilson interval's independence holds (``min_samples`` no larger). A test set smaller
    than one batch is drawn as one batch (its samples then repeat within it)."""
    whole = max(1, num_test // batch_size) * batch_size
    cap = min(int(max_samples), whole)
    return min(int(min_samples), cap), cap



@dataclass
class JobSweeper:
    """Sweeps resolved jobs (:class:`semcom_sim.studies.Job`) into a results store: the one path every row
    of every command takes.

    :param sweep: the scenario's ``sweep`` section (stopping rule, seed, batch size).
    :param jit_compile: XLA-compile the forward pass.
    :param executor: evaluates the points (default: in this process).
    """

    sweep: Any
    jit_compile: bool = True
    stream: Any = dataclasses.field(default_factory=lambda: sys.stdout)  # the one at construction
    show_progress: bool = True
    executor: Executor | None = None

    def source(self, job, checkpoint, dataset, model=None) -> BatchSource:
        """The batches of ``job``: ``checkpoint`` under the job's test scenario; ``model`` (the trained model in
        memory) is reused where the test scenario builds the same model, else rebuilt."""
        batch = self.sweep.batch_size
        source = BatchSource(checkpoint, job.tested, dataset, batch, self.jit_compile, reference=job.reference)
        if model is None:
            return source
        as_trained = dataclasses.replace(job.tested.model, fixed_length=job.trained.model.fixed_length)
        if (job.tested.phy, as_trained) != (job.trained.phy, job.trained.model):  # a fixed length is forced at run time
            model = load_model(checkpoint, job.tested, dataset)
        return dataclasses.replace(source, evaluator=source.evaluator_of(model))

    def point_args(self, job, checkpoint, num_test: int) -> dict:
        """What identifies and stops every point of ``job``'s sweep, as :func:`semcom_sim.sweep.run_sweep` takes it.
        A point never revisits a test sample: its sample budget is capped at the whole batches the test set
        holds (:func:`sample_budget`)."""
        cfg = self.sweep
        min_samples, max_samples = sample_budget(cfg.min_samples, cfg.max_samples, cfg.batch_size, num_test)
        return {"scheme": job.row_scheme, "channel": job.tested.phy.channel, "ebno_db": job.ebno_db,
                "model_id": model_id(checkpoint, cfg), "condition": condition_of(job.tested, job.kind),
                "ci_half_width": cfg.ci_half_width, "confidence": cfg.confidence, "min_samples": min_samples,
                "max_samples": max_samples, "base_seed": cfg.seed}

    def sweep_job(self, job, checkpoint, dataset, store: ResultsStore, model=None) -> list[dict]:
        """Sweeps one job; rows land in ``store`` point by point."""
        source = self.source(job, checkpoint, dataset, model)
        link = source.build().model.link

        def no_of(ebno: float) -> float:
            return float(np.asarray(link.noise_variance(np.float32(ebno))))

        heading = f"[{job.row_scheme}] {Condition.of(job.tested).display}{job.describe()}"
        self.stream.write(f"\n{heading}: accuracy vs Eb/N0\n")
        return run_sweep(**self.point_args(job, checkpoint, len(dataset.y_test)), make_batches=source, no_of=no_of,
                         esno_db_of=lambda e: float(esno_db_from_no(no_of(e))), store=store,
                         show_progress=self.show_progress, stream=self.stream, reraise_interrupt=True,
                         executor=self.executor)

    def sweep_all(self, sweeps: Iterable[tuple], store: ResultsStore) -> list[dict]:
        """:meth:`sweep_job` of every ``(job, checkpoint, dataset, model)`` of ``sweeps``, in order. A distributed
        executor first gets every sweep's points still to compute (:meth:`Executor.prefetch`), so that a cluster
        works on all of them at once; the rows still land one sweep after the other. In process, ``sweeps`` is
        drawn one sweep at a time (a generator that trains a model when its sweep comes keeps one model in
        memory)."""
        distributed = self.executor is not None and self.executor.distributed
        if distributed:
            sweeps = list(sweeps)
            for job, checkpoint, dataset, _ in sweeps:
                self.executor.prefetch(self.source(job, checkpoint, dataset),
                                       pending_points(**self.point_args(job, checkpoint, len(dataset.y_test)),
                                                      store=store))
        rows = []
        try:
            for job, checkpoint, dataset, model in sweeps:
                rows += self.sweep_job(job, checkpoint, dataset, store, model)
        finally:
            if distributed:  # an interrupted or failed study leaves none of its points running
                self.executor.cancel_prefetched()
        return rows
