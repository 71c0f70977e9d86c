"""Monte Carlo sweep of task accuracy over Eb/N0, with statistical stopping and point-by-point resume.

This is Sionna's ``sim_ber`` for a semantic link: at each Eb/N0 point Monte Carlo batches are drawn
until the accuracy is known well enough. Task accuracy has an error floor (a classifier is wrong on
some samples even over a perfect channel), so "stop after N errors" does not work; instead a point
stops once the Wilson confidence interval of the accuracy is narrower than a target, or when a
sample budget is spent.

A **sample** is one semantic message (one image or one text through the link); an OFDM **frame** is
one resource grid, which carries several samples. ``samples`` counts the evaluated samples and
``correct`` the correctly classified ones: ``accuracy = correct / samples``.

Every finished point is written at once to a CSV file (:class:`semcom_sim.results.ResultsStore`, rewritten
atomically),
so an interrupted sweep resumes point by point: rerunning the same command reuses the completed
points of the same model (``model_id``) and computes the rest. Each point draws its randomness from
:func:`point_seed` of the sweep's base seed and the Eb/N0 value alone, so a resumed sweep reproduces the rows
of an uninterrupted one and **every scheme at a point sees the same test samples in the same order and the
same channel realisations** (and the same noise where two schemes send the same resource grid): common
random numbers, which make scheme-versus-scheme verdicts paired.

This module is generic: it knows nothing of TensorFlow or Sionna. The evaluator is a callable
``make_batches(ebno_db, seed)`` that yields ``(num_correct, num_samples)`` per batch, or
``(num_correct, num_samples, channel_uses)`` with the complex channel uses the batch's samples sent (the
row's ``channel_uses`` is then their mean per sample), or ``(num_correct, num_samples, channel_uses, hits)``
with each sample's outcome (kept beside the row: :func:`semcom_sim.results.read_outcomes`).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import hashlib
import logging
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, TextIO

import numpy as np
from tqdm import tqdm

from semcom_sim.calibration import expected_calibration_error
from semcom_sim.errors import InputError, ScenarioError
from semcom_sim.results import CONDITION_COLUMNS, RESULT_COLUMNS, ResultsStore, point_key

__all__ = ["wilson_interval", "difference_interval", "paired_difference", "mcnemar_p_value", "holm_adjust",
           "SWEEP_STREAM", "point_seed",
           "run_sweep", "SweepPoint", "PointResult",
           "evaluate_point", "Executor", "InProcessExecutor", "RayExecutor", "make_executor", "check_ray_address",
           "EXECUTORS"]

_STATUS_TEXT = {"ci": "reached CI target", "max_samples": "reached max samples"}


# -- statistics ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``correct / total``.

    Returns ``(low, high)`` within [0, 1]; ``(0.0, 1.0)`` when ``total`` is 0. Unlike the normal
    approximation it stays sensible near 0 and 1 (an accuracy near 1 at high Eb/N0).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if total < 0 or correct < 0 or correct > total:
        raise ValueError(f"need 0 <= correct <= total, got correct={correct!r}, total={total!r}")
    if total == 0:
        return 0.0, 1.0
    z = _z(float(confidence))
    n = float(total)
    p = correct / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if correct == 0 else max(0.0, center - half)
    high = 1.0 if correct == total else min(1.0, center + half)
    return low, high


def difference_interval(correct_a: int, total_a: int, correct_b: int, total_b: int,
                        confidence: float = 0.95) -> tuple[float, float, float]:
    """Accuracy difference ``p_a - p_b`` of two independent runs and its confidence interval.

    Newcombe's hybrid score interval (method 10 of Newcombe, Stat. Med. 1998), built from the two
    Wilson intervals. Returns ``(difference, low, high)``.
    """
    p_a, p_b = correct_a / total_a, correct_b / total_b
    low_a, high_a = wilson_interval(correct_a, total_a, confidence)
    low_b, high_b = wilson_interval(correct_b, total_b, confidence)
    diff = p_a - p_b
    low = diff - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = diff + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return diff, low, high


def mcnemar_p_value(better: int, worse: int) -> float:
    """Exact two-sided McNemar p-value of ``better`` vs ``worse`` discordant pairs: twice the smaller tail
    of Binomial(better + worse, 1/2), capped at 1 (1 when there is no discordant pair)."""
    n, k = int(better) + int(worse), min(int(better), int(worse))
    if n == 0:
        return 1.0
    log_half = n * math.log(0.5)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half for i in range(k + 1)]
    top = max(terms)
    tail = math.exp(top) * sum(math.exp(t - top) for t in terms)
    return min(1.0, 2.0 * tail)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm, Scand. J. Statist. 6:65-70, 1979), in the input order:
    the ``i``-th smallest raw p times ``m - i`` (``i`` from 0), made non-decreasing, capped at 1. Rejecting
    where the adjusted p is below ``alpha`` controls the family-wise error rate at ``alpha`` under any
    dependence between the tests."""
    p = [float(v) for v in p_values]
    if any(not 0.0 <= v <= 1.0 for v in p):
        raise ValueError(f"holm_adjust: p-values must lie in [0, 1], got {p_values!r}")
    order = sorted(range(len(p)), key=lambda i: p[i])
    out = [0.0] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def paired_difference(correct_a, correct_b, confidence: float = 0.95) -> dict:
    """Accuracy difference ``p_a - p_b`` of two models (or settings) on the **same** samples, channel and
    noise draws: ``correct_a``, ``correct_b`` are per-sample booleans of equal length.

    Returns ``difference``; ``low``, ``high``: Newcombe's square-and-add interval for paired proportions (method
    10 of Newcombe, "Improved confidence intervals for the difference between binomial proportions based on
    paired data", Statistics in Medicine 17, 1998): the Wilson intervals of the two accuracies, combined with the
    correlation of the paired outcomes (``phi``, corrected towards 0 by ``n / 2`` on the ``ad - bc`` scale). Unlike
    the Wald interval it does not collapse to a point when no sample is discordant and stays within [-1, 1]; with
    few discordant samples it may still exclude 0 where the exact test does not reject, so verdicts read
    ``p_value``, never the interval. ``p_value``: exact McNemar (:func:`mcnemar_p_value`);
    ``better``, ``worse``: the samples right only with ``a`` / only with ``b``; ``samples``: ``n``.
    """
    a = [bool(v) for v in correct_a]
    b = [bool(v) for v in correct_b]
    if len(a) != len(b) or not a:
        raise ValueError(f"paired_difference needs two non-empty outcome lists of one length, got {len(a)} and "
                         f"{len(b)}")
    n = len(a)
    both = sum(x and y for x, y in zip(a, b))
    better = sum(x and not y for x, y in zip(a, b))
    worse = sum(y and not x for x, y in zip(a, b))
    neither = n - both - better - worse
    p_a, p_b = (both + better) / n, (both + worse) / n
    low_a, high_a = wilson_interval(both + better, n, confidence)
    low_b, high_b = wilson_interval(both + worse, n, confidence)
    margins = (both + better) * (worse + neither) * (both + worse) * (better + neither)
    cross = both * neither - better * worse
    corrected = cross - n / 2 if cross > n / 2 else (0.0 if cross >= 0 else cross)
    phi = corrected / math.sqrt(margins) if margins > 0 else 0.0
    diff = (better - worse) / n
    below = math.sqrt(max((p_a - low_a) ** 2 - 2 * phi * (p_a - low_a) * (high_b - p_b) + (high_b - p_b) ** 2, 0.0))
    above = math.sqrt(max((p_b - low_b) ** 2 - 2 * phi * (p_b - low_b) * (high_a - p_a) + (high_a - p_a) ** 2, 0.0))
    return {"difference": diff, "low": diff - below, "high": diff + above,
            "p_value": mcnemar_p_value(better, worse), "better": better, "worse": worse, "samples": n}


