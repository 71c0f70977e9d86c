"""The steps of a command besides its studies, each writing into the run directory:

- :func:`search_step` (before the schemes are resolved): the KDL-DARTS search whose genotype is the encoder
  of the schemes that read ``search.backbone_config`` (``rkd-sc``), into ``search/`` of the run directory;
- :func:`teacher_cache_step` (before training): the teacher caches that cached-KD trainings read;
- :func:`adaptation_step`: ``adaptation.csv``, the paired studies of the schemes with nested lengths
  (:func:`semcom_sim.adaptation.adaptation_rows`: mismatch matrix, shuffle test, the gate's activity);
- :func:`cost_step`: ``cost.csv``, size, FLOPs and batch-1 latency of each transceiver and of the teacher;
- :func:`distillation_step`: ``distillation.csv``, per-epoch validation accuracy against training time;

and, after every command, :func:`write_plan`: ``plan.json``, what the report reads besides the results files.

Each but the search takes the :class:`~semcom_sim.experiment.Experiment` whose models were trained by its
first study.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semcom_sim.adaptation import adaptation_rows
from semcom_sim.condition import Condition
from semcom_sim.cost import student_cost
from semcom_sim.io import atomic_write_text
from semcom_sim.results import (
    ADAPTATION_COLUMNS,
    ADAPTATION_CSV,
    COST_COLUMNS,
    COST_CSV,
    DISTILLATION_COLUMNS,
    DISTILLATION_CSV,
    LABEL_CODE_SCHEME,
    PLAN_JSON,
    model_id,
    write_csv,
)
from semcom_sim.schemes import Ref, resolve_scheme, scheme_table
from semcom_sim.search import finished_search, run_search, search_identity
from semcom_sim.teacher.cache import cache_teacher_seconds

if TYPE_CHECKING:
    from semcom_sim.data import Dataset
    from semcom_sim.scenario import Scenario
    from semcom_sim.sweep import Executor

Experiment = Any
"""A :class:`semcom_sim.experiment.Experiment` (not imported: the orchestrator imports this module)."""

__all__ = ["SEARCH_DIR", "search_step", "reads_search", "teacher_cache_step", "adaptation_step", "cost_step",
           "distillation_step", "write_plan"]


SEARCH_DIR = "search"
"""The search step's directory in the run directory."""


def reads_search(scenario: Scenario, scheme: str) -> bool:
    """Whether ``scheme`` (a scheme ``scenario`` can name) takes its encoder from the search: its patch reads
    a field of the ``search`` section."""
    patch = scheme_table(scenario)[scheme].patch
    return any(isinstance(v, Ref) and "search." in (v.field[:7], (v.fallback or "")[:7]) for v in patch.values())


def search_step(scenario: Scenario, schemes: Sequence[str], dataset: Dataset, out_dir: str | Path, *,
                executor: Executor | None = None, log: Callable[[str], Any] = print, always: bool = False) -> Scenario:
    """``scenario`` with ``search.genotype`` naming the genotype of the run directory's search, if a scheme of
    ``schemes`` reads the search (:func:`reads_search`, or ``always``) and ``search.genotype`` is not set:
    the search of ``out_dir/search`` is reused when it is of this very configuration
    (:func:`~semcom_sim.search.search_identity`), run there when there is none, and refused in one line when
    it is of another. A scenario that names a genotype (a committed search) is returned as it is."""
    if scenario.search.genotype is not None and not always:
        return scenario
    if not always and not any(reads_search(scenario, scheme) for scheme in schemes):
        return scenario
    directory = Path(out_dir) / SEARCH_DIR
    path = finished_search(directory, search_identity(scenario, dataset))
    if path is None:
        log(f"[search] no finished search in {directory}: running KDL-DARTS over search.lambdas")
        run_search(scenario, directory, log=log, executor=executor)
        path = directory / "genotype.json"
    else:
        log(f"[search] reusing the finished search of this configuration in {directory}")
    return scenario.patched(search=dataclasses.replace(scenario.search, genotype=str(path)))


def teacher_cache_step(experiment: Experiment, trainings: Iterable[Scenario]) -> None:
    """Runs the teacher stage once per teacher cache that a cached-KD training of ``trainings`` (scenarios as
    their schemes train) needs and that does not exist yet (schemes that store the teacher's features use a
    cache of their own); its time joins ``run.json`` as ``teacher_cache_s``."""
    for trained in trainings:
        path = trained.teacher.resolved_cache_path(experiment.dataset.name)
        if trained.training.distillation == "cached" and not path.exists():  # built once: then it exists
            from semcom_sim.teacher.stage import build_cache  # torch: only when a cache is missing

            experiment.log(f"[teacher] no cache at {path}: running the teacher once over the training set")
            start = time.perf_counter()
            build_cache(trained, experiment.dataset, log=experiment.log)
            timings = experiment.timings
            timings["teacher_cache_s"] = timings.get("teacher_cache_s", 0.0) + time.perf_counter() - start


def adaptation_step(experiment: Experiment) -> list[dict]:
    """The paired adaptation studies of every scheme of the ``length`` study, into ``adaptation.csv``."""
    start = time.perf_counter()
    out = []
    for scheme in dict.fromkeys(job.scheme for job in experiment.jobs.get("length", ())):
        dataset = experiment.dataset_for(experiment.base[scheme])
        out += adaptation_rows(experiment.models[scheme], scheme, experiment.tested[scheme], dataset.x_test,
                               dataset.y_test, log=experiment.log)
    if out:
        write_csv(experiment.out_dir / ADAPTATION_CSV, ADAPTATION_COLUMNS, out)
    experiment.timings["adaptation_s"] = experiment.timings.get("adaptation_s", 0.0) + time.perf_counter() - start
    return out


