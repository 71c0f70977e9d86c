"""One experiment: a scenario bound to its output directory. It serves ``run``, ``train``, ``sweep`` and
``compare``.

An :class:`Experiment` trains every scheme it names (or reuses the checkpoint of exactly that
experiment), evaluates it under test conditions, and writes the run directory (file names and schemas in
:mod:`semcom_sim.results`; figures and summaries from :mod:`semcom_sim.report`):

- ``run`` / ``sweep``: the schemes of ``sweep.schemes`` under the scenario's own ``phy``;
- ``compare``: the schemes of ``compare.schemes`` under every test condition of ``compare.conditions``
  (channel x CSI), the robustness variants, the training-data fractions, the cost and the distillation
  axes (see ``docs/compare.md``).

A **variant** (:class:`Variant`) is a study's change to the scenario, a patch of scenario fields like a
scheme's: the SNR-feedback resolution or staleness (patched at test time) or the training-data fraction
(patched at training time, with the optimizer steps kept). Its rows carry the patched values in typed
columns (``variant``, ``snr_feedback_bits``, ``snr_feedback_delay_ms``, ``train_fraction``).

Sweep points are jobs evaluated by an :class:`~semcom_sim.sweep.Executor`; every step reuses what an
earlier invocation left in the output directory (checkpoints by fingerprint, sweep points by model id),
so an interrupted experiment resumes.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from semcom_sim.adaptation import adaptation_rows
from semcom_sim.cost import device_name, student_cost
from semcom_sim.data import Dataset, load_dataset
from semcom_sim.evaluate import AccuracyEvaluator, BatchSource, epoch_validator
from semcom_sim.io import atomic_write_text
from semcom_sim.phy import esno_db_from_no
from semcom_sim.report import figures, summaries
from semcom_sim.results import (
    ADAPTATION_COLUMNS,
    ADAPTATION_CSV,
    COST_COLUMNS,
    COST_CSV,
    DISTILLATION_COLUMNS,
    DISTILLATION_CSV,
    FIGURES,
    PLOT_PNG,
    RESULTS_CSV,
    RUN_JSON,
    SCENARIO_JSON,
    SUMMARY_MD,
    ResultsStore,
    condition_of,
    git_commit,
    machine,
    model_id,
    read_adaptation,
    read_cost,
    read_distillation,
    read_results,
    write_csv,
)
from semcom_sim.scenario import Scenario, ScenarioError
from semcom_sim.schemes import apply_patch, resolve_scheme, resolve_test_scenario
from semcom_sim.sweep import Executor, pending_points, run_sweep
from semcom_sim.train import Checkpoint, TrainJob, load_checkpoint, load_or_train, load_resolved

__all__ = ["Experiment", "Variant", "run", "compare", "condition_scenario", "fraction_scenario"]

_CSI_TEXT = {"perfect": "perfect CSI", "ls": "LS CSI"}


# -- variants: a study's patch of the scenario -------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """A study's change to the scenario: ``kind`` (a :data:`semcom_sim.results.VARIANTS` name), the
    value it varies, and the patch of ``"section.field"`` values that makes it."""

    kind: str
    value: float
    patch: Mapping[str, Any]

    @property
    def retrains(self) -> bool:
        """Whether the variant changes what is trained (else it is applied at test time only)."""
        return any(key.startswith("training.") for key in self.patch)

    def apply(self, scenario: Scenario) -> Scenario:
        return apply_patch(scenario, self.patch, f"compare: {self.kind} variant {self.value:g}")

    @classmethod
    def feedback(cls, bits: int) -> Variant:
        """The fed-back SNR quantised to ``bits`` bits."""
        return cls("feedback", float(bits), {"phy.snr_feedback_bits": int(bits)})

    @classmethod
    def stale(cls, delay_ms: float) -> Variant:
        """The fed-back SNR ``delay_ms`` old."""
        return cls("stale", float(delay_ms), {"phy.snr_feedback_delay_ms": float(delay_ms)})

    @classmethod
    def length(cls, length: int) -> Variant:
        """Nested lengths: every sample sends ``length`` channel uses whatever the SNR (the SNR-blind
        reference)."""
        return cls("length", float(length), {"model.fixed_length": int(length)})

    @classmethod
    def seed(cls, seed: int) -> Variant:
        """Another training of the same scheme: ``training.seed`` replaced (the Monte Carlo draws stay)."""
        return cls("seed", float(seed), {"training.seed": int(seed)})

    @classmethod
    def fraction(cls, scenario: Scenario, fraction: float) -> Variant:
        """Training on ``fraction`` of the data for the same optimizer steps (``ceil(epochs / fraction)``)."""
        if fraction >= 1.0:
            return cls("fraction", float(fraction), {})
        epochs = math.ceil(scenario.training.epochs / fraction - 1e-9)
        return cls("fraction", float(fraction), {"training.train_fraction": float(fraction), "training.epochs": epochs})


def condition_scenario(scenario: Scenario, channel: str, csi: str, **phy) -> Scenario:
    """``scenario`` with ``phy.channel``, ``phy.csi`` (and any other ``phy`` fields) replaced."""
    return dataclasses.replace(scenario, phy=dataclasses.replace(scenario.phy, channel=channel, csi=csi, **phy))


def fraction_scenario(scenario: Scenario, fraction: float) -> Scenario:
    """``scenario`` trained on ``fraction`` of the data for the same optimizer steps."""
    return Variant.fraction(scenario, fraction).apply(scenario)


# -- the experiment ----------------------------------------------------------------------------------

@dataclass
class Experiment:
    """A scenario bound to its output directory, its dataset and the schemes it trains.

    Build it with :meth:`open` (``comparing=True`` for ``semcom-sim compare``). ``models`` and
    ``checkpoints`` hold each scheme's model trained under the scenario's own ``phy``.
    """

    scenario: Scenario
    out_dir: Path
    dataset: Dataset
    comparing: bool = False
    log: Callable[[str], None] = print
    stream: TextIO = sys.stdout
    show_progress: bool = True
    executor: Executor | None = None
    models: dict = field(default_factory=dict)
    checkpoints: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    _features: Dataset | None = None

    @classmethod
    def open(cls, scenario: Scenario, out_dir: str | Path | None = None, *, comparing: bool = False,
             log: Callable[[str], None] = print, stream: TextIO = sys.stdout, show_progress: bool = True,
             executor: Executor | None = None) -> Experiment:
        """Binds ``scenario`` to ``out_dir`` (default: ``output.out_dir``) and loads its dataset; with
        ``comparing``, its schemes are ``compare.schemes``. Every scheme it will train is resolved here,
        so a bad patch fails before anything is trained."""
        if comparing:
            scenario = dataclasses.replace(scenario, sweep=dataclasses.replace(scenario.sweep,
                                                                               schemes=scenario.compare.schemes))
            named = scenario.compare.schemes + scenario.compare.robustness_schemes + scenario.compare.fraction_schemes
        else:
            named = scenario.sweep.schemes
        for scheme in dict.fromkeys(named):
            resolve_test_scenario(scenario, scheme)
        if comparing:
            for scheme in scenario.compare.length_schemes:
                if scheme in scenario.compare.schemes and not resolve_scheme(scenario, scheme).model.lengths:
                    raise ScenarioError(f"compare.length_schemes: {scheme!r} has no nested lengths (model.lengths)")
        out = Path(out_dir) if out_dir is not None else scenario.resolved_out_dir()
        if out.exists() and not out.is_dir():
            raise ScenarioError(f"--out: {out} exists and is not a directory")
        return cls(scenario, out, load_dataset(scenario.data), comparing, log, stream, show_progress, executor)

    # -- what the experiment is made of --------------------------------------------------------------
    @property
    def schemes(self) -> tuple[str, ...]:
        return self.scenario.sweep.schemes

    @property
    def cfg(self):
        """The scenario's ``compare`` section."""
        return self.scenario.compare

    @property
    def results_path(self) -> Path:
        return self.out_dir / RESULTS_CSV

    @property
    def conditions(self) -> tuple[str, ...]:
        """The test conditions ``"CHANNEL/CSI"``: ``compare.conditions``, else the scenario's own."""
        return self.cfg.conditions if self.comparing else (f"{self.scenario.phy.channel}/{self.scenario.phy.csi}",)

    def test_scenario(self, scheme: str, scenario: Scenario | None = None) -> Scenario:
        """``scenario`` (default: the experiment's) as ``scheme`` is evaluated: its patch and test patch."""
        return resolve_test_scenario(scenario or self.scenario, scheme)

    def dataset_for(self, scheme: str) -> Dataset:
        """The dataset a scheme reads: the teacher's features (computed once, kept in
        ``out_dir/teacher_features``) for ``teacher-over-channel``, else the scenario's dataset."""
        if resolve_scheme(self.scenario, scheme).model.source != "teacher-features":
            return self.dataset
        if self._features is None:
            from semcom_sim.teacher.features import feature_dataset  # torch: only when a scheme needs it

            self._features = feature_dataset(self.scenario, self.dataset, self.out_dir / "teacher_features",
                                             self.log)
        return self._features

    def write_scenario(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out_dir / SCENARIO_JSON, self.scenario.to_json() + "\n")

    def ensure_teacher_cache(self, schemes) -> None:
        """Runs the teacher stage once per teacher cache that a cached-KD scheme needs and that does not
        exist yet (schemes that store the teacher's features use a cache of their own)."""
        for scheme in schemes:
            resolved = resolve_scheme(self.scenario, scheme)
            if resolved.training.distillation != "cached":
                continue
            path = resolved.teacher.resolved_cache_path(self.dataset.name)
            if not path.exists():
                from semcom_sim.teacher.stage import build_cache  # torch: only when a cache is missing

                self.log(f"[teacher] no cache at {path}: running the teacher once over the training set")
                start = time.perf_counter()
                build_cache(resolved, self.dataset, log=self.log)
                self.timings["teacher_cache_s"] = self.timings.get("teacher_cache_s", 0.0) + time.perf_counter() - start

    def _validator(self, scheme: str):
        """``on_epoch_end`` for ``compare``'s distillation axis (:func:`semcom_sim.evaluate.epoch_validator`)."""
        return epoch_validator(self.scenario, scheme, self.dataset_for(scheme), self.log)

    # -- training ------------------------------------------------------------------------------------
    def _train_scenarios(self) -> list[Scenario]:
        """The scenarios every scheme is trained under: the experiment's, plus one per test condition
        with ``compare.retrain_per_condition``."""
        scenarios = [self.scenario]
        if self.comparing and self.cfg.retrain_per_condition:
            base = f"{self.scenario.phy.channel}/{self.scenario.phy.csi}"
            scenarios += [condition_scenario(self.scenario, *c.split("/")) for c in self.cfg.conditions if c != base]
        return scenarios

    def train(self, retrain: bool = False) -> None:
        """Trains each scheme unless a matching checkpoint exists (``compare``: with the per-epoch
        validation of the distillation axis, and under every condition if it retrains per condition)."""
        start = time.perf_counter()
        self.write_scenario()
        if self.comparing:
            self.ensure_teacher_cache(self.schemes)
        if self._train_jobs([(scenario, scheme) for scenario in self._train_scenarios() for scheme in self.schemes],
                            retrain, validate=self.comparing):
            retrain = False  # the jobs trained what was asked; the loop below loads their checkpoints
        for scenario in self._train_scenarios():
            for scheme in self.schemes:
                model, checkpoint = load_or_train(scenario, scheme, self.dataset_for(scheme), self.out_dir,
                                                  retrain=retrain, show_progress=self.show_progress, log=self.log,
                                                  on_epoch_end=self._validator(scheme) if self.comparing else None)
                if scenario is self.scenario:
                    self.models[scheme], self.checkpoints[scheme] = model, checkpoint
        self.timings["train_s"] = time.perf_counter() - start

    def _train_jobs(self, pairs, retrain: bool, validate: bool = False) -> bool:
        """With a distributed executor: trains every ``(scenario, scheme)`` of ``pairs`` that has no
        checkpoint (all with ``retrain``) as jobs, in parallel, and returns True; the caller then loads
        the checkpoints they wrote. In-process: does nothing and returns False."""
        if self.executor is None or not self.executor.distributed:
            return False
        jobs = [TrainJob(scenario, scheme, self.dataset_for(scheme), str(self.out_dir.resolve()), retrain, validate)
                for scenario, scheme in pairs]
        jobs = [job for job in jobs if retrain or not job.checkpoint.exists()]
        if jobs:
            self.log(f"[train] {len(jobs)} training(s) as {type(self.executor).__name__} jobs: "
                     + ", ".join(job.scheme for job in jobs))
        for job, path in zip(jobs, self.executor.run(jobs), strict=True):
            self.log(f"[{job.scheme}] trained by a job: {path}")
        return True

    def load_trained(self) -> None:
        """Loads every scheme's checkpoint; a missing one is an error that says how to make it."""
        for scheme in self.schemes:
            if scheme in self.models:
                continue
            dataset = self.dataset_for(scheme)
            checkpoint = Checkpoint.for_scheme(self.out_dir, self.scenario, scheme, dataset)
            if not checkpoint.exists():
                command = "compare" if self.comparing else "train` (or `run"
                raise ScenarioError(f"checkpoint: no trained '{scheme}' model for this scenario in "
                                    f"{checkpoint.directory}; run `semcom-sim {command}` first")
            self.models[scheme] = load_checkpoint(checkpoint, self.scenario, dataset)
            self.checkpoints[scheme] = checkpoint

    def _checkpoint(self, scenario: Scenario, scheme: str) -> Checkpoint:
        """The checkpoint that ``scheme`` is evaluated with under ``scenario``'s ``phy``."""
        if not (self.comparing and self.cfg.retrain_per_condition) or scenario.phy == self.scenario.phy:
            return self.checkpoints[scheme]
        return Checkpoint.for_scheme(self.out_dir, scenario, scheme, self.dataset_for(scheme))

    def model_id(self, scheme: str) -> str:
        """Identifies a results row's origin: the checkpoint (its experiment and its weights, so a
        retrained model never reuses old rows) and the sweep settings that shape a point."""
        return model_id(self.checkpoints[scheme], self.scenario.sweep)

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(self, scheme: str, scenario: Scenario, ebno_db, store: ResultsStore, *,
                 variant: Variant | None = None, model=None, checkpoint: Checkpoint | None = None) -> list[dict]:
        """Sweeps ``scheme`` over ``ebno_db`` under ``scenario`` (the scheme's patch and test patch applied,
        then a test-time ``variant``'s patch): the one path every row of every command takes.
        ``model``/``checkpoint``: the trained model (default: the one trained under the experiment's
        scenario, rebuilt for the test scenario when its ``phy`` or ``model`` differs)."""
        cfg = self.scenario.sweep
        tested, checkpoint = self._tested(scheme, scenario, variant, checkpoint)
        dataset = self.dataset_for(scheme)
        if model is None:
            model = self.models.get(scheme)
            trained = resolve_scheme(self.scenario, scheme)
            if model is None or checkpoint is not self.checkpoints.get(scheme) \
                    or (tested.phy, tested.model) != (trained.phy, trained.model):
                model = load_resolved(checkpoint, tested, dataset)
        jit = self.scenario.training.jit_compile
        source = BatchSource(checkpoint, tested, dataset, cfg.batch_size, jit, evaluator=AccuracyEvaluator(
            model, dataset.x_test, dataset.y_test, cfg.batch_size, jit_compile=jit))

        def no_of(ebno: float, link=model.link) -> float:
            return float(np.asarray(link.noise_variance(np.float32(ebno))))

        phy = tested.phy
        kind = variant.kind if variant is not None else ""
        what = {"feedback": f", {phy.snr_feedback_bits}-bit SNR feedback",
                "stale": f", SNR feedback {phy.snr_feedback_delay_ms:g} ms old",
                "fraction": f", trained on {tested.training.train_fraction:g} of the data",
                "length": f", every sample sending {tested.model.fixed_length} channel uses"}.get(kind, "")
        self.stream.write(f"\n[{scheme}] {phy.channel}, {_CSI_TEXT[phy.csi]}{what}: accuracy vs Eb/N0\n")
        return run_sweep(scheme=scheme, channel=phy.channel, model_id=model_id(checkpoint, cfg), ebno_db=ebno_db,
                         make_batches=source, esno_db_of=lambda e: float(esno_db_from_no(no_of(e))),
                         no_of=no_of, store=store, **self._stopping(), show_progress=self.show_progress,
                         stream=self.stream, reraise_interrupt=True, condition=condition_of(tested, kind),
                         executor=self.executor)

    def _tested(self, scheme: str, scenario: Scenario, variant: Variant | None,
                checkpoint: Checkpoint | None) -> tuple[Scenario, Checkpoint]:
        """The test scenario of :meth:`evaluate`'s arguments and the checkpoint it evaluates."""
        tested = self.test_scenario(scheme, scenario)
        if variant is not None and not variant.retrains:
            tested = variant.apply(tested)
        return tested, checkpoint or self._checkpoint(scenario, scheme)

    def _stopping(self) -> dict:
        """The stopping rule and seed of every point (``sweep``'s fields) as :func:`run_sweep` takes them."""
        cfg = self.scenario.sweep
        return {"ci_half_width": cfg.ci_half_width, "confidence": cfg.confidence, "min_samples": cfg.min_samples,
                "max_samples": cfg.max_samples, "base_seed": cfg.seed}

    def evaluate_all(self, sweeps: Iterable[tuple], store: ResultsStore) -> list[dict]:
        """:meth:`evaluate` of every ``(scheme, scenario, ebno_db, options)`` of ``sweeps``, in order. A
        distributed executor first gets every sweep's points still to compute (:meth:`Executor.prefetch`),
        so that a cluster works on all of them at once; the rows still land one sweep after the other,
        in the same order as in process. In process, ``sweeps`` is drawn one sweep at a time (a generator
        that trains a model when its sweep comes keeps one model in memory, as before)."""
        distributed = self.executor is not None and self.executor.distributed
        if distributed:
            sweeps = list(sweeps)
            cfg = self.scenario.sweep
            for scheme, scenario, ebno_db, options in sweeps:
                variant = options.get("variant")
                tested, checkpoint = self._tested(scheme, scenario, variant, options.get("checkpoint"))
                source = BatchSource(checkpoint, tested, self.dataset_for(scheme), cfg.batch_size,
                                     self.scenario.training.jit_compile)
                self.executor.prefetch(source, pending_points(
                    scheme=scheme, channel=tested.phy.channel, model_id=model_id(checkpoint, cfg), ebno_db=ebno_db,
                    store=store, condition=condition_of(tested, variant.kind if variant is not None else ""),
                    **self._stopping()))
        rows = []
        try:
            for scheme, scenario, ebno_db, options in sweeps:
                rows += self.evaluate(scheme, scenario, ebno_db, store, **options)
        finally:
            if distributed:  # an interrupted or failed study leaves none of its points running
                self.executor.cancel_prefetched()
        return rows

    def sweep(self) -> list[dict]:
        """Every scheme over ``sweep.ebno_db`` under every test condition; rows land in ``results.csv``
        point by point."""
        start = time.perf_counter()
        self.load_trained()
        self.write_scenario()
        store = ResultsStore(self.results_path)
        rows = self.evaluate_all([(scheme, condition_scenario(self.scenario, *label.split("/")),
                                   self.scenario.sweep.ebno_db, {})
                                  for label in self.conditions for scheme in self.schemes], store)
        self.timings["sweep_s"] = time.perf_counter() - start
        return rows

    def robustness(self) -> list[dict]:
        """``compare.robustness_schemes`` under the SNR-feedback variants of the scenario's ``phy``."""
        start = time.perf_counter()
        store = ResultsStore(self.results_path)
        variants = ([Variant.feedback(b) for b in self.cfg.feedback_bits]
                    + [Variant.stale(d) for d in self.cfg.feedback_delay_ms])
        schemes = self._trained(self.cfg.robustness_schemes, "compare.robustness_schemes")
        rows = self.evaluate_all([(scheme, self.scenario, self.scenario.sweep.ebno_db,
                                   {"variant": variant, "checkpoint": self.checkpoints[scheme]})
                                  for variant in variants for scheme in schemes], store)
        self.timings["sweep_s"] = self.timings.get("sweep_s", 0.0) + time.perf_counter() - start
        return rows

    def seeds(self, retrain: bool = False) -> list[dict]:
        """The spread across trainings: every scheme trained once more per seed of ``sweep.seeds``
        (``compare.seeds`` when comparing) under the scenario's own ``phy`` (also with
        ``compare.retrain_per_condition``) and swept like the first under every test condition, on the
        same Monte Carlo draws (rows with ``variant="seed"``)."""
        seeds = self.cfg.seeds if self.comparing else self.scenario.sweep.seeds
        if not seeds:
            return []
        start = time.perf_counter()
        variants = [Variant.seed(s) for s in seeds]
        trained = [(variant.apply(self.scenario), scheme) for variant in variants for scheme in self.schemes]
        self.ensure_teacher_cache(self.schemes)
        if self._train_jobs(trained, retrain):
            retrain = False
        store = ResultsStore(self.results_path)

        def sweeps():  # in process, each model is trained when its sweeps come
            for variant, (scenario, scheme) in zip([v for v in variants for _ in self.schemes], trained, strict=True):
                _, checkpoint = load_or_train(scenario, scheme, self.dataset_for(scheme), self.out_dir,
                                              retrain=retrain, show_progress=self.show_progress, log=self.log)
                for label in self.conditions:  # the model is rebuilt for each condition from its checkpoint
                    yield (scheme, condition_scenario(scenario, *label.split("/")), self.scenario.sweep.ebno_db,
                           {"variant": variant, "checkpoint": checkpoint})

        rows = self.evaluate_all(sweeps(), store)
        self.timings["seeds_s"] = time.perf_counter() - start
        return rows

    def _trained(self, schemes, where: str) -> list[str]:
        """The schemes of ``schemes`` that this comparison trains; the others are skipped with a line."""
        skipped = [s for s in schemes if s not in self.schemes]
        if skipped:
            self.log(f"[{where}] skipped {', '.join(skipped)}: not in compare.schemes")
        return [s for s in schemes if s in self.schemes]

    def adaptation(self) -> list[dict]:
        """The proof that a scheme with nested lengths adapts to the SNR (``compare.length_schemes``):

        1. the SNR-blind reference: every length of the scheme sent at every Eb/N0 (rows of
           ``results.csv`` with ``variant="length"``);
        2. into ``adaptation.csv`` (:func:`semcom_sim.adaptation.adaptation_rows`): the mismatch matrix
           (fed SNR x true SNR), the shuffle test and the gate's activity, each paired on the same
           samples, channel and noise draws.
        """
        start = time.perf_counter()
        store = ResultsStore(self.results_path)
        out = []
        schemes = self._trained(self.cfg.length_schemes, "compare.length_schemes")
        self.evaluate_all([(scheme, self.scenario, self.scenario.sweep.ebno_db,
                            {"variant": Variant.length(length), "checkpoint": self.checkpoints[scheme]})
                           for scheme in schemes for length in resolve_scheme(self.scenario, scheme).model.lengths],
                          store)
        for scheme in schemes:
            dataset = self.dataset_for(scheme)
            out += adaptation_rows(self.models[scheme], scheme, self.test_scenario(scheme), dataset.x_test,
                                   dataset.y_test, log=self.log)
        if out:
            write_csv(self.out_dir / ADAPTATION_CSV, ADAPTATION_COLUMNS, out)
        self.timings["adaptation_s"] = time.perf_counter() - start
        return out

    def fractions(self, retrain: bool = False) -> list[dict]:
        """Accuracy vs training-data fraction (equal optimizer steps) at ``compare.fraction_ebno_db``."""
        start = time.perf_counter()
        store = ResultsStore(self.results_path)
        rows = []
        variants = [Variant.fraction(self.scenario, fraction) for fraction in self.cfg.data_fractions]
        retrained = [(variant.apply(self.scenario), scheme) for variant in variants
                     for scheme in self.cfg.fraction_schemes if variant.retrains or scheme not in self.models]
        self.ensure_teacher_cache([scheme for _, scheme in retrained])
        if self._train_jobs(retrained, retrain):
            retrain = False

        def sweeps():  # in process, each model is trained when its sweep comes
            for variant in variants:
                scenario = variant.apply(self.scenario)
                for scheme in self.cfg.fraction_schemes:
                    if not variant.retrains and scheme in self.models:
                        model, checkpoint = self.models[scheme], self.checkpoints[scheme]
                    else:
                        model, checkpoint = load_or_train(scenario, scheme, self.dataset_for(scheme), self.out_dir,
                                                          retrain=retrain, show_progress=self.show_progress,
                                                          log=self.log)
                    yield (scheme, scenario, self.cfg.fraction_ebno_db,
                           {"variant": variant, "model": model, "checkpoint": checkpoint})

        rows += self.evaluate_all(sweeps(), store)
        self.timings["fractions_s"] = time.perf_counter() - start
        return rows

    def cost(self) -> list[dict]:
        """Size, FLOPs and batch-1 latency of each scheme's transceiver (without the PHY) and of the
        teacher, into ``cost.csv``."""
        rows = []
        for scheme in self.schemes:
            model, dataset = self.models[scheme], self.dataset_for(scheme)
            dtype = "int32" if dataset.modality == "text" else "float32"
            component = ("channel encoder + decoder" if dataset.modality == "features"
                         else "student encoder + decoder")
            row = student_cost(model, dataset.x_test.shape[1:], dtype, runs=self.cfg.latency_runs).as_row()
            rows.append({**row, "scheme": scheme, "component": component})
        uses_teacher = any(resolve_scheme(self.scenario, s).training.distillation != "none"
                           or resolve_scheme(self.scenario, s).model.source == "teacher-features"
                           for s in self.schemes)
        if uses_teacher:
            from semcom_sim.teacher.cost import teacher_cost  # torch: only when a scheme uses the teacher
            from semcom_sim.teacher.stage import LoadedTeacher

            sample = self.dataset.texts_test[0] if self.dataset.modality == "text" else self.dataset.x_test[0]
            teacher = LoadedTeacher(self.scenario, self.dataset).model
            row = teacher_cost(teacher, sample, runs=self.cfg.latency_runs).as_row()
            rows.append({"scheme": "teacher", **row, "component": f"teacher ({self.scenario.teacher.name})"})
        write_csv(self.out_dir / COST_CSV, COST_COLUMNS, rows)
        return rows

    def distillation(self) -> list[dict]:
        """Per-epoch validation accuracy against cumulative training time of every trained scheme, into
        ``distillation.csv``."""
        rows = []
        for scheme in self.schemes:
            meta = json.loads(self.checkpoints[scheme].meta_path.read_text())
            wall = 0.0
            for record in meta["history"]:
                wall += float(record["seconds"])
                if "val_accuracy" not in record:
                    continue
                rows.append({"scheme": scheme, "distillation": meta["scenario"]["training"]["distillation"],
                             "epoch": record["epoch"], "wall_s": round(wall, 3),
                             "val_accuracy": record["val_accuracy"], "target_accuracy": self.cfg.target_accuracy,
                             "target_ebno_db": self.cfg.target_ebno_db})
        write_csv(self.out_dir / DISTILLATION_CSV, DISTILLATION_COLUMNS, rows)
        return rows

    # -- what was measured ---------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """The rows of ``results.csv`` that belong to this experiment: its schemes and Eb/N0 points, and
        (once the models are loaded) the current models (``model_id``). A ``run`` keeps the rows of each
        scheme's own test condition; a comparison every condition and variant."""
        if not self.results_path.exists():
            return []
        rows = [r for r in read_results(self.results_path) if r["scheme"] in self.schemes]
        ids = {self.model_id(s) for s in self.checkpoints}
        if self.comparing:
            if self.cfg.retrain_per_condition:  # each condition's own models (else the same checkpoints)
                ids |= {model_id(self._checkpoint(condition_scenario(self.scenario, *c.split("/")), s),
                                 self.scenario.sweep)
                        for c in self.cfg.conditions for s in self.checkpoints}
            return [r for r in rows if r["model_id"] in ids or r.get("variant") == "fraction"]
        points = {float(e) for e in self.scenario.sweep.ebno_db}
        own = {s: condition_of(self.test_scenario(s)) for s in self.schemes}
        phys = {s: self.test_scenario(s).phy.channel for s in self.schemes}
        return [r for r in rows if r["channel"] == phys[r["scheme"]] and float(r["ebno_db"]) in points
                and r.get("variant") in (None, "") and r.get("csi") in (None, own[r["scheme"]]["csi"])
                and (not ids or r["model_id"] in ids)]

    def seed_rows(self) -> list[dict]:
        """The rows of the ``seed`` study (``sweep.seeds`` / ``compare.seeds``) of the current seed
        checkpoints; empty without seeds."""
        seeds = self.cfg.seeds if self.comparing else self.scenario.sweep.seeds
        if not seeds or not self.results_path.exists():
            return []
        ids = set()
        for seed in seeds:
            scenario = Variant.seed(seed).apply(self.scenario)
            for scheme in self.schemes:
                checkpoint = Checkpoint.for_scheme(self.out_dir, scenario, scheme, self.dataset_for(scheme))
                if checkpoint.exists():
                    ids.add(model_id(checkpoint, self.scenario.sweep))
        return [r for r in read_results(self.results_path) if r.get("variant") == "seed" and r["model_id"] in ids
                and r.get("training_seed") in seeds and float(r["ebno_db"]) in set(self.scenario.sweep.ebno_db)]

    def plot(self) -> dict[str, Path]:
        """Draws the figures this experiment has data for; returns their paths by name."""
        if not self.comparing:
            path = self.out_dir / PLOT_PNG
            curves = [(s, self.test_scenario(s).phy.channel) for s in self.schemes]
            fig = figures.plot_accuracy(self.rows(), curves=curves, show_esno_axis=self.scenario.output.plot_esno,
                                        title=f"{self.scenario.name} ({_CSI_TEXT[self.scenario.phy.csi]})")
            figures.save_figure(fig, path)
            return {"accuracy": path}
        rows, cfg = self.rows(), self.cfg
        base = f"{self.scenario.phy.channel}/{self.scenario.phy.csi}"
        makers = {"grid": lambda: figures.plot_condition_grid(rows, schemes=cfg.schemes, conditions=cfg.conditions),
                  "robustness": lambda: figures.plot_robustness(rows, scheme=cfg.robustness_schemes[0], base=base),
                  "fraction": lambda: figures.plot_fraction(rows, schemes=cfg.fraction_schemes),
                  "distillation": lambda: figures.plot_distillation(read_distillation(self.out_dir / DISTILLATION_CSV)),
                  "cost": lambda: figures.plot_cost(read_cost(self.out_dir / COST_CSV))}
        studied = [s for s in cfg.length_schemes if s in self.checkpoints]
        if studied:
            meta = json.loads(self.checkpoints[studied[0]].meta_path.read_text())
            makers["length"] = lambda: figures.plot_length_adaptation(rows, studied[0], meta.get("length_policy"), base)
            makers["mismatch"] = lambda: figures.plot_mismatch(read_adaptation(self.out_dir / ADAPTATION_CSV),
                                                               studied[0])
        written = {}
        for name, make in makers.items():
            try:
                fig = make()
            except (ValueError, IndexError, FileNotFoundError) as exc:
                self.log(f"[plot] {FIGURES[name]} skipped: {exc}")
                continue
            written[name] = self.out_dir / FIGURES[name]
            figures.save_figure(fig, written[name])
        return written

    def summary(self, info: dict | None = None) -> str:
        """The markdown text of ``summary.md``."""
        if self.comparing:
            return summaries.comparison_summary(self, info or {"invocations": []})
        return summaries.sweep_summary(self.rows(), self.scenario, self.seed_rows())

    def write_summary(self, command: str | None = None) -> str:
        """Appends this invocation (date, machine, commit, command, stage times) to ``run.json``, writes
        ``summary.md`` (both atomically) and returns its text."""
        verb = "compare" if self.comparing else "run"
        info = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": machine(device_name()), "commit": git_commit(),
                "command": command or f"semcom-sim {verb} <scenario> --out {self.out_dir}",
                "timings_s": {k: round(v, 1) for k, v in self.timings.items()}}
        path = self.out_dir / RUN_JSON
        previous = json.loads(path.read_text()) if path.is_file() else {}
        runs = previous.get("invocations", [previous] if previous else []) + [info]
        atomic_write_text(path, json.dumps({"invocations": runs}, indent=2) + "\n")
        text = self.summary({"invocations": runs})
        atomic_write_text(self.out_dir / SUMMARY_MD, text)
        return text