SWEEP_STREAM = "common"
"""The stream name of every sweep point's seed: one for all schemes, so they share their draws."""


def point_seed(base_seed: int, stream: str, ebno_db: float) -> int:
    """The seed of one point of a random stream, a non-negative int below 2**31.

    Derived with SHA-256 from the base seed, the stream's name (:data:`SWEEP_STREAM` for every sweep, so
    all schemes at one Eb/N0 share their draws; a study of its own names its own stream) and the Eb/N0
    value, so it is the same in every process (unlike ``hash()``) and does not depend on which points were
    computed before.
    ``2``, ``2.0`` and ``np.float64(2)`` give the same seed, as do ``0.0`` and ``-0.0``.
    """
    ebno = float(ebno_db) + 0.0  # -0.0 -> 0.0
    text = f"semcom-sim/sweep|{int(base_seed)}|{stream}|{ebno!r}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (2**31 - 1)


# -- the sweep -------------------------------------------------------------------------------------

def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class _Table:
    """A Sionna-style status table: one header, one line per point."""

    def __init__(self, confidence: float, stream: TextIO):
        self.stream = stream
        self.titles = ("EbNo [dB]", "EsNo [dB]", "accuracy", f"{100 * confidence:g}% CI", "samples", "correct",
                       "runtime [s]", "status")
        self.widths = (9, 9, 8, 16, 8, 8, 11, 18)
        self.widths = tuple(max(w, len(t)) for w, t in zip(self.widths, self.titles))
        self._header_done = False

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def header(self) -> None:
        if self._header_done:
            return
        self._header_done = True
        line = " | ".join(t.rjust(w) for t, w in zip(self.titles, self.widths))
        self._print(line)
        self._print("-" * len(line))

    def row(self, row: dict, status: str) -> None:
        self.header()
        cells = (f"{row['ebno_db']:.2f}", f"{row['esno_db']:.2f}", f"{row['accuracy']:.4f}",
                 f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]", f"{row['samples']}",
                 "" if row.get("correct") is None else f"{row['correct']}",
                 "" if row.get("runtime_s") is None else f"{row['runtime_s']:.2f}", status)
        self._print(" | ".join(c.rjust(w) for c, w in zip(cells, self.widths)))