def cost_step(experiment: Experiment) -> list[dict]:
    """Size, FLOPs and batch-1 latency of each scheme's transceiver (without the PHY) and of the teacher,
    into ``cost.csv``."""
    rows = []
    runs = experiment.scenario.compare.latency_runs
    for scheme in experiment.schemes:
        model, dataset = experiment.models[scheme], experiment.dataset_for(experiment.base[scheme])
        dtype = "int32" if dataset.modality == "text" else "float32"
        component = "channel encoder + decoder" if dataset.modality == "features" else "student encoder + decoder"
        row = student_cost(model, dataset.x_test.shape[1:], dtype, runs=runs).as_row()
        rows.append({**row, "scheme": scheme, "component": component})
    cfg = experiment.scenario.compare
    if cfg.label_baseline and cfg.limit_scheme in experiment.schemes:  # the same student, all of it on the device
        measured = next(r for r in rows if r["scheme"] == cfg.limit_scheme)
        rows.append({**measured, "scheme": LABEL_CODE_SCHEME, "component": "whole student on the device"})
    if any(t.training.distillation != "none" or t.model.source == "teacher-features"
           for t in experiment.base.values()):
        from semcom_sim.teacher.cost import teacher_cost  # torch: only when a scheme uses the teacher
        from semcom_sim.teacher.stage import LoadedTeacher

        data, scenario = experiment.dataset, experiment.scenario
        sample = data.texts_test[0] if data.modality == "text" else data.x_test[0]
        row = teacher_cost(LoadedTeacher(scenario, data).model, sample, runs=runs).as_row()
        rows.append({"scheme": "teacher", **row, "component": f"teacher ({scenario.teacher.name})"})
    write_csv(experiment.out_dir / COST_CSV, COST_COLUMNS, rows)
    return rows


def distillation_step(experiment: Experiment) -> list[dict]:
    """Per-epoch validation accuracy against cumulative training time of every scheme of the first study,
    into ``distillation.csv``."""
    rows = []
    cfg = experiment.scenario.compare
    for scheme in experiment.schemes:
        meta = experiment.checkpoints[scheme].meta()
        wall = 0.0
        for record in meta["history"]:
            wall += float(record["seconds"])
            if "val_accuracy" not in record:
                continue
            rows.append({"scheme": scheme, "distillation": meta["scenario"]["training"]["distillation"],
                         "epoch": record["epoch"], "wall_s": round(wall, 3), "val_accuracy": record["val_accuracy"],
                         "target_accuracy": cfg.target_accuracy, "target_ebno_db": cfg.target_ebno_db})
    write_csv(experiment.out_dir / DISTILLATION_CSV, DISTILLATION_COLUMNS, rows)
    return rows


def teacher_test_accuracy(scenario: Scenario) -> float | None:
    """The test accuracy of the scenario's prepared teacher, from the report beside its weights
    (``<weights>.json``, written when it was prepared); ``None`` without one."""
    if scenario.teacher.weights_path is None:
        return None
    report = Path(f"{scenario.teacher.resolved_weights_path(scenario.data.dataset)}.json")
    try:
        accuracy = json.loads(report.read_text()).get("test_accuracy")
    except (OSError, ValueError):
        return None
    return float(accuracy) if isinstance(accuracy, (int, float)) else None


def write_plan(experiment: Experiment) -> None:
    """Writes ``plan.json``: every job of every study whose model exists, with the model id its rows carry;
    the first study's schemes, their test conditions and checkpoints; the dataset; the one-off teacher pass
    that filled the cache of the scenario as written (``proposed``), if it distils from one.
    :mod:`semcom_sim.report` selects rows and reads resolved settings through it."""
    proposed = resolve_scheme(experiment.scenario, "proposed")
    teacher_cache_seconds = (cache_teacher_seconds(proposed.teacher.resolved_cache_path(experiment.dataset.name))
                             if proposed.training.distillation == "cached" else None)
    jobs = []
    for name, study_jobs in experiment.jobs.items():
        for job in study_jobs:
            checkpoint = experiment.checkpoint(job.scheme, job.trained)
            if checkpoint.exists():
                jobs.append({"study": name, "scheme": job.row_scheme, "channel": job.tested.phy.channel,
                             "csi": job.tested.phy.csi, "variant": job.kind,
                             "value": job.variant.value if job.variant else None, "ebno_db": list(job.ebno_db),
                             "model_id": model_id(checkpoint, experiment.scenario.sweep),
                             "checkpoint": str(checkpoint.meta_path.relative_to(experiment.out_dir))})
    dataset, out = experiment.dataset, experiment.out_dir
    plan = {"command": experiment.command, "studies": [s.name for s in experiment.studies],
            "schemes": list(experiment.schemes),
            "dataset": {"name": dataset.name, "num_train": dataset.num_train, "num_test": dataset.num_test,
                        "num_classes": dataset.num_classes},
            "tested": {s: Condition.of(t).label for s, t in experiment.tested.items()},
            "checkpoints": {s: str(c.meta_path.relative_to(out)) for s, c in experiment.checkpoints.items()},
            "teacher_cache_seconds": teacher_cache_seconds, "teacher_test_accuracy": teacher_test_accuracy(proposed),
            "jobs": jobs}
    atomic_write_text(out / PLAN_JSON, json.dumps(plan, indent=1) + "\n")
