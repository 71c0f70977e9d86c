"""One experiment from a scenario: train every scheme (or reuse its checkpoint), sweep, plot, summarise.

The CLI and the notebooks call these functions; each step can also be run on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from semcom_sim.data import Dataset, load_dataset
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.io import atomic_write_text
from semcom_sim.phy import esno_db_from_no
from semcom_sim.plotting import plot_accuracy, save_figure
from semcom_sim.results import (
    PLOT_PNG,
    RESULTS_CSV,
    SCENARIO_JSON,
    SUMMARY_MD,
    ResultsStore,
    model_id,
    read_results,
)
from semcom_sim.scenario import Scenario, ScenarioError
from semcom_sim.schemes import resolve_scheme, resolve_test_scenario, scheme_table
from semcom_sim.sweep import difference_interval, run_sweep
from semcom_sim.train import Checkpoint, load_checkpoint, load_or_train

_CSI_TEXT = {"perfect": "perfect CSI", "ls": "LS CSI"}


@dataclass
class Experiment:
    """A scenario bound to its output directory and dataset."""

    scenario: Scenario
    out_dir: Path
    dataset: Dataset
    log: Callable[[str], None] = print
    models: dict = field(default_factory=dict)
    checkpoints: dict = field(default_factory=dict)
    _features: Dataset | None = None

    @classmethod
    def open(cls, scenario: Scenario, out_dir: str | Path | None = None,
             log: Callable[[str], None] = print) -> Experiment:
        out = Path(out_dir) if out_dir is not None else scenario.resolved_out_dir()
        if out.exists() and not out.is_dir():
            raise ScenarioError(f"--out: {out} exists and is not a directory")
        return cls(scenario, out, load_dataset(scenario.data), log)

    def _write_scenario(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out_dir / SCENARIO_JSON, self.scenario.to_json() + "\n")

    @property
    def results_path(self) -> Path:
        return self.out_dir / RESULTS_CSV

    @property
    def condition(self) -> str:
        """The test condition of the scenario's own ``phy``: ``"CHANNEL/CSI"``."""
        return f"{self.scenario.phy.channel}/{self.scenario.phy.csi}"

    def test_phy(self, scheme: str):
        """The ``phy`` a scheme is evaluated under: the scenario's, with the scheme's patch and test patch."""
        return resolve_test_scenario(self.scenario, scheme).phy

    def dataset_for(self, scheme: str) -> Dataset:
        """The dataset a scheme reads: the teacher's features (computed once, kept in
        ``out_dir/teacher_features``) for ``teacher-over-channel``, else the scenario's dataset."""
        if resolve_scheme(self.scenario, scheme).model.source != "teacher-features":
            return self.dataset
        if self._features is None:
            from semcom_sim.teacher.features import feature_dataset

            self._features = feature_dataset(self.scenario, self.dataset, self.out_dir / "teacher_features",
                                             self.log)
        return self._features

    # -- steps -------------------------------------------------------------------------------------
    def train(self, retrain: bool = False, show_progress: bool = True) -> None:
        """Trains each scheme of ``sweep.schemes`` unless a matching checkpoint exists."""
        self._write_scenario()
        for scheme in self.scenario.sweep.schemes:
            model, checkpoint = load_or_train(self.scenario, scheme, self.dataset_for(scheme), self.out_dir,
                                              retrain=retrain, show_progress=show_progress, log=self.log)
            self.models[scheme], self.checkpoints[scheme] = model, checkpoint

    def load_trained(self) -> None:
        """Loads every scheme's checkpoint; a missing one is an error that says how to make it."""
        for scheme in self.scenario.sweep.schemes:
            if scheme in self.models:
                continue
            dataset = self.dataset_for(scheme)
            checkpoint = Checkpoint.for_scheme(self.out_dir, self.scenario, scheme, dataset)
            if not checkpoint.exists():
                raise ScenarioError(f"checkpoint: no trained '{scheme}' model for this scenario in "
                                    f"{checkpoint.directory}; run `semcom-sim train` (or `run`) first")
            self.models[scheme] = load_checkpoint(checkpoint, self.scenario, dataset)
            self.checkpoints[scheme] = checkpoint

    def model_id(self, scheme: str) -> str:
        """Identifies a results row's origin: the checkpoint (its experiment and its weights, so a
        retrained model never reuses old rows) and the sweep settings that shape a point."""
        return model_id(self.checkpoints[scheme], self.scenario.sweep)

    def sweep(self, show_progress: bool = True, stream: TextIO = sys.stdout) -> list[dict]:
        """Sweeps every scheme over ``sweep.ebno_db``; rows land in ``results.csv`` point by point."""
        self.load_trained()
        self._write_scenario()
        cfg = self.scenario.sweep
        store = ResultsStore(self.results_path)
        rows = []
        for scheme in cfg.schemes:
            dataset = self.dataset_for(scheme)
            model = self.models[scheme]
            if scheme_table(self.scenario)[scheme].test_patch:  # evaluated under its own test phy
                model = load_checkpoint(self.checkpoints[scheme], self.scenario, dataset, for_test=True)
            evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, cfg.batch_size,
                                          jit_compile=self.scenario.training.jit_compile)
            phy = self.test_phy(scheme)

            def no_of(ebno_db: float, link=model.link) -> float:
                return float(np.asarray(link.noise_variance(np.float32(ebno_db))))

            stream.write(f"\n[{scheme}] {phy.channel}, {_CSI_TEXT[phy.csi]}: accuracy vs Eb/N0\n")
            rows += run_sweep(scheme=scheme, channel=phy.channel, model_id=self.model_id(scheme),
                              ebno_db=cfg.ebno_db, make_batches=evaluator.make_batches,
                              esno_db_of=lambda e, f=no_of: float(esno_db_from_no(f(e))), no_of=no_of,
                              store=store, ci_half_width=cfg.ci_half_width, confidence=cfg.confidence,
                              min_frames=cfg.min_frames, max_frames=cfg.max_frames, base_seed=cfg.seed,
                              show_progress=show_progress, stream=stream, reraise_interrupt=True,
                              csi=phy.csi, condition=f"{phy.channel}/{phy.csi}")
        return rows

    def current_rows(self) -> list[dict]:
        """Rows of ``results.csv`` that belong to this experiment: its schemes, channel and Eb/N0
        points, and (once the models are loaded) the current models (``model_id``)."""
        points = {float(e) for e in self.scenario.sweep.ebno_db}
        ids = {s: self.model_id(s) for s in self.checkpoints}
        phys = {s: self.test_phy(s) for s in self.scenario.sweep.schemes}
        return [r for r in read_results(self.results_path)
                if r["scheme"] in phys and r["channel"] == phys[r["scheme"]].channel
                and r.get("condition") in (None, f"{phys[r['scheme']].channel}/{phys[r['scheme']].csi}")
                and float(r["ebno_db"]) in points and (r["scheme"] not in ids or r["model_id"] == ids[r["scheme"]])]

    def plot(self, path: str | Path | None = None) -> Path:
        """Draws accuracy vs Eb/N0 of this scenario's schemes from ``results.csv``."""
        path = Path(path) if path is not None else self.out_dir / PLOT_PNG
        curves = [(s, self.test_phy(s).channel) for s in self.scenario.sweep.schemes]
        fig = plot_accuracy(self.current_rows(), curves=curves, show_esno_axis=self.scenario.output.plot_esno,
                            title=f"{self.scenario.name} ({_CSI_TEXT[self.scenario.phy.csi]})")
        save_figure(fig, path)
        return path

    def write_summary(self) -> str:
        """Writes ``summary.md`` (atomically) and returns its text."""
        text = self.summary()
        atomic_write_text(self.out_dir / SUMMARY_MD, text)
        return text

    def summary(self) -> str:
        """Markdown summary: accuracy per scheme and point; adaptive gain with its confidence interval."""
        return summarize(self.current_rows(), self.scenario)