def _validate_sweep_args(ebno_db, ci_half_width, confidence, min_samples, max_samples) -> list[float]:
    try:
        points = list(ebno_db)
    except TypeError:
        raise ScenarioError(f"sweep.ebno_db: expected a sequence of Eb/N0 values in dB, "
                            f"got {ebno_db!r}") from None
    if not points:
        raise ScenarioError("sweep.ebno_db: needs at least one Eb/N0 point")
    values = []
    for i, v in enumerate(points):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ScenarioError(f"sweep.ebno_db[{i}]: expected a number, got {v!r}") from None
        if isinstance(v, bool) or not math.isfinite(f):
            raise ScenarioError(f"sweep.ebno_db[{i}]: expected a finite number, got {v!r}")
        values.append(f)
    if len({point_key("", "", v) for v in values}) != len(values):
        raise ScenarioError(f"sweep.ebno_db: has repeated points: {values!r}")
    if not (isinstance(ci_half_width, (int, float)) and ci_half_width > 0):
        raise ScenarioError(f"sweep.ci_half_width: must be > 0, got {ci_half_width!r}")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise ScenarioError(f"sweep.confidence: must be in (0, 1), got {confidence!r}")
    if int(max_samples) < 1:
        raise ScenarioError(f"sweep.max_samples: must be > 0, got {max_samples!r}")
    if int(min_samples) < 0:
        raise ScenarioError(f"sweep.min_samples: must be >= 0, got {min_samples!r}")
    if int(min_samples) > int(max_samples):
        raise ScenarioError(f"sweep.min_samples: {min_samples} exceeds sweep.max_samples={max_samples}")
    return values


