"""The one orchestrator: a scenario bound to its run directory, running any study
(:mod:`semcom_sim.studies`). It serves ``run``, ``train``, ``sweep`` and ``compare``.

:meth:`Experiment.open` resolves every scheme x condition x variant of every study once into a typed
:class:`~semcom_sim.studies.Job` (the scenario as the scheme trains it and as it is swept); nothing below
this module resolves a scheme. :meth:`Experiment.run_study` runs any study: it builds the teacher caches
that are missing, trains what has no checkpoint (or reuses the checkpoint of exactly that training), hands
every sweep's points to the executor, evaluates and times. ``compare`` then runs its steps (the
adaptation studies, the cost and the distillation axes). The run directory's files (names and schemas in
:mod:`semcom_sim.results`) are all that :mod:`semcom_sim.report` reads to draw figures and summaries.

Every step reuses what an earlier invocation left in the run directory (checkpoints by fingerprint, sweep
points by model id), so an interrupted experiment resumes.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.condition import Condition
from semcom_sim.cost import device_name
from semcom_sim.data import Dataset, load_dataset
from semcom_sim.evaluate import EpochValidator, JobSweeper
from semcom_sim.io import atomic_write_text
from semcom_sim.lock import run_lock
from semcom_sim.report import render
from semcom_sim.results import (
    RESULTS_CSV,
    SCENARIO_JSON,
    ResultsStore,
    append_invocation,
    git_commit,
    machine,
)
from semcom_sim.scenario import Scenario, ScenarioError
from semcom_sim.schemes import resolve_scheme, resolve_test_scenario
from semcom_sim.steps import (
    adaptation_step,
    cost_step,
    distillation_step,
    search_step,
    teacher_cache_step,
    write_plan,
)
from semcom_sim.studies import Job, Study, Variant, compare_studies, run_studies
from semcom_sim.sweep import Executor
from semcom_sim.train import TrainJob, load_or_train

__all__ = ["Experiment", "Variant", "run", "compare", "search", "plan_study"]

COMPARE_STEPS = ("adaptation", "cost", "distillation")
"""What ``compare`` measures after its studies (:mod:`semcom_sim.steps`)."""


def plan_study(scenario: Scenario, study: Study, trained_schemes: Sequence[str]) -> tuple[Job, ...]:
    """Every scheme x variant x condition of ``study``, resolved once. A study that does not train sweeps only
    the schemes of ``trained_schemes`` (the first study's)."""
    schemes = study.schemes if study.trains else [s for s in study.schemes if s in trained_schemes]
    jobs = []
    for scheme in schemes:
        variants = study.variants
        if study.each_length:
            lengths = resolve_scheme(scenario, scheme).model.lengths
            if not lengths:
                raise ScenarioError(f"compare.length_schemes: {scheme!r} has no nested lengths (model.lengths)")
            variants = tuple(Variant.length(length) for length in lengths)
        for variant in variants:
            base = variant.apply(scenario) if variant is not None and variant.retrains else scenario
            for condition in study.conditions:
                trained = study.holding_out(resolve_scheme(condition.apply(base) if study.per_condition else base,
                                                           scheme))
                tested = resolve_test_scenario(condition.apply(base), scheme)
                if variant is not None and not variant.retrains:
                    tested = variant.apply(tested)
                jobs.append(Job(study.name, scheme, condition, variant, trained, tested, tuple(study.ebno_db),
                                study.reference))
    return tuple(jobs)


@dataclass
class Experiment:
    """A scenario bound to its run directory, its dataset and its studies.

    Build it with :meth:`open`. ``base`` and ``tested`` hold each scheme of the first study resolved as it
    trains and as it is swept under the scenario's own ``phy``; ``models`` and ``checkpoints`` its trained
    model.
    """

    scenario: Scenario
    out_dir: Path
    dataset: Dataset
    studies: tuple[Study, ...]
    jobs: dict[str, tuple[Job, ...]]
    base: dict[str, Scenario]
    tested: dict[str, Scenario]
    command: str = "run"
    log: Callable[[str], None] = print
    stream: TextIO = field(default_factory=lambda: sys.stdout)  # the one at construction
    show_progress: bool = True
    executor: Executor | None = None
    models: dict = field(default_factory=dict)
    checkpoints: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    _features: Dataset | None = None
    _checkpoint_of: dict = field(default_factory=dict)

    @classmethod
    def open(cls, scenario: Scenario, out_dir: str | Path | None = None, *, studies: Sequence[Study] | None = None,
             command: str = "run", log: Callable[[str], None] = print, stream: TextIO | None = None,
             show_progress: bool = True, executor: Executor | None = None) -> Experiment:
        """Binds ``scenario`` to ``out_dir`` (default: ``output.out_dir``) and loads its dataset. If a scheme
        takes its encoder from the search and ``search.genotype`` is not set, the search step runs first (or its
        finished search in ``out_dir/search`` is reused; :func:`~semcom_sim.steps.search_step`). ``studies``
        (default: :func:`~semcom_sim.studies.run_studies`) are then resolved here into jobs, so a bad patch fails
        before anything is trained."""
        studies = tuple(run_studies(scenario) if studies is None else studies)
        out = Path(out_dir) if out_dir is not None else scenario.resolved_out_dir()
        if out.exists() and not out.is_dir():
            raise ScenarioError(f"--out: {out} exists and is not a directory")
        dataset = load_dataset(scenario.data)
        scenario = search_step(scenario, [s for study in studies for s in study.schemes], dataset, out,
                               executor=executor, log=log)
        main = studies[0].schemes
        base = {scheme: studies[0].holding_out(resolve_scheme(scenario, scheme)) for scheme in main}
        tested = {scheme: resolve_test_scenario(scenario, scheme) for scheme in main}
        jobs = {study.name: plan_study(scenario, study, main) for study in studies}
        return cls(scenario, out, dataset, studies, jobs, base, tested, command, log,
                   sys.stdout if stream is None else stream, show_progress, executor)

    # -- what the experiment is made of --------------------------------------------------------------
    @property
    def schemes(self) -> tuple[str, ...]:
        """The schemes of the first study (those trained under the scenario's own ``phy``)."""
        return self.studies[0].schemes

    results_path = property(lambda self: self.out_dir / RESULTS_CSV, doc="``results.csv`` of the run directory.")

    def dataset_for(self, trained: Scenario) -> Dataset:
        """The dataset a resolved scheme reads: the teacher's features (computed once, kept in
        ``out_dir/teacher_features``) for ``model.source="teacher-features"``, else the scenario's dataset."""
        if trained.model.source != "teacher-features":
            return self.dataset
        if self._features is None:
            from semcom_sim.teacher.features import feature_dataset  # torch: only when a scheme needs it

            self._features = feature_dataset(self.scenario, self.dataset, self.out_dir / "teacher_features",
                                             self.log)
        return self._features

    def checkpoint(self, scheme: str, trained: Scenario) -> Checkpoint:
        """The checkpoint of ``scheme`` trained as ``trained`` (computed once per scenario object, once the
        teacher cache it names exists)."""
        key = (scheme, id(trained))
        if key in self._checkpoint_of:
            return self._checkpoint_of[key][1]
        checkpoint = Checkpoint.of(self.out_dir, scheme, trained, self.dataset_for(trained))
        if trained.training.distillation != "cached" or trained.teacher.resolved_cache_path(self.dataset.name).exists():
            self._checkpoint_of[key] = (trained, checkpoint)  # the scenario is kept, so its id is not reused
        return checkpoint

    def write_scenario(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out_dir / SCENARIO_JSON, self.scenario.to_json() + "\n")

    # -- training ------------------------------------------------------------------------------------
    def _trainings(self, jobs: Iterable[Job]) -> dict[Checkpoint, tuple[str, Scenario]]:
        """The distinct trainings of ``jobs``, in order: checkpoint -> (scheme, scenario as trained)."""
        out = {}
        for job in jobs:
            out.setdefault(self.checkpoint(job.scheme, job.trained), (job.scheme, job.trained))
        return out

    def train(self, retrain: bool = False) -> None:
        """Trains every scheme of the first study under the scenario's own ``phy`` (and under each condition
        if it trains per condition) unless a matching checkpoint exists; keeps the former in ``models``."""
        start = time.perf_counter()
        self.write_scenario()
        study = self.studies[0]
        base = [(scheme, self.base[scheme]) for scheme in study.schemes]
        teacher_cache_step(self, [t for _, t in base] + [job.trained for job in self.jobs[study.name]])
        trainings = {self.checkpoint(s, t): (s, t) for s, t in base}  # a checkpoint names its teacher cache
        for checkpoint, training in self._trainings(self.jobs[study.name]).items():
            trainings.setdefault(checkpoint, training)
        if self._train_jobs(trainings, retrain, study.validate):
            retrain = False  # the jobs trained every requested checkpoint; the loop below loads their checkpoints
        for checkpoint, (scheme, trained) in trainings.items():
            dataset = self.dataset_for(trained)
            validate = self._validator(scheme).bind(dataset, self.log) if study.validate else None
            model, _ = load_or_train(trained, scheme, dataset, self.out_dir, retrain=retrain,
                                     show_progress=self.show_progress, log=self.log, on_epoch_end=validate)
            if checkpoint == self.checkpoint(scheme, self.base[scheme]):
                self.models[scheme], self.checkpoints[scheme] = model, checkpoint
        self.timings["train_s"] = time.perf_counter() - start

    def _validator(self, scheme: str) -> EpochValidator:
        trained = self.base[scheme]
        return EpochValidator.for_scenario(self.scenario, scheme, trained, self.dataset_for(trained))

    def _train_jobs(self, trainings: dict, retrain: bool, validate: bool = False) -> bool:
        """With a distributed executor: runs every training of ``trainings`` that has no checkpoint (all with
        ``retrain``) as jobs, in parallel, and returns True; the caller then loads the checkpoints they wrote.
        In process: does nothing and returns False."""
        if self.executor is None or not self.executor.distributed:
            return False
        jobs = [TrainJob(trained, scheme, self.dataset_for(trained), str(self.out_dir.resolve()), retrain,
                         self._validator(scheme) if validate else None)
                for checkpoint, (scheme, trained) in trainings.items() if retrain or not checkpoint.exists()]
        if jobs:
            self.log(f"[train] {len(jobs)} training(s) as {type(self.executor).__name__} jobs: "
                     + ", ".join(job.scheme for job in jobs))
        for job, path in zip(jobs, self.executor.run(jobs), strict=True):
            self.log(f"[{job.scheme}] trained by a job: {path}")
        return True

    def load_trained(self) -> None:
        """Loads the first study's checkpoints; a missing one is an error that says how to make it."""
        for scheme in self.schemes:
            if scheme in self.models:
                continue
            trained = self.base[scheme]
            checkpoint = self.checkpoint(scheme, trained)
            if not checkpoint.exists():
                command = "compare" if self.command == "compare" else "train` (or `run"
                raise ScenarioError(f"checkpoint: no trained '{scheme}' model for this scenario in "
                                    f"{checkpoint.directory}; run `semcom-sim {command}` first")
            self.models[scheme] = load_model(checkpoint, trained, self.dataset_for(trained))
            self.checkpoints[scheme] = checkpoint

    def load_for_test(self, scheme: str, condition: Condition | None = None):
        """``(model, tested, checkpoint)``: the trained model of ``scheme`` (the first study's, under the
        scenario's own ``phy``) rebuilt as it is swept under ``condition`` (default: the scenario's own)."""
        if scheme not in self.base:
            raise ScenarioError(f"{scheme!r} is not trained by this experiment; its schemes: {', '.join(self.base)}")
        tested = self.tested[scheme] if condition is None else resolve_test_scenario(condition.apply(self.scenario),
                                                                                     scheme)
        checkpoint = self.checkpoint(scheme, self.base[scheme])
        if not checkpoint.exists():
            raise ScenarioError(f"checkpoint: no trained '{scheme}' model for this scenario in {checkpoint.directory}")
        return load_model(checkpoint, tested, self.dataset_for(self.base[scheme])), tested, checkpoint

    # -- studies -------------------------------------------------------------------------------------
    def run_study(self, study: Study, retrain: bool = False) -> list[dict]:
        """Runs one study: trains what it needs (in process: each model when its sweeps come, one in memory
        at a time), sweeps every job, and times it as ``{name}_s``. Rows land in ``results.csv``."""
        start = time.perf_counter()
        jobs = self.jobs[study.name]
        skipped = [s for s in study.schemes if s not in {job.scheme for job in jobs}]
        if skipped:
            self.log(f"[{study.name}] skipped {', '.join(skipped)}: not trained by the {self.studies[0].name} study")
        if study is self.studies[0]:
            self.load_trained()
            self.write_scenario()
        trains = study.trains and study is not self.studies[0]  # the first study's models come from train()
        if trains:
            teacher_cache_step(self, [job.trained for job in jobs])
            trainings = {c: t for c, t in self._trainings(jobs).items() if c not in self.checkpoints.values()}
            if self._train_jobs(trainings, retrain):
                retrain = False

        def sweeps():  # in process, each model is trained or loaded when its sweeps come, one at a time
            models = {}
            for job in jobs:
                checkpoint = self.checkpoint(job.scheme, job.trained)
                if checkpoint == self.checkpoints.get(job.scheme):
                    yield job, self.models[job.scheme]
                    continue
                if trains and checkpoint not in models:
                    models.clear()
                    models[checkpoint], _ = load_or_train(job.trained, job.scheme, self.dataset_for(job.trained),
                                                          self.out_dir, retrain=retrain,
                                                          show_progress=self.show_progress, log=self.log)
                yield job, models.get(checkpoint)  # None: rebuilt from its checkpoint

        rows = self.evaluate_all(sweeps(), ResultsStore(self.results_path))
        self.timings[f"{study.name}_s"] = self.timings.get(f"{study.name}_s", 0.0) + time.perf_counter() - start
        return rows

    def sweep(self) -> list[dict]:
        """The first study: every scheme over its Eb/N0 points under every test condition, with the trained
        models (:meth:`train` first)."""
        return self.run_study(self.studies[0])

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate_all(self, sweeps: Iterable[tuple[Job, object]], store: ResultsStore) -> list[dict]:
        """Sweeps every ``(job, model)`` of ``sweeps`` in order (:meth:`~semcom_sim.evaluate.JobSweeper.sweep_all`;
        ``model``: the trained model in memory, or ``None``)."""
        sweeper = JobSweeper(self.scenario.sweep, self.scenario.training.jit_compile, self.stream, self.show_progress,
                             self.executor)
        return sweeper.sweep_all(((job, self.checkpoint(job.scheme, job.trained), self.dataset_for(job.trained), model)
                                  for job, model in sweeps), store)

    # -- the run directory ---------------------------------------------------------------------------
    def write_plan(self) -> None:
        """Writes ``plan.json`` (:func:`semcom_sim.steps.write_plan`)."""
        write_plan(self)

    def write_summary(self, command: str | None = None) -> str:
        """Appends this invocation (date, machine, commit, command, stage times) to ``run.json``, writes
        ``plan.json``, then renders ``summary.md`` from the run directory (all atomically); returns its text."""
        append_invocation(self.out_dir, invocation(command or f"semcom-sim {self.command} <scenario> --out "
                                                             f"{self.out_dir}", self.timings))
        self.write_plan()
        return render.write_summary(self.out_dir, self.scenario)

    def plot(self) -> dict[str, Path]:
        """Draws the figures the run directory has data for (``plan.json`` first); returns their paths."""
        self.write_plan()
        return render.draw_figures(self.out_dir, self.scenario, log=self.log)

    def summary(self) -> str:
        """The markdown text of ``summary.md``, rendered from the run directory."""
        self.write_plan()
        return render.summary_text(self.out_dir, self.scenario)

    def execute(self, retrain: bool = False, steps: Sequence[str] = (), command: str | None = None) -> Experiment:
        """Trains, runs every study, then ``steps`` (:data:`COMPARE_STEPS`), draws the figures and writes the
        summary. Holds the run directory's lock (:func:`~semcom_sim.lock.run_lock`) throughout."""
        with run_lock(self.out_dir, command):
            start = time.perf_counter()
            self.train(retrain=retrain)
            for study in self.studies:
                self.run_study(study, retrain=retrain)
            named = {"adaptation": adaptation_step, "cost": cost_step, "distillation": distillation_step}
            for step in steps:
                named[step](self)
            self.timings["total_s"] = time.perf_counter() - start
            self.plot()
            self.log("\n" + self.write_summary(command))
        return self


def invocation(command: str, timings: dict[str, float]) -> dict:
    """What ``run.json`` records of one invocation: date, machine, commit, command and stage times (s)."""
    return {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(device_name()), "commit": git_commit(), "command": command,
            "timings_s": {k: round(v, 1) for k, v in timings.items()}}


def run(scenario: Scenario, out_dir: str | Path | None = None, *, retrain: bool = False,
        show_progress: bool = True, log: Callable[[str], None] = print, command: str | None = None,
        executor: Executor | None = None) -> Experiment:
    """``semcom-sim run``: trains (or reuses) every scheme, runs :func:`~semcom_sim.studies.run_studies`,
    plots and writes the summary."""
    experiment = Experiment.open(scenario, out_dir, studies=run_studies(scenario), log=log,
                                 show_progress=show_progress, executor=executor)
    return experiment.execute(retrain, command=command)


def compare(scenario: Scenario, out_dir: str | Path | None = None, *, retrain: bool = False,
            show_progress: bool = True, log: Callable[[str], None] = print, command: str | None = None,
            executor: Executor | None = None) -> Experiment:
    """``semcom-sim compare``: :func:`~semcom_sim.studies.compare_studies` and :data:`COMPARE_STEPS` of
    ``scenario`` into ``out_dir`` (see ``docs/compare.md``)."""
    experiment = Experiment.open(scenario, out_dir, studies=compare_studies(scenario), command="compare", log=log,
                                 show_progress=show_progress, executor=executor)
    return experiment.execute(retrain, COMPARE_STEPS, command)


def search(scenario: Scenario, out_dir: str | Path | None = None, *, log: Callable[[str], None] = print,
           executor: Executor | None = None) -> Path:
    """``semcom-sim search``: the search step alone (:func:`~semcom_sim.steps.search_step`) into
    ``out_dir/search`` (default: ``output.out_dir``); returns the genotype's path."""
    out = Path(out_dir) if out_dir is not None else scenario.resolved_out_dir()
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out: {out} exists and is not a directory")
    with run_lock(out):
        searched = search_step(scenario, (), load_dataset(scenario.data), out, executor=executor, log=log,
                               always=True)
    return Path(searched.search.genotype)