def summarize(rows: list[dict], scenario: Scenario) -> str:
    """A markdown table of accuracy (with CI) per scheme and Eb/N0, plus the adaptive module's gain."""
    channel = scenario.phy.channel
    schemes = scenario.sweep.schemes
    level = f"{scenario.sweep.confidence:.0%}"
    tested = {s: resolve_test_scenario(scenario, s).phy for s in schemes}
    by_key = {(r["scheme"], float(r["ebno_db"])): r for r in rows
              if r["scheme"] in tested and r["channel"] == tested[r["scheme"]].channel}
    points = sorted({e for (s, e) in by_key if s in schemes})
    own = [f"{s} under {p.channel}, {_CSI_TEXT[p.csi]}" for s, p in tested.items()
           if (p.channel, p.csi) != (channel, scenario.phy.csi)]
    lines = [f"# {scenario.name}", "",
             f"Channel {channel}, {_CSI_TEXT[scenario.phy.csi]}"
             + (f" (test patches: {'; '.join(own)})" if own else "")
             + f"; accuracy with its {level} Wilson interval.", "",
             "| Eb/N0 [dB] | Es/N0 [dB] | " + " | ".join(schemes) + " |",
             "|---:|---:|" + "---:|" * len(schemes)]
    for e in points:
        cells = []
        esno = next((by_key[(s, e)]["esno_db"] for s in schemes if (s, e) in by_key), float("nan"))
        for s in schemes:
            r = by_key.get((s, e))
            cells.append("-" if r is None else f"{r['accuracy']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]")
        lines.append(f"| {e:g} | {esno:.2f} | " + " | ".join(cells) + " |")
    if "proposed" in schemes and "no-adaptive" in schemes:
        lines += ["", f"Gain of the adaptive module (proposed - no-adaptive), {level} Newcombe interval:", "",
                  "| Eb/N0 [dB] | gain | interval | significant |", "|---:|---:|---|---|"]
        for e in points:
            a, b = by_key.get(("proposed", e)), by_key.get(("no-adaptive", e))
            if a is None or b is None:
                continue
            d, lo, hi = difference_interval(a["correct"], a["frames"], b["correct"], b["frames"],
                                            scenario.sweep.confidence)
            verdict = "better" if lo > 0 else ("worse" if hi < 0 else "no")
            lines.append(f"| {e:g} | {d:+.4f} | [{lo:+.4f}, {hi:+.4f}] | {verdict} |")
    return "\n".join(lines) + "\n"


def run(scenario: Scenario, out_dir: str | Path | None = None, *, retrain: bool = False,
        show_progress: bool = True, log: Callable[[str], None] = print) -> Experiment:
    """Trains (or reuses) every scheme, sweeps, plots and writes the summary into ``out_dir``."""
    experiment = Experiment.open(scenario, out_dir, log=log)
    experiment.train(retrain=retrain, show_progress=show_progress)
    experiment.sweep(show_progress=show_progress)
    experiment.plot()
    log("\n" + experiment.write_summary())
    return experiment