def _run_point(make_batches, ebno: float, seed: int, *, ci_half_width: float, confidence: float,
               min_samples: int, max_samples: int, pbar) -> tuple:
    correct = total = 0
    uses: float | None = None
    hits: list[np.ndarray] | None = []
    calibration: list[tuple[np.ndarray, np.ndarray]] | None = []
    low, high = 0.0, 1.0
    batches = make_batches(ebno, seed)
    try:
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                raise RuntimeError(f"make_batches stopped at Eb/N0 {ebno:g} dB after {total} samples; it must "
                                   "yield (num_correct, num_samples) until the sweep stops") from None
            k, n = int(batch[0]), int(batch[1])
            if len(batch) > 2:  # the channel uses the batch's samples sent, summed
                uses = (uses or 0.0) + float(batch[2])
            if len(batch) > 3 and hits is not None:  # each sample's outcome, in draw order
                hits.append(np.asarray(batch[3], dtype=bool).reshape(-1))
            else:
                hits = None
            if len(batch) > 5 and calibration is not None:  # each sample's confidence and label NLL
                calibration.append((np.asarray(batch[4], np.float64).reshape(-1),
                                    np.asarray(batch[5], np.float64).reshape(-1)))
            else:
                calibration = None
            if n <= 0 or not 0 <= k <= n:
                raise ValueError(f"make_batches yielded (num_correct={k}, num_samples={n}) "
                                 f"at Eb/N0 {ebno:g} dB; need num_samples > 0 and "
                                 "0 <= num_correct <= num_samples")
            correct += k
            total += n
            low, high = wilson_interval(correct, total, confidence)
            half = (high - low) / 2.0
            pbar.update(n)
            pbar.set_postfix_str(f"acc={correct / total:.4f} ±{half:.4f}", refresh=False)
            stop = "ci" if total >= min_samples and half <= ci_half_width else \
                "max_samples" if total >= max_samples else None
            if stop is not None:
                outcomes = np.concatenate(hits) if hits else None
                if outcomes is not None and (outcomes.size != total or int(outcomes.sum()) != correct):
                    raise ValueError(f"make_batches yielded per-sample outcomes that disagree with its counts at "
                                     f"Eb/N0 {ebno:g} dB ({outcomes.size} outcomes, {int(outcomes.sum())} hits; "
                                     f"{total} samples, {correct} correct)")
                ece = nll = None
                if calibration and outcomes is not None:
                    confidence = np.concatenate([c for c, _ in calibration])
                    ece = expected_calibration_error(confidence, outcomes)
                    nll = float(np.concatenate([n for _, n in calibration]).mean())
                return correct, total, low, high, stop, None if uses is None else uses / total, outcomes, ece, nll
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


# -- points as jobs, and executors -----------------------------------------------------------------

@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep as an independent, picklable job: what to evaluate and when to stop.

    ``seed`` is :func:`point_seed` of the sweep's base seed and the point (the same for every scheme), so a
    point's result depends on nothing but this job and the evaluator's model.
    """

    scheme: str
    channel: str
    condition: tuple[tuple[str, Any], ...]
    ebno_db: float
    seed: int
    ci_half_width: float
    confidence: float
    min_samples: int
    max_samples: int


@dataclass(frozen=True)
class PointResult:
    """What evaluating a :class:`SweepPoint` gives: counts, the Wilson interval, why it stopped, seconds."""

    correct: int
    samples: int
    ci_low: float
    ci_high: float
    stop: str
    runtime_s: float
    channel_uses: float | None = None
    outcomes: np.ndarray | None = None
    """One bool per sample in draw order, when ``make_batches`` yields them (paired comparisons read them)."""
    ece: float | None = None
    """The expected calibration error of the point's decisions, when ``make_batches`` yields confidences."""
    nll: float | None = None
    """The mean negative log-likelihood of the labels (nats), when ``make_batches`` yields it."""


def evaluate_point(point: SweepPoint, make_batches: Callable[[float, int], Iterator[tuple[int, int]]],
                   pbar=None) -> PointResult:
    """Draws ``make_batches(point.ebno_db, point.seed)`` until the point's stopping rule holds."""
    start = time.perf_counter()
    bar = pbar if pbar is not None else tqdm(total=point.max_samples, disable=True)
    correct, samples, low, high, stop, uses, outcomes, ece, nll = _run_point(
        make_batches, point.ebno_db, point.seed, ci_half_width=point.ci_half_width, confidence=point.confidence,
        min_samples=point.min_samples, max_samples=point.max_samples, pbar=bar)
    return PointResult(correct, samples, low, high, stop, time.perf_counter() - start, uses, outcomes, ece, nll)


