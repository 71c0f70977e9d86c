"""Figures and summaries rendered from a run directory's files alone: ``scenario.json``, ``plan.json``,
``results.csv``, ``run.json``, ``cost.csv``, ``distillation.csv``, ``adaptation.csv`` and the checkpoints'
JSON. Nothing here runs a model, opens a teacher cache or resolves a scheme; ``semcom-sim report RUN_DIR``
renders a finished run again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from semcom_sim.condition import Condition
from semcom_sim.errors import ResultsFileError
from semcom_sim.io import atomic_write_text
from semcom_sim.report import figures, summaries
from semcom_sim.results import (
    ADAPTATION_CSV,
    COST_CSV,
    DISTILLATION_CSV,
    FIGURES,
    LABEL_CODE_SCHEME,
    PLAN_JSON,
    PLOT_PNG,
    REFERENCE_SCHEME,
    RESULTS_CSV,
    RUN_JSON,
    SCENARIO_JSON,
    SUMMARY_MD,
    read_adaptation,
    read_cost,
    read_distillation,
    read_outcomes,
    read_results,
    row_condition,
)
from semcom_sim.scenario import Scenario

__all__ = ["RunFiles", "write_summary", "summary_text", "draw_figures"]


@dataclass
class RunFiles:
    """The files of one run directory, read on demand.

    :param out_dir: the run directory.
    :param scenario: the scenario (default: read back from ``scenario.json``).
    """

    out_dir: Path
    scenario: Scenario | None = None
    _results: list | None = field(default=None, repr=False)

    def __post_init__(self):
        self.out_dir = Path(self.out_dir)
        if not (self.out_dir / PLAN_JSON).is_file():
            raise ResultsFileError(f"{self.out_dir}: no {PLAN_JSON}; it is written by `semcom-sim run` or "
                                   "`semcom-sim compare`")
        if self.scenario is None:
            self.scenario = Scenario.from_dict(json.loads((self.out_dir / SCENARIO_JSON).read_text()))

    @cached_property
    def plan(self) -> dict:
        return json.loads((self.out_dir / PLAN_JSON).read_text())

    @property
    def command(self) -> str:
        return self.plan["command"]

    @property
    def schemes(self) -> list[str]:
        return self.plan["schemes"]

    @property
    def dataset(self) -> dict:
        """``name``, ``num_train``, ``num_test``, ``num_classes``."""
        return self.plan["dataset"]

    @property
    def invocations(self) -> list[dict]:
        path = self.out_dir / RUN_JSON
        return json.loads(path.read_text()).get("invocations", []) if path.is_file() else []

    def results(self) -> list[dict]:
        if self._results is None:
            path = self.out_dir / RESULTS_CSV
            self._results = read_results(path) if path.is_file() else []
        return self._results

    def rows(self, *studies: str, excluding: tuple[str, ...] = ()) -> list[dict]:
        """The rows of ``results.csv`` that the jobs of ``studies`` (default: every study but ``excluding``)
        made: their scheme, condition, variant and Eb/N0 points, and their current model."""
        wanted = {}
        for job in self.plan["jobs"]:
            if (studies and job["study"] not in studies) or job["study"] in excluding:
                continue
            key = (job["scheme"], job["model_id"], job["channel"], job["csi"], job["variant"],
                   None if job["value"] is None else float(job["value"]))
            wanted.setdefault(key, set()).update(float(e) for e in job["ebno_db"])
        out = []
        for r in self.results():
            cond = row_condition(r)
            if cond is None:
                continue
            key = (r["scheme"], r["model_id"], cond["channel"], cond["csi"], cond["variant"], cond["value"])
            if float(r["ebno_db"]) in wanted.get(key, ()):
                out.append(r)
        return out

    def outcomes(self, row: dict):
        """The per-sample outcomes kept beside ``row`` (:func:`semcom_sim.results.read_outcomes`), or ``None``."""
        return read_outcomes(self.out_dir / RESULTS_CSV, row)

    def checkpoint_meta(self, scheme: str) -> dict | None:
        """The JSON of the checkpoint of ``scheme`` trained under the scenario's own ``phy`` (``None`` if absent)."""
        name = self.plan.get("checkpoints", {}).get(scheme)
        path = self.out_dir / name if name else None
        return json.loads(path.read_text()) if path is not None and path.is_file() else None

    def histories(self) -> dict[str, list[dict]]:
        """``{scheme: per-epoch records}`` of every scheme trained under the scenario's own ``phy`` (those with a
        checkpoint JSON)."""
        metas = {scheme: self.checkpoint_meta(scheme) for scheme in self.schemes}
        return {scheme: meta.get("history", []) for scheme, meta in metas.items() if meta is not None}

    def csv(self, name: str) -> list[dict]:
        """``cost.csv``, ``distillation.csv`` or ``adaptation.csv``; empty if the run has none."""
        readers = {COST_CSV: read_cost, DISTILLATION_CSV: read_distillation, ADAPTATION_CSV: read_adaptation}
        path = self.out_dir / name
        return readers[name](path) if path.is_file() else []


