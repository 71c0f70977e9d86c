"""``semcom-sim compare``: every scheme of ``compare.schemes`` through the same link, on four axes.

1. **Accuracy vs Eb/N0** under each test condition of ``compare.conditions`` (channel x CSI), with
   Wilson intervals, plus the robustness variants (SNR-feedback resolution and staleness) and the
   training-data fractions. All rows go to one ``results.csv`` (the sweep's columns; ``scheme`` and
   ``condition`` say what a row is).
2. **Cost**: parameters, bytes, FLOPs per sample and batch-1 latency of each scheme's transceiver and
   of the teacher (``cost.csv``).
3. **Distillation cost**: validation accuracy after every epoch against cumulative training time, so
   the time to a target accuracy of cached and online KD can be read off (``distillation.csv``).
4. **Data requirement**: accuracy vs training-data fraction at equal optimizer steps.

Models are trained once under the scenario's own ``phy`` and evaluated under every condition, unless
``compare.retrain_per_condition`` is set. Each step reuses what an earlier run left in the output
directory (checkpoints by fingerprint, sweep points by model id), so an interrupted comparison resumes.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from semcom_sim import compare_plots as cp
from semcom_sim.compare_plots import condition_label
from semcom_sim.compare_summary import summarize_comparison
from semcom_sim.cost import device_name, student_cost
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.io import atomic_write_text
from semcom_sim.phy import esno_db_from_no
from semcom_sim.plotting import save_figure
from semcom_sim.results import (
    COST_COLUMNS,
    COST_CSV,
    DISTILLATION_COLUMNS,
    DISTILLATION_CSV,
    FIGURES,
    RESULTS_CSV,
    RUN_JSON,
    SUMMARY_MD,
    ResultsStore,
    git_commit,
    machine,
    model_id,
    read_cost,
    read_distillation,
    read_results,
    write_csv,
)
from semcom_sim.runner import Experiment
from semcom_sim.scenario import Scenario
from semcom_sim.schemes import resolve_scheme
from semcom_sim.sweep import run_sweep
from semcom_sim.train import Checkpoint, load_checkpoint, load_or_train

__all__ = ["Comparison", "compare", "condition_scenario", "fraction_scenario"]

def condition_scenario(scenario: Scenario, channel: str, csi: str, **phy) -> Scenario:
    """``scenario`` with ``phy.channel``, ``phy.csi`` (and any other ``phy`` fields) replaced."""
    return dataclasses.replace(scenario, phy=dataclasses.replace(scenario.phy, channel=channel, csi=csi, **phy))


def fraction_scenario(scenario: Scenario, fraction: float) -> Scenario:
    """``scenario`` trained on ``fraction`` of the data for the same optimizer steps (``ceil(epochs / f)``)."""
    if fraction >= 1.0:
        return scenario
    training = dataclasses.replace(scenario.training, train_fraction=fraction,
                                   epochs=math.ceil(scenario.training.epochs / fraction - 1e-9))
    return dataclasses.replace(scenario, training=training)


@dataclass
class Comparison:
    """A scenario's comparison bound to its output directory (see the module docstring)."""

    scenario: Scenario
    out_dir: Path
    experiment: Experiment
    log: Callable[[str], None] = print
    stream: TextIO = sys.stdout
    show_progress: bool = True
    timings: dict = field(default_factory=dict)

    @classmethod
    def open(cls, scenario: Scenario, out_dir: str | Path | None = None, *, log: Callable[[str], None] = print,
             stream: TextIO = sys.stdout, show_progress: bool = True) -> Comparison:
        base = dataclasses.replace(scenario, sweep=dataclasses.replace(scenario.sweep,
                                                                       schemes=scenario.compare.schemes))
        for scheme in dict.fromkeys(scenario.compare.schemes + scenario.compare.robustness_schemes
                                    + scenario.compare.fraction_schemes):
            resolve_scheme(base, scheme)  # a bad patch fails here, before anything is trained
        experiment = Experiment.open(base, out_dir, log=log)
        return cls(base, experiment.out_dir, experiment, log, stream, show_progress)

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def cfg(self):
        return self.scenario.compare

    @property
    def base_label(self) -> str:
        return condition_label(self.scenario.phy.channel, self.scenario.phy.csi)

    def _model_id(self, checkpoint) -> str:
        return model_id(checkpoint, self.scenario.sweep)

    def _validator(self, scheme: str):
        """``on_epoch_end`` for training: accuracy on ``compare.validation_samples`` test samples at
        ``compare.target_ebno_db`` through the scenario's channel."""
        cfg, dataset = self.cfg, self.experiment.dataset_for(scheme)
        num = min(cfg.validation_samples, dataset.num_test)
        batch = min(self.scenario.sweep.batch_size, num)
        evaluators = {}

        def on_epoch_end(model, epoch: int) -> dict:
            if id(model) not in evaluators:
                evaluators[id(model)] = AccuracyEvaluator(model, dataset.x_test[:num], dataset.y_test[:num], batch,
                                                          jit_compile=self.scenario.training.jit_compile)
            acc = evaluators[id(model)].accuracy(cfg.target_ebno_db, num, seed=10_000 + epoch)
            self.log(f"[{scheme}] validation accuracy {acc:.4f} at {cfg.target_ebno_db:g} dB")
            return {"val_accuracy": acc}

        return on_epoch_end

    def _ensure_teacher_cache(self, schemes) -> None:
        """Runs the teacher stage once if a cached-KD scheme needs a cache that does not exist yet."""
        from semcom_sim.teacher.stage import build_cache

        for scheme in schemes:
            resolved = resolve_scheme(self.scenario, scheme)
            if resolved.training.distillation != "cached":
                continue
            path = resolved.teacher.resolved_cache_path(self.experiment.dataset.name)
            if not path.exists():
                self.log(f"[teacher] no cache at {path}: running the teacher once over the training set")
                start = time.perf_counter()
                build_cache(resolved, self.experiment.dataset, log=self.log)
                self.timings["teacher_cache_s"] = time.perf_counter() - start
            return

    def _sweep(self, model, scheme: str, checkpoint, scenario: Scenario, label: str, ebno_db, store) -> list[dict]:
        cfg = self.scenario.sweep
        dataset = self.experiment.dataset_for(scheme)
        evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, cfg.batch_size,
                                      jit_compile=self.scenario.training.jit_compile)

        def no_of(ebno: float) -> float:
            return float(np.asarray(model.link.noise_variance(np.float32(ebno))))

        self.stream.write(f"\n[{scheme}] {label}: accuracy vs Eb/N0\n")
        return run_sweep(scheme=scheme, channel=scenario.phy.channel, model_id=self._model_id(checkpoint),
                         ebno_db=ebno_db, make_batches=evaluator.make_batches,
                         esno_db_of=lambda e: float(esno_db_from_no(no_of(e))), no_of=no_of, store=store,
                         ci_half_width=cfg.ci_half_width, confidence=cfg.confidence, min_frames=cfg.min_frames,
                         max_frames=cfg.max_frames, base_seed=cfg.seed, show_progress=self.show_progress,
                         stream=self.stream, reraise_interrupt=True, csi=scenario.phy.csi, condition=label)

    # -- steps -----------------------------------------------------------------------------------
    def train(self, retrain: bool = False) -> None:
        """Trains (or reuses) every scheme under the scenario's ``phy`` (and under every condition with
        ``compare.retrain_per_condition``), with the per-epoch validation of the distillation axis."""
        start = time.perf_counter()
        self.experiment._write_scenario()
        self._ensure_teacher_cache(self.cfg.schemes)
        scenarios = [self.scenario]
        if self.cfg.retrain_per_condition:
            scenarios += [condition_scenario(self.scenario, *c.split("/")) for c in self.cfg.conditions
                          if c != self.base_label]
        for scenario in scenarios:
            for scheme in self.cfg.schemes:
                model, checkpoint = load_or_train(scenario, scheme, self.experiment.dataset_for(scheme), self.out_dir,
                                                  retrain=retrain, show_progress=self.show_progress, log=self.log,
                                                  on_epoch_end=self._validator(scheme))
                if scenario is self.scenario:
                    self.experiment.models[scheme], self.experiment.checkpoints[scheme] = model, checkpoint
        self.timings["train_s"] = time.perf_counter() - start

    def _checkpoint(self, scenario: Scenario, scheme: str):
        if not self.cfg.retrain_per_condition or scenario.phy == self.scenario.phy:
            return self.experiment.checkpoints[scheme]
        return Checkpoint.for_scheme(self.out_dir, scenario, scheme, self.experiment.dataset_for(scheme))

    def sweep(self) -> None:
        """The accuracy grid (every scheme x condition) and the robustness variants."""
        start = time.perf_counter()
        store = ResultsStore(self.out_dir / RESULTS_CSV)
        points = self.scenario.sweep.ebno_db
        for label in self.cfg.conditions:
            channel, csi = label.split("/")
            scenario = condition_scenario(self.scenario, channel, csi)
            for scheme in self.cfg.schemes:
                checkpoint = self._checkpoint(scenario, scheme)
                model = load_checkpoint(checkpoint, scenario, self.experiment.dataset_for(scheme), for_test=True)
                self._sweep(model, scheme, checkpoint, scenario, condition_label(channel, csi), points, store)
        phy = self.scenario.phy
        variants = ([("feedback", float(b), {"snr_feedback_bits": int(b)}) for b in self.cfg.feedback_bits]
                    + [("stale", float(d), {"snr_feedback_delay_ms": float(d)}) for d in self.cfg.feedback_delay_ms])
        for variant, value, fields in variants:
            scenario = condition_scenario(self.scenario, phy.channel, phy.csi, **fields)
            for scheme in self.cfg.robustness_schemes:
                checkpoint = self.experiment.checkpoints[scheme]
                model = load_checkpoint(checkpoint, scenario, self.experiment.dataset_for(scheme), for_test=True)
                self._sweep(model, scheme, checkpoint, scenario, condition_label(phy.channel, phy.csi, variant, value),
                            points, store)
        self.timings["sweep_s"] = time.perf_counter() - start

    def fractions(self, retrain: bool = False) -> None:
        """Accuracy vs training-data fraction (equal optimizer steps) at ``compare.fraction_ebno_db``."""
        start = time.perf_counter()
        store = ResultsStore(self.out_dir / RESULTS_CSV)
        phy = self.scenario.phy
        for fraction in self.cfg.data_fractions:
            scenario = fraction_scenario(self.scenario, fraction)
            for scheme in self.cfg.fraction_schemes:
                dataset = self.experiment.dataset_for(scheme)
                if fraction >= 1.0 and scheme in self.experiment.models:
                    model, checkpoint = self.experiment.models[scheme], self.experiment.checkpoints[scheme]
                else:
                    self._ensure_teacher_cache([scheme])
                    model, checkpoint = load_or_train(scenario, scheme, dataset, self.out_dir, retrain=retrain,
                                                      show_progress=self.show_progress, log=self.log)
                self._sweep(model, scheme, checkpoint, scenario,
                            condition_label(phy.channel, phy.csi, "fraction", fraction), self.cfg.fraction_ebno_db,
                            store)
        self.timings["fractions_s"] = time.perf_counter() - start

    def cost(self) -> list[dict]:
        """Size, FLOPs and batch-1 latency of each scheme's transceiver (without the PHY) and of the teacher."""

        rows = []
        for scheme in self.cfg.schemes:
            model, dataset = self.experiment.models[scheme], self.experiment.dataset_for(scheme)
            dtype = "int32" if dataset.modality == "text" else "float32"
            component = ("channel encoder + decoder" if dataset.modality == "features"
                         else "student encoder + decoder")
            row = student_cost(model, dataset.x_test.shape[1:], dtype, runs=self.cfg.latency_runs).as_row()
            rows.append({**row, "scheme": scheme, "component": component})
        uses_teacher = any(resolve_scheme(self.scenario, s).training.distillation != "none"
                           or resolve_scheme(self.scenario, s).model.source == "teacher-features"
                           for s in self.cfg.schemes)
        if uses_teacher:
            from semcom_sim.teacher.cost import teacher_cost
            from semcom_sim.teacher.stage import LoadedTeacher

            dataset = self.experiment.dataset
            sample = dataset.texts_test[0] if dataset.modality == "text" else dataset.x_test[0]
            teacher = LoadedTeacher(self.scenario, dataset).model
            row = teacher_cost(teacher, sample, runs=self.cfg.latency_runs).as_row()
            rows.append({"scheme": "teacher", **row, "component": f"teacher ({self.scenario.teacher.name})"})
        write_csv(self.out_dir / COST_CSV, COST_COLUMNS, rows)
        return rows

    def distillation(self) -> list[dict]:
        """Per-epoch validation accuracy against cumulative training time of every trained scheme."""
        rows = []
        cfg = self.cfg
        for scheme in self.cfg.schemes:
            meta = json.loads(self.experiment.checkpoints[scheme].meta_path.read_text())
            wall = 0.0
            for record in meta["history"]:
                wall += float(record["seconds"])
                if "val_accuracy" not in record:
                    continue
                rows.append({"scheme": scheme, "distillation": meta["scenario"]["training"]["distillation"],
                             "epoch": record["epoch"], "wall_s": round(wall, 3),
                             "val_accuracy": record["val_accuracy"], "target_accuracy": cfg.target_accuracy,
                             "target_ebno_db": cfg.target_ebno_db})
        write_csv(self.out_dir / DISTILLATION_CSV, DISTILLATION_COLUMNS, rows)
        return rows

    def rows(self) -> list[dict]:
        """The rows of ``results.csv`` that belong to the current models and settings of this comparison."""
        ids = {self._model_id(c) for c in self.experiment.checkpoints.values()}
        path = self.out_dir / RESULTS_CSV
        rows = read_results(path) if path.exists() else []
        return [r for r in rows if r["scheme"] in self.cfg.schemes
                and (r["model_id"] in ids or "/fraction-" in str(r.get("condition") or ""))]

    def plot(self) -> dict[str, Path]:
        """Draws the figures of :data:`FIGURES` that have data; returns their paths."""
        rows = self.rows()
        grid = [r for r in rows if r.get("condition") in self.cfg.conditions]
        figures = {"grid": lambda: cp.plot_condition_grid(grid, schemes=self.cfg.schemes,
                                                          conditions=self.cfg.conditions),
                   "robustness": lambda: cp.plot_robustness(rows, scheme=self.cfg.robustness_schemes[0],
                                                            base=self.base_label),
                   "fraction": lambda: cp.plot_fraction(rows, schemes=self.cfg.fraction_schemes),
                   "distillation": lambda: cp.plot_distillation(read_distillation(self.out_dir / DISTILLATION_CSV)),
                   "cost": lambda: cp.plot_cost(read_cost(self.out_dir / COST_CSV))}
        written = {}
        for name, make in figures.items():
            try:
                fig = make()
            except (ValueError, IndexError, FileNotFoundError) as exc:
                self.log(f"[plot] {FIGURES[name]} skipped: {exc}")
                continue
            written[name] = self.out_dir / FIGURES[name]
            save_figure(fig, written[name])
        return written

    def write_summary(self, command: str | None = None) -> str:
        """Writes ``summary.md`` and appends this invocation (date, machine, commit, command, stage times)
        to ``run.json``."""
        info = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": machine(device_name()), "commit": git_commit(),
                "command": command or f"semcom-sim compare <scenario> --out {self.out_dir}",
                "timings_s": {k: round(v, 1) for k, v in self.timings.items()}}
        path = self.out_dir / RUN_JSON
        previous = json.loads(path.read_text()) if path.is_file() else {}
        runs = previous.get("invocations", [previous] if previous else []) + [info]
        atomic_write_text(path, json.dumps({"invocations": runs}, indent=2) + "\n")
        text = summarize_comparison(self, {"invocations": runs})
        atomic_write_text(self.out_dir / SUMMARY_MD, text)
        return text


def compare(scenario: Scenario, out_dir: str | Path | None = None, *, retrain: bool = False,
            show_progress: bool = True, log: Callable[[str], None] = print, command: str | None = None) -> Comparison:
    """Runs the whole comparison of ``scenario`` into ``out_dir`` (see the module docstring)."""
    start = time.perf_counter()
    comparison = Comparison.open(scenario, out_dir, log=log, show_progress=show_progress)
    comparison.train(retrain=retrain)
    comparison.sweep()
    comparison.fractions(retrain=retrain)
    comparison.cost()
    comparison.distillation()
    comparison.timings["total_s"] = time.perf_counter() - start
    comparison.plot()
    log("\n" + comparison.write_summary(command))
    return comparison