class Executor(abc.ABC):
    """Runs a study's independent jobs: sweep points (:meth:`map`) and trainings, searches (:meth:`run`);
    the sweep logic (resume, rows, the results file) stays in :func:`run_sweep` and the driver.

    A distributed executor receives picklable points and a picklable ``make_batches`` (one that can
    rebuild its model in a worker, :class:`semcom_sim.evaluate.BatchSource`) and must yield the results
    **in the order of the points**; the driver alone writes the results file, as each result arrives.
    """

    distributed: bool = False
    """Whether jobs run in other processes (then the driver trains through :meth:`run` and reloads the
    checkpoints the jobs wrote, instead of training in its own process)."""

    @abc.abstractmethod
    def map(self, make_batches: Callable[[float, int], Iterator[tuple[int, int]]],
            points: Sequence[SweepPoint]) -> Iterator[PointResult]:
        """Yields :func:`evaluate_point` of every point, in order."""

    def prefetch(self, make_batches: Callable[[float, int], Iterator[tuple[int, int]]],
                 points: Sequence[SweepPoint]) -> None:
        """Starts ``points`` ahead of the :meth:`map` that will ask for them with the same
        ``make_batches`` (a study submits all its sweeps before it collects the first, so a cluster works
        on every scheme's points at once). This implementation does nothing: in-process, points are
        evaluated when :meth:`map` reaches them."""
        return None

    def cancel_prefetched(self) -> None:
        """Cancels the points that :meth:`prefetch` started and no :meth:`map` collected (a study that
        was interrupted or failed). This implementation has none."""
        return None

    def run(self, jobs: Sequence[Callable[[], Any]]) -> Iterator[Any]:
        """Yields ``job()`` of every job (a picklable callable with no arguments), in order. This
        implementation runs them one after the other in this process."""
        for job in jobs:
            yield job()

    def close(self) -> None:
        """Releases what the executor started (a local cluster); it cannot be used afterwards."""
        return None


class InProcessExecutor(Executor):
    """Evaluates the points one after the other in this process, with a progress bar per point.

    :param show_progress: draw the bars (only on a terminal).
    :param stream: where the bars go.
    """

    def __init__(self, show_progress: bool = True, stream: TextIO | None = None):
        self.show_progress = show_progress
        self.stream = sys.stdout if stream is None else stream

    def map(self, make_batches, points):
        disable = not self.show_progress or not _is_tty(self.stream)
        for point in points:
            with tqdm(total=point.max_samples, disable=disable, file=self.stream, leave=False, unit="sample",
                      desc=f"{point.scheme} {point.channel} {point.ebno_db:g} dB", dynamic_ncols=True) as pbar:
                yield evaluate_point(point, make_batches, pbar)


# -- the Ray executor --------------------------------------------------------------------------------

