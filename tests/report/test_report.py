"""Summaries and figures rendered from a run directory's files alone, on hand-made files: the rows of the
current models are selected through ``plan.json``, a stale row is not, and ``semcom-sim report`` renders a
finished run again without running a model."""

import json
from pathlib import Path

import numpy as np
import pytest

from semcom_sim import load_scenario
from semcom_sim.cli import main
from semcom_sim.report.render import RunFiles, summary_text
from semcom_sim.results import PLAN_JSON, RESULTS_CSV, RUN_JSON, SCENARIO_JSON, ResultsStore, condition_of
from semcom_sim.sweep import holm_adjust, mcnemar_p_value, paired_difference, wilson_interval

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "scenarios" / "tiny_synthetic.py"
COUNTS = {("proposed", 0.0): 150, ("proposed", 10.0): 240, ("no-adaptive", 0.0): 120, ("no-adaptive", 10.0): 236}


def _outcomes():
    """Per-sample outcomes of COUNTS on common draws: proposed's in a fixed shuffled order; no-adaptive right where
    proposed is, but for the first 40 (0 dB) / 6 (10 dB) of those, and on the first 10 / 2 draws proposed misses."""
    out = {}
    for i, (ebno, lost, gained) in enumerate(((0.0, 40, 10), (10.0, 6, 2))):
        proposed = np.random.default_rng(i).permutation(np.arange(256) < COUNTS[("proposed", ebno)])
        other = proposed.copy()
        other[np.flatnonzero(proposed)[:lost]] = False
        other[np.flatnonzero(~proposed)[:gained]] = True
        assert int(other.sum()) == COUNTS[("no-adaptive", ebno)]
        out[("proposed", ebno)], out[("no-adaptive", ebno)] = proposed, other
    return out


OUTCOMES = _outcomes()


def _row(scenario, scheme, ebno, correct, model_id, samples=256, **condition):
    low, high = wilson_interval(correct, samples)
    return {"scheme": scheme, "channel": scenario.phy.channel, "ebno_db": ebno, "esno_db": ebno + 1.0,
            "accuracy": correct / samples, "ci_low": low, "ci_high": high, "samples": samples, "correct": correct,
            "no": 0.1, "stop": "ci", "runtime_s": 1.0, "model_id": model_id,
            **{**condition_of(scenario), **condition}}


def _job(scheme, model_id, study="sweep", variant="", value=None):
    return {"study": study, "scheme": scheme, "channel": "TDL-A", "csi": "ls", "variant": variant, "value": value,
            "ebno_db": [0.0, 10.0], "model_id": model_id, "checkpoint": f"checkpoints/{scheme}.json"}


@pytest.fixture
def run_dir(tmp_path):
    scenario = load_scenario(TINY)
    (tmp_path / SCENARIO_JSON).write_text(scenario.to_json())
    store = ResultsStore(tmp_path / RESULTS_CSV)
    for (scheme, ebno), correct in COUNTS.items():
        store.put(_row(scenario, scheme, ebno, correct, f"id-{scheme}"), outcomes=OUTCOMES[(scheme, ebno)])
    store.put(_row(scenario, "proposed", 5.0, 10, "id-proposed"))  # a point this run does not sweep
    store.put(_row(scenario, "no-adaptive", 0.0, 1, "old-model", csi="perfect"))  # another model's row
    store.put(_row(scenario, "proposed", 0.0, 140, "id-seed", variant="seed", training_seed=2))
    plan = {"command": "run", "studies": ["sweep", "seeds"], "schemes": ["proposed", "no-adaptive"],
            "dataset": {"name": "synthetic", "num_train": 1024, "num_test": 256, "num_classes": 10},
            "tested": {"proposed": "TDL-A/ls", "no-adaptive": "TDL-A/ls"}, "checkpoints": {},
            "teacher_cache_seconds": None,
            "jobs": [_job("proposed", "id-proposed"), _job("no-adaptive", "id-no-adaptive"),
                     _job("proposed", "id-seed", "seeds", "seed", 2.0)]}
    (tmp_path / PLAN_JSON).write_text(json.dumps(plan))
    (tmp_path / RUN_JSON).write_text(json.dumps({"invocations": []}))
    return tmp_path, scenario


def test_the_report_reads_the_rows_of_the_planned_jobs_only(run_dir):
    out, _ = run_dir
    run = RunFiles(out)
    sweep = run.rows("sweep")
    assert sorted((r["scheme"], r["ebno_db"]) for r in sweep) == sorted(COUNTS)
    assert {r["model_id"] for r in sweep} == {"id-proposed", "id-no-adaptive"}
    [seed] = run.rows("seeds")
    assert (seed["training_seed"], seed["correct"]) == (2, 140)
    assert len(run.rows(excluding=("seeds",))) == 4 and len(run.rows()) == 5


def test_the_sweep_summary_is_computed_from_the_files(run_dir):
    out, scenario = run_dir
    text = summary_text(out)
    assert text.startswith("# tiny-synthetic\n") and "Channel TDL-A, LS CSI" in text
    assert "| 0 | 1.00 | 0.5859 [" in text and "| 10 | 11.00 | 0.9375 [" in text
    assert "0.0039" not in text  # the stale model's row (1 of 256) is not read
    # the gain: paired on the outcomes kept beside results.csv (40 vs 10 and 6 vs 2 discordant of 256),
    # exact McNemar, Holm across the two points
    tests = [paired_difference(OUTCOMES[("proposed", e)], OUTCOMES[("no-adaptive", e)], scenario.sweep.confidence)
             for e in (0.0, 10.0)]
    assert [(t["better"], t["worse"]) for t in tests] == [(40, 10), (6, 2)]
    assert [t["p_value"] for t in tests] == [mcnemar_p_value(40, 10), mcnemar_p_value(6, 2)]
    holm = holm_adjust([t["p_value"] for t in tests])
    for e, t, adj, word in zip((0, 10), tests, holm, ("better", "tied")):
        assert (f"| {e} | {t['difference']:+.4f} | [{t['low']:+.4f}, {t['high']:+.4f}] | {t['p_value']:.3g} | "
                f"{adj:.3g} | {word} |") in text
    assert "| 0 | +0.1172 | [" in text and "| 10 | +0.0156 | [" in text
    assert "exact McNemar test, Holm-corrected across the cells of each comparison (2 points):" in text


def test_the_report_reads_each_rows_outcomes_back_from_beside_the_results_file(run_dir):
    out, _ = run_dir
    run = RunFiles(out)
    for r in run.rows("sweep"):
        assert np.array_equal(run.outcomes(r), OUTCOMES[(r["scheme"], r["ebno_db"])])
    [seed] = run.rows("seeds")
    assert run.outcomes(seed) is None  # kept without outcomes: compared unpaired


def test_semcom_sim_report_renders_a_run_directory_again(run_dir, capsys):
    out, _ = run_dir
    assert main(["report", str(out)]) == 0
    assert (out / "summary.md").read_text() == summary_text(out)
    assert (out / "accuracy_vs_ebno.png").stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


def test_a_directory_without_a_plan_is_refused_in_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (f"semcom-sim: error: {tmp_path}: no plan.json; it is written by "
                                               "`semcom-sim run` or `semcom-sim compare`")
    assert main(["report", str(tmp_path / "missing")]) == 2