def summary_text(out_dir: str | Path, scenario: Scenario | None = None) -> str:
    """The markdown text of ``summary.md`` of a run directory."""
    run = RunFiles(out_dir, scenario)
    if run.command == "compare":
        return summaries.comparison_summary(run)
    sc = run.scenario
    return summaries.sweep_summary(run.rows("sweep"), sc, run.plan["tested"], run.rows("seeds"), run.outcomes)


def write_summary(out_dir: str | Path, scenario: Scenario | None = None) -> str:
    """Renders ``summary.md`` (atomically) and returns its text."""
    text = summary_text(out_dir, scenario)
    atomic_write_text(Path(out_dir) / SUMMARY_MD, text)
    return text


def draw_figures(out_dir: str | Path, scenario: Scenario | None = None,
                 log: Callable[[str], None] = print) -> dict[str, Path]:
    """Draws the figures a run directory has data for; returns their paths by name."""
    run = RunFiles(out_dir, scenario)
    sc, out = run.scenario, run.out_dir
    base = Condition.of(sc)
    if run.command != "compare":
        curves = [(s, Condition.parse(run.plan["tested"][s]).channel) for s in run.schemes]
        fig = figures.plot_accuracy(run.rows("sweep"), curves=curves, show_esno_axis=sc.output.plot_esno,
                                    title=f"{sc.name} ({base.csi_text})")
        figures.save_figure(fig, out / PLOT_PNG)
        written = {"accuracy": out / PLOT_PNG}
        _draw({"training": lambda: figures.plot_training_curves(run.histories())}, out, written, log)
        return written
    rows, cfg = run.rows(excluding=("seeds",)), sc.compare
    # the label baselines beside them, in black
    drawn = (cfg.schemes + ((REFERENCE_SCHEME,) if cfg.limit_scheme else ())
             + ((LABEL_CODE_SCHEME,) if cfg.label_baseline else ()))
    makers = {"grid": lambda: figures.plot_condition_grid(rows, schemes=drawn, conditions=cfg.conditions),
              "robustness": lambda: figures.plot_robustness(rows, scheme=cfg.robustness_schemes[0], base=base.label),
              "fraction": lambda: figures.plot_fraction(rows, schemes=cfg.fraction_schemes),
              "distillation": lambda: figures.plot_distillation(read_distillation(out / DISTILLATION_CSV)),
              "cost": lambda: figures.plot_cost(read_cost(out / COST_CSV))}
    studied = [s for s in cfg.length_schemes if run.checkpoint_meta(s) is not None]
    if studied:
        meta = run.checkpoint_meta(studied[0])
        makers["length"] = lambda: figures.plot_length_adaptation(rows, studied[0], meta.get("length_policy"),
                                                                  base.label)
        makers["mismatch"] = lambda: figures.plot_mismatch(read_adaptation(out / ADAPTATION_CSV), studied[0])
    teacher_accuracy = run.plan.get("teacher_test_accuracy")
    if cfg.limit_scheme and teacher_accuracy:
        gapped = cfg.schemes + ((LABEL_CODE_SCHEME,) if cfg.label_baseline else ())
        makers["gap"] = lambda: figures.plot_limit_gap(rows, gapped, REFERENCE_SCHEME, float(teacher_accuracy),
                                                       conditions=cfg.conditions)
    makers["training"] = lambda: figures.plot_training_curves(run.histories())
    written = {}
    _draw(makers, out, written, log)
    return written


def _draw(makers: dict[str, Callable], out: Path, written: dict[str, Path], log: Callable[[str], None]) -> None:
    for name, make in makers.items():
        try:
            fig = make()
        except (ValueError, IndexError, FileNotFoundError) as exc:
            log(f"[plot] {FIGURES[name]} skipped: {exc}")
            continue
        written[name] = out / FIGURES[name]
        figures.save_figure(fig, written[name])