def run(scenario: Scenario, out_dir: str | Path | None = None, *, retrain: bool = False,
        show_progress: bool = True, log: Callable[[str], None] = print, command: str | None = None,
        executor: Executor | None = None) -> Experiment:
    """``semcom-sim run``: trains (or reuses) every scheme, sweeps, plots and writes the summary."""
    start = time.perf_counter()
    experiment = Experiment.open(scenario, out_dir, log=log, show_progress=show_progress, executor=executor)
    experiment.train(retrain=retrain)
    experiment.sweep()
    experiment.seeds(retrain=retrain)
    experiment.timings["total_s"] = time.perf_counter() - start
    experiment.plot()
    log("\n" + experiment.write_summary(command))
    return experiment


def compare(scenario: Scenario, out_dir: str | Path | None = None, *, retrain: bool = False,
            show_progress: bool = True, log: Callable[[str], None] = print, command: str | None = None,
            executor: Executor | None = None) -> Experiment:
    """``semcom-sim compare``: the whole comparison of ``scenario`` into ``out_dir`` (see ``docs/compare.md``)."""
    start = time.perf_counter()
    experiment = Experiment.open(scenario, out_dir, comparing=True, log=log, show_progress=show_progress,
                                 executor=executor)
    experiment.train(retrain=retrain)
    experiment.sweep()
    experiment.seeds(retrain=retrain)
    experiment.robustness()
    experiment.adaptation()
    experiment.fractions(retrain=retrain)
    experiment.cost()
    experiment.distillation()
    experiment.timings["total_s"] = time.perf_counter() - start
    experiment.plot()
    log("\n" + experiment.write_summary(command))
    return experiment