def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray: Ray is not installed; install the extra: pip install "
                         "'semcom-sim[ray]'") from None
    return ray


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """Raises a one-line :class:`InputError` unless ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or
    ``auto``) names a port that accepts a connection within ``timeout_s`` (Ray itself waits minutes on a
    wrong address before it fails)."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--address: {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise InputError(f"--address: no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                         "`ray start --head` there, or leave --address out for a local Ray instance") from None


def _strip_dataset(job) -> tuple[Any, Any]:
    """``(job without its dataset, the dataset)``: the dataset travels once through the object store."""
    dataset = getattr(job, "dataset", None)
    if dataset is None or not dataclasses.is_dataclass(job):
        return job, None
    return dataclasses.replace(job, dataset=None), dataset


def _in_worker(job, dataset, cwd: str, point: SweepPoint | None = None):
    """What a Ray task runs: in the driver's working directory (a path every machine shares), the job
    with its dataset put back; a sweep point with ``point``."""
    if not os.path.isdir(cwd):
        raise InputError(f"Ray worker on {socket.gethostname()}: the driver's working directory {cwd} is not on this "
                         "machine; a cluster needs it (run directory, checkpoints, teacher caches) on a filesystem "
                         "mounted at the same path everywhere (docs/scaling.md)")
    os.chdir(cwd)
    if dataset is not None:
        job = dataclasses.replace(job, dataset=dataset)
    return evaluate_point(point, job) if point is not None else job()


class RayExecutor(Executor):
    """Runs sweep points, trainings and searches as Ray tasks, on a cluster or a local Ray instance.

    Each job is a task with the declared resources; ``ray.get`` returns results in the jobs' order, so
    the driver writes rows exactly as the in-process executor does. A job's dataset is put into Ray's
    object store once per executor (workers read it from there, not from the data files); checkpoints,
    teacher caches and genotypes are files under the driver's working directory, which every worker
    must see at the same path (a shared filesystem on a cluster). A task whose worker process dies is
    retried ``max_retries`` times (Ray's lineage); an exception raised by the job is not retried.

    :param address: a running cluster (``HOST:PORT``, ``ray://HOST:PORT``, ``auto``); ``None`` starts a
        local Ray instance with ``num_cpus`` CPUs (default: all).
    :param task_cpus: CPUs per task. ``task_gpus``: GPUs per task (Ray sets ``CUDA_VISIBLE_DEVICES``).
    :param max_retries: retries of a task whose worker died.
    """

    distributed = True

    def __init__(self, address: str | None = None, *, task_cpus: float = 1.0, task_gpus: float = 0.0,
                 max_retries: int = 3, num_cpus: int | None = None):
        if not (task_cpus > 0 and task_gpus >= 0 and max_retries >= 0):
            raise InputError(f"Ray executor: task_cpus must be > 0, task_gpus >= 0 and max_retries >= 0, got "
                             f"{task_cpus}, {task_gpus}, {max_retries}")
        ray = _import_ray()
        if address is not None:
            check_ray_address(address)
        self._ray, self._owned = ray, False
        if not ray.is_initialized():
            # workers import TensorFlow with its C++ start-up logs muted, as the command line does
            options = {"include_dashboard": False, "log_to_driver": True, "logging_level": logging.WARNING,
                       "runtime_env": {"worker_process_setup_hook": "semcom_sim.cli.import_tensorflow_quietly"}}
            if address is not None:
                try:
                    ray.init(address=address, **options)
                except ConnectionError as exc:
                    raise InputError(f"--address: cannot join the Ray cluster at {address}: "
                                     f"{str(exc).splitlines()[0]}") from None
            else:
                ray.init(num_cpus=num_cpus, **options)
            self._owned = True
        self._task = ray.remote(_in_worker).options(num_cpus=task_cpus, num_gpus=task_gpus, max_retries=max_retries,
                                                    retry_exceptions=False)
        self._datasets: dict[int, tuple[Any, Any]] = {}  # id -> (dataset, object ref); the dataset is kept alive
        self._prefetched: dict[tuple, Any] = {}  # (batch source key, point) -> the task already submitted
        self.task_cpus, self.task_gpus, self.max_retries = task_cpus, task_gpus, max_retries

    def _submit(self, job, point: SweepPoint | None = None):
        job, dataset = _strip_dataset(job)
        ref = None
        if dataset is not None:
            if id(dataset) not in self._datasets:
                self._datasets[id(dataset)] = (dataset, self._ray.put(dataset))
            ref = self._datasets[id(dataset)][1]
        return self._task.remote(job, ref, os.getcwd(), point)

    def _gather(self, futures) -> Iterator[Any]:
        done = 0
        try:
            for future in futures:
                yield self._ray.get(future)
                done += 1
        finally:
            for future in futures[done:]:  # an interrupted driver leaves no task running
                self._ray.cancel(future, force=True)

    @staticmethod
    def _source_key(make_batches) -> tuple:
        if not dataclasses.is_dataclass(make_batches):
            raise TypeError("the Ray executor evaluates a picklable batch source (semcom_sim.evaluate.BatchSource), "
                            f"not {type(make_batches).__name__}")
        return getattr(make_batches, "key", id(make_batches))

    def prefetch(self, make_batches, points):
        key = self._source_key(make_batches)
        for point in points:
            if (key, point) not in self._prefetched:
                self._prefetched[key, point] = self._submit(make_batches, point)

    def map(self, make_batches, points):
        if not points:
            return
        key = self._source_key(make_batches)
        futures = []
        for point in points:
            future = self._prefetched.pop((key, point), None)
            futures.append(self._submit(make_batches, point) if future is None else future)
        yield from self._gather(futures)

    def run(self, jobs):
        yield from self._gather([self._submit(job) for job in jobs])

    def cancel_prefetched(self) -> None:
        for future in self._prefetched.values():
            self._ray.cancel(future, force=True)
        self._prefetched.clear()

    def close(self) -> None:
        self.cancel_prefetched()
        self._datasets.clear()
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False


EXECUTORS = ("in-process", "ray")


def make_executor(name: str = "in-process", *, address: str | None = None, task_cpus: float = 1.0,
                  task_gpus: float = 0.0, show_progress: bool = True, stream: TextIO | None = None) -> Executor:
    """The executor the command line names (``--executor``, ``--address``, ``--task-cpus``, ``--task-gpus``)."""
    if name not in EXECUTORS:
        raise InputError(f"--executor: {name!r} is not one of {', '.join(EXECUTORS)}")
    if name == "in-process":
        if address is not None:
            raise InputError("--address: only with --executor ray")
        return InProcessExecutor(show_progress, stream)
    return RayExecutor(address, task_cpus=task_cpus, task_gpus=task_gpus)


def _plan(scheme, channel, model_id, points, store, condition, *, ci_half_width, confidence, min_samples, max_samples,
          base_seed) -> tuple[dict, list[SweepPoint]]:
    """``(the stored row or None per point, the points still to compute)`` of one sweep."""
    stored = {ebno: store.lookup(scheme, channel, ebno, model_id, **condition) for ebno in points}
    todo = [SweepPoint(scheme=str(scheme), channel=str(channel), condition=tuple(condition.items()), ebno_db=ebno,
                       seed=point_seed(base_seed, SWEEP_STREAM, ebno), ci_half_width=float(ci_half_width),
                       confidence=float(confidence), min_samples=int(min_samples), max_samples=int(max_samples))
            for ebno in points if stored[ebno] is None]
    return stored, todo


def pending_points(*, scheme: str, channel: str, model_id: str, ebno_db: Sequence[float], store: ResultsStore,
                   ci_half_width: float, confidence: float, min_samples: int, max_samples: int, base_seed: int,
                   condition: Mapping[str, Any] | None = None) -> list[SweepPoint]:
    """The points that :func:`run_sweep` with the same arguments would compute (those without a completed
    row of ``model_id`` in ``store``), as it would hand them to its executor: what a study passes to
    :meth:`Executor.prefetch` before it sweeps."""
    points = _validate_sweep_args(ebno_db, ci_half_width, confidence, min_samples, max_samples)
    return _plan(scheme, channel, model_id, points, store, dict(condition or {}), ci_half_width=ci_half_width,
                 confidence=confidence, min_samples=min_samples, max_samples=max_samples, base_seed=base_seed)[1]


def run_sweep(*, scheme: str, channel: str, model_id: str, ebno_db: Sequence[float],
              make_batches: Callable[[float, int], Iterator[tuple[int, int]]],
              esno_db_of: Callable[[float], float], no_of: Callable[[float], float],
              store: ResultsStore, ci_half_width: float, confidence: float, min_samples: int, max_samples: int,
              base_seed: int, show_progress: bool = True, stream: TextIO | None = None,
              reraise_interrupt: bool = False, condition: Mapping[str, Any] | None = None,
              executor: Executor | None = None) -> list[dict]:
    """Sweeps task accuracy over ``ebno_db`` for one scheme and channel; returns the rows, in point order.

    ``condition`` holds the row's test-condition columns (``semcom_sim.results.CONDITION_COLUMNS``,
    e.g. from :func:`semcom_sim.results.condition_of`). For each point in order: a completed row of the
    same point (scheme, channel, condition, Eb/N0) and ``model_id`` in ``store`` is reused (status
    ``resumed``). Otherwise ``make_batches(ebno_db, point_seed(base_seed, SWEEP_STREAM, ebno_db))`` is
    iterated (the same seed for every scheme: common random numbers); it yields
    ``(num_correct, num_samples[, channel_uses[, hits[, confidence, nll]]])`` per Monte Carlo batch until closed
    (``hits``: one bool per sample; the store keeps them beside the row for paired comparisons; ``confidence``
    and ``nll``: each sample's largest softmax probability and its label's negative log-likelihood, which give
    the row's ``ece`` and ``nll``, :mod:`semcom_sim.calibration`).
    Batches are drawn until at least ``min_samples`` samples are done and the Wilson interval's
    half-width is at most ``ci_half_width`` (``stop="ci"``), or until ``max_samples`` samples are done
    (``stop="max_samples"``; samples may exceed it by less than one batch). The row is then put into
    ``store`` at once and a line of the status table is printed to ``stream``.

    Each point still to compute is a :class:`SweepPoint` job that ``executor`` (default: an
    :class:`InProcessExecutor`) evaluates; its results come back in point order and this function alone
    writes them, as they arrive.

    On ``KeyboardInterrupt`` the sweep stops, says where the finished points are saved and how to
    resume, and returns the rows done so far (the interrupted point is not stored), or, with
    ``reraise_interrupt``, raises the ``KeyboardInterrupt`` again so that a caller stops as well.
    """
    points = _validate_sweep_args(ebno_db, ci_half_width, confidence, min_samples, max_samples)
    stream = sys.stdout if stream is None else stream
    min_samples, max_samples = int(min_samples), int(max_samples)
    confidence, ci_half_width = float(confidence), float(ci_half_width)
    executor = executor if executor is not None else InProcessExecutor(show_progress, stream)
    table = _Table(confidence, stream)
    condition = dict(condition or {})
    unknown = set(condition) - set(CONDITION_COLUMNS)
    if unknown:
        raise ValueError(f"condition: unknown column(s) {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(CONDITION_COLUMNS)}")
    where = "".join(f", {c}={condition[c]}" for c in ("csi", "variant") if condition.get(c))
    print(f"Sweep: scheme={scheme}, channel={channel}{where}, "
          f"model={model_id}, {len(points)} Eb/N0 points, "
          f"target {100 * confidence:g}% CI half-width <= {ci_half_width:g}, samples "
          f"{min_samples}..{max_samples}", file=stream, flush=True)
    table.header()
    stored, todo = _plan(scheme, channel, model_id, points, store, condition, ci_half_width=ci_half_width,
                         confidence=confidence, min_samples=min_samples, max_samples=max_samples, base_seed=base_seed)
    results = executor.map(make_batches, todo)  # lazily, in order: a result is drawn when its point comes
    rows: list[dict] = []
    ebno = points[0]
    try:
        for ebno in points:
            if stored[ebno] is not None:
                rows.append(stored[ebno])
                table.row(stored[ebno], "resumed (stored)")
                continue
            result = next(results)
            row = {
                "scheme": str(scheme), "channel": str(channel), "ebno_db": ebno,
                "esno_db": float(esno_db_of(ebno)), "accuracy": result.correct / result.samples,
                "ci_low": result.ci_low, "ci_high": result.ci_high, "samples": result.samples,
                "correct": result.correct, "no": float(no_of(ebno)), "stop": result.stop,
                "runtime_s": result.runtime_s, "model_id": str(model_id), "channel_uses": result.channel_uses,
                "ece": result.ece, "nll": result.nll,
                **{c: condition.get(c) for c in CONDITION_COLUMNS},
            }
            row = {c: row[c] for c in RESULT_COLUMNS}  # in file order
            store.put(row, outcomes=result.outcomes)
            rows.append(row)
            table.row(row, _STATUS_TEXT[result.stop])
    except KeyboardInterrupt:
        print(f"\nInterrupted at Eb/N0 {ebno:g} dB: {len(rows)} of {len(points)} points of scheme {scheme!r} "
              f"({channel}) are done. Partial results are saved in {store.path}; rerun the same command "
              "to resume (finished points are reused, the rest are computed).", file=stream, flush=True)
        if reraise_interrupt:
            raise
    return rows
