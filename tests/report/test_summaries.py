"""The verdicts and numbers that ``summary.md`` publishes, on hand-made rows and run directories: better / worse /
tied from Newcombe's interval of the accuracy difference (Newcombe, Stat. Med. 17:873-890, 1998, method 10),
the printed intervals, cost ratios, time to target, the spread across trainings and the channel-adaptation
sentences ("% fewer" channel uses, the smallest fixed length that meets every target)."""

import json
import math
from collections import defaultdict

import pytest

from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Training
from semcom_sim.report import summaries
from semcom_sim.report.render import summary_text
from semcom_sim.report.summaries import (
    _cost_by_scheme,
    _time_to_target,
    _versus,
    seed_spread_lines,
    sweep_summary,
)
from semcom_sim.results import (
    ADAPTATION_COLUMNS,
    ADAPTATION_CSV,
    COST_COLUMNS,
    COST_CSV,
    DISTILLATION_COLUMNS,
    DISTILLATION_CSV,
    PLAN_JSON,
    RESULTS_CSV,
    RUN_JSON,
    SCENARIO_JSON,
    ResultsStore,
    condition_of,
    write_csv,
)
from semcom_sim.sweep import difference_interval, wilson_interval

SAMPLES = 1000


def _scenario(confidence=0.95, sweep_schemes=("proposed", "no-adaptive"), **compare) -> Scenario:
    return Scenario(
        name="verdicts", data=Data(dataset="synthetic", num_train=1024, num_test=SAMPLES),
        model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
        phy=Phy(channel="TDL-A", csi="ls", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                pilot_ofdm_symbol_indices=(2,)),
        training=Training(epochs=1, batch_size=64),
        sweep=Sweep(ebno_db=(0.0, 10.0), confidence=confidence, schemes=sweep_schemes),
        compare=Compare(**{"robustness_schemes": ("proposed",), "feedback_bits": (), "feedback_delay_ms": (),
                           "length_schemes": (), "fraction_schemes": ("proposed",), "data_fractions": (1.0,),
                           **compare}))


def _row(scenario, scheme, ebno, correct, condition="TDL-A/ls", samples=SAMPLES, **columns):
    """A results row of ``correct`` of ``samples`` under ``condition`` (``"CHANNEL/CSI"``)."""
    channel, csi = condition.split("/")
    low, high = wilson_interval(correct, samples)
    return {"scheme": scheme, "channel": channel, "ebno_db": float(ebno), "esno_db": ebno + 1.5,
            "accuracy": correct / samples, "ci_low": low, "ci_high": high, "samples": samples, "correct": correct,
            "no": 0.1, "stop": "ci", "runtime_s": 1.0, "model_id": f"id-{scheme}",
            **{**condition_of(scenario), "csi": csi, **columns}}


_VARIANT_COLUMN = {"fraction": "train_fraction", "length": "fixed_length", "seed": "training_seed",
                   "feedback": "snr_feedback_bits", "stale": "snr_feedback_delay_ms"}


def _run_dir(path, scenario, rows, *, cost=(), dist=(), adaptation=(), metas=None, cache_seconds=None):
    """A ``compare`` run directory written with the results writers: every row belongs to a planned job."""
    path.mkdir(parents=True, exist_ok=True)
    (path / SCENARIO_JSON).write_text(scenario.to_json())
    store = ResultsStore(path / RESULTS_CSV)
    jobs = defaultdict(set)
    for r in rows:
        store.put(r)
        variant = r.get("variant") or ""
        value = None if not variant else float(r[_VARIANT_COLUMN[variant]])
        jobs[(r["scheme"], r["model_id"], r["channel"], r["csi"], variant, value)].add(float(r["ebno_db"]))
    plan_jobs = [{"study": "seeds" if variant == "seed" else "grid", "scheme": scheme, "channel": channel,
                  "csi": csi, "variant": variant, "value": value, "ebno_db": sorted(points), "model_id": mid,
                  "checkpoint": f"checkpoints/{scheme}.json"}
                 for (scheme, mid, channel, csi, variant, value), points in jobs.items()]
    checkpoints = {}
    for scheme, meta in (metas or {}).items():
        (path / "checkpoints").mkdir(exist_ok=True)
        (path / "checkpoints" / f"{scheme}.json").write_text(json.dumps(meta))
        checkpoints[scheme] = f"checkpoints/{scheme}.json"
    plan = {"command": "compare", "studies": ["grid"], "schemes": list(scenario.compare.schemes),
            "dataset": {"name": "synthetic", "num_train": 1024, "num_test": SAMPLES, "num_classes": 10},
            "tested": {s: "TDL-A/ls" for s in scenario.compare.schemes}, "checkpoints": checkpoints,
            "teacher_cache_seconds": cache_seconds, "jobs": plan_jobs}
    (path / PLAN_JSON).write_text(json.dumps(plan))
    invocation = {"command": "semcom-sim compare verdicts.py", "date": "2025-01-02T03:04:05", "machine": "host, cpu",
                  "commit": "abc1234", "timings_s": {"train_s": 300.0, "sweep_s": 240.0, "total_s": 600.0}}
    (path / RUN_JSON).write_text(json.dumps({"invocations": [invocation]}))
    if cost:
        write_csv(path / COST_CSV, COST_COLUMNS, cost)
    if dist:
        write_csv(path / DISTILLATION_CSV, DISTILLATION_COLUMNS, dist)
    if adaptation:
        write_csv(path / ADAPTATION_CSV, ADAPTATION_COLUMNS, adaptation)
    return path


def _line(text: str, start: str) -> str:
    """The one line of ``text`` that starts with ``start``."""
    [line] = [line for line in text.splitlines() if line.startswith(start)]
    return line


def _iv(a, b, confidence=0.95, digits=4):
    """``difference_interval`` of ``a`` and ``b`` correct of SAMPLES each, as the summary prints it."""
    d, low, high = difference_interval(a, SAMPLES, b, SAMPLES, confidence)
    return f"{d:+.{digits}f}", f"[{low:+.{digits}f}, {high:+.{digits}f}]"


# -- the sweep summary: the adaptive module's gain ---------------------------------------------------

def _sweep_rows(scenario, proposed, no_adaptive):
    return [_row(scenario, "proposed", e, c) for e, c in zip((0.0, 10.0), proposed)] + \
           [_row(scenario, "no-adaptive", e, c) for e, c in zip((0.0, 10.0), no_adaptive)]


def _gain_line(text, ebno):
    """The line of the gain table at ``ebno``."""
    return _line(text.split("| Eb/N0 [dB] | gain | interval | significant |")[1], f"| {ebno:g} |")


TESTED = {"proposed": "TDL-A/ls", "no-adaptive": "TDL-A/ls"}


def test_a_clearly_better_proposed_is_called_better_with_the_newcombe_interval_of_its_counts():
    sc = _scenario()
    text = sweep_summary(_sweep_rows(sc, (700, 950), (500, 900)), sc, TESTED)
    d, iv = _iv(700, 500)
    assert _gain_line(text, 0.0) == f"| 0 | {d} | {iv} | better |"
    assert d == "+0.2000"
    d, iv = _iv(950, 900)
    assert _gain_line(text, 10.0) == f"| 10 | {d} | {iv} | better |"


def test_a_clearly_worse_proposed_is_called_worse():
    sc = _scenario()
    text = sweep_summary(_sweep_rows(sc, (500, 850), (700, 900)), sc, TESTED)
    d, iv = _iv(500, 700)
    assert _gain_line(text, 0.0) == f"| 0 | {d} | {iv} | worse |" and d == "-0.2000"
    d, iv = _iv(850, 900)
    assert _gain_line(text, 10.0) == f"| 10 | {d} | {iv} | worse |"


def test_equal_counts_are_not_significant_and_their_interval_is_symmetric_about_zero():
    sc = _scenario()
    text = sweep_summary(_sweep_rows(sc, (600, 900), (600, 900)), sc, TESTED)
    _, low, high = difference_interval(600, SAMPLES, 600, SAMPLES)
    assert low == pytest.approx(-high, abs=1e-15) and high > 0.04
    assert _gain_line(text, 0.0) == f"| 0 | +0.0000 | [{low:+.4f}, {high:+.4f}] | no |"


def test_the_gain_verdict_uses_the_scenarios_confidence_level():
    # 530 vs 480 of 1000: the 95 % interval excludes zero, the 99 % interval does not
    assert difference_interval(530, SAMPLES, 480, SAMPLES, 0.95)[1] > 0
    assert difference_interval(530, SAMPLES, 480, SAMPLES, 0.99)[1] < 0
    for confidence, verdict in ((0.95, "better"), (0.99, "no")):
        sc = _scenario(confidence)
        text = sweep_summary(_sweep_rows(sc, (530, 900), (480, 900)), sc, TESTED)
        d, iv = _iv(530, 480, confidence)
        assert _gain_line(text, 0.0) == f"| 0 | {d} | {iv} | {verdict} |"
        assert f"{confidence:.0%} Newcombe interval" in text


@pytest.mark.parametrize("interval, verdict", [((0.02, 0.0, 0.04), "no"), ((-0.02, -0.04, 0.0), "no"),
                                               ((0.02, 1e-9, 0.04), "better"), ((-0.02, -0.04, -1e-9), "worse")])
def test_an_interval_touching_zero_is_not_significant(monkeypatch, interval, verdict):
    """The documented rule: better/worse only where the interval excludes zero (an end at 0 includes it)."""
    monkeypatch.setattr(summaries, "difference_interval", lambda *args: interval)
    sc = _scenario()
    text = sweep_summary(_sweep_rows(sc, (600, 900), (600, 900)), sc, TESTED)
    assert _gain_line(text, 0.0).endswith(f"| {verdict} |")


def test_the_accuracy_table_prints_each_rows_accuracy_and_wilson_interval():
    sc = _scenario()
    text = sweep_summary(_sweep_rows(sc, (700, 950), (500, 900)), sc, TESTED)
    low, high = wilson_interval(700, SAMPLES)
    low2, high2 = wilson_interval(500, SAMPLES)
    assert _line(text, "| 0 | 1.50 |") == (f"| 0 | 1.50 | 0.7000 [{low:.4f}, {high:.4f}] | "
                                           f"0.5000 [{low2:.4f}, {high2:.4f}] |")


# -- the spread across trainings ---------------------------------------------------------------------

def test_the_spread_across_trainings_is_the_sample_standard_deviation_and_range():
    sc = _scenario()
    base = [_row(sc, "proposed", 0.0, 800), _row(sc, "proposed", 10.0, 900)]
    seeds = [_row(sc, "proposed", 0.0, 700, variant="seed", training_seed=1),
             _row(sc, "proposed", 0.0, 900, variant="seed", training_seed=2)]  # 10 dB: one training only
    lines = seed_spread_lines(base, seeds, (1, 2), 0, "95%")
    assert "training.seed = 0, 1, 2" in lines[3]
    rows = [line for line in lines if line.startswith("| proposed")]
    # accuracies 0.8, 0.7, 0.9: mean 0.8, sample std sqrt((0.01 + 0.01) / 2) = 0.1
    half = sum((wilson_interval(k, SAMPLES)[1] - wilson_interval(k, SAMPLES)[0]) / 2 for k in (800, 700, 900)) / 3
    assert rows == [f"| proposed | TDL-A/ls | 0 | 3 | 0.8000 | 0.1000 | 0.7000 - 0.9000 | {half:.4f} |"]


def test_no_further_trainings_give_no_spread_section():
    sc = _scenario()
    assert seed_spread_lines([_row(sc, "proposed", 0.0, 800)], [], (), 0, "95%") == []


# -- verdicts of a comparison against proposed ------------------------------------------------------

def test_versus_sorts_grid_points_into_better_worse_and_tied():
    sc = _scenario()
    rows = [{**_row(sc, s, e, k, c), "condition": c} for s, e, k, c in [
        ("proposed", 0.0, 500, "TDL-A/ls"), ("proposed", 10.0, 900, "TDL-A/ls"),
        ("proposed", 0.0, 700, "AWGN/perfect"), ("proposed", 10.0, 950, "AWGN/perfect"),
        ("no-kd", 0.0, 600, "TDL-A/ls"), ("no-kd", 10.0, 850, "TDL-A/ls"),
        ("no-kd", 0.0, 700, "AWGN/perfect"), ("no-kd", 10.0, 952, "AWGN/perfect"),
        ("no-kd", 20.0, 990, "AWGN/perfect")]]  # no proposed row at 20 dB: not compared
    v = _versus(rows, "no-kd", "proposed", 0.95)
    assert dict(v["better"]) == {"TDL-A/ls": [0.0]} and dict(v["worse"]) == {"TDL-A/ls": [10.0]}
    assert (v["tied"], v["total"]) == (2, 4)
    assert v["diffs"] == pytest.approx([0.1, -0.05, 0.0, 0.002], abs=1e-12)


@pytest.mark.parametrize("interval, outcome", [((0.02, 0.0, 0.04), "tied"), ((-0.02, -0.04, 0.0), "tied"),
                                               ((0.02, 1e-9, 0.04), "better"), ((-0.02, -0.04, -1e-9), "worse")])
def test_versus_counts_an_interval_touching_zero_as_tied(monkeypatch, interval, outcome):
    monkeypatch.setattr(summaries, "difference_interval", lambda *args: interval)
    sc = _scenario()
    rows = [{**_row(sc, s, 0.0, 600), "condition": "TDL-A/ls"} for s in ("proposed", "no-kd")]
    v = _versus(rows, "no-kd", "proposed", 0.95)
    assert {"better": len(v["better"]), "worse": len(v["worse"]), "tied": v["tied"]} == \
           {k: int(k == outcome) for k in ("better", "worse", "tied")}


def _compare_scenario():
    return _scenario(sweep_schemes=("proposed",), schemes=("proposed", "no-kd", "digital", "teacher-over-channel"),
                     conditions=("TDL-A/ls", "AWGN/perfect"), data_fractions=(0.5, 1.0),
                     fraction_schemes=("proposed", "no-kd"), fraction_ebno_db=(10.0,), target_accuracy=0.8,
                     target_ebno_db=10.0, monitor_samples=500)


GRID = {  # (scheme, condition, Eb/N0) -> correct of 1000
    ("proposed", "TDL-A/ls", 0.0): 500, ("proposed", "TDL-A/ls", 10.0): 900,
    ("proposed", "AWGN/perfect", 0.0): 700, ("proposed", "AWGN/perfect", 10.0): 950,
    ("no-kd", "TDL-A/ls", 0.0): 600, ("no-kd", "TDL-A/ls", 10.0): 850,  # better, worse
    ("no-kd", "AWGN/perfect", 0.0): 700, ("no-kd", "AWGN/perfect", 10.0): 952,  # tied, tied
    ("digital", "TDL-A/ls", 0.0): 500, ("digital", "TDL-A/ls", 10.0): 900,  # tied, tied
    ("digital", "AWGN/perfect", 0.0): 800, ("digital", "AWGN/perfect", 10.0): 990,  # better, better
}
FRACTIONS = {("proposed", 0.5): 800, ("proposed", 1.0): 900, ("no-kd", 0.5): 700, ("no-kd", 1.0): 880}


def _cost_row(scheme, component, parameters, flops, latency):
    return {"scheme": scheme, "component": component, "parameters": parameters, "bytes": 4 * parameters,
            "flops_per_sample": flops, "latency_ms": latency, "latency_p90_ms": 1.25 * latency, "device": "cpu"}


COST = [_cost_row("proposed", "student encoder", 12000, 3_000_000, 1.2),
        _cost_row("proposed", "decoder", 8000, 1_000_000, 0.8),  # proposed: 20000, 4e6, 2.0 ms
        _cost_row("no-kd", "student encoder + decoder", 15000, 2_000_000, 3.0),
        _cost_row("teacher-over-channel", "channel encoder + decoder", 10000, 1_000_000, 0.5),
        _cost_row("teacher", "teacher (efficientnet-lite0)", 30000, 11_000_000, 7.5)]


def _dist(scheme, kind, accuracies, seconds):
    return [{"scheme": scheme, "distillation": kind, "epoch": i + 1, "wall_s": round(seconds * (i + 1), 3),
             "val_accuracy": a, "target_accuracy": 0.8, "target_ebno_db": 10.0} for i, a in enumerate(accuracies)]


DIST = _dist("proposed", "cached", (0.5, 0.79, 0.8, 0.9, 0.7), 10.2) + _dist("no-kd", "none", (0.6, 0.7, 0.79), 10.0)


@pytest.fixture
def comparison(tmp_path):
    sc = _compare_scenario()
    rows = [_row(sc, s, e, k, c) for (s, c, e), k in GRID.items()]
    rows += [_row(sc, s, 10.0, k, variant="fraction", train_fraction=f) for (s, f), k in FRACTIONS.items()]
    metas = {"teacher-over-channel": {"scenario": {"model": {"source": "teacher-features"}}},
             "proposed": {"scenario": {"model": {"source": "student"}}}}
    out = _run_dir(tmp_path / "run", sc, rows, cost=COST, dist=DIST, metas=metas, cache_seconds=123.4)
    return summary_text(out)


def test_the_comparison_row_of_a_scheme_lists_where_it_is_better_worse_and_tied(comparison):
    # no-kd: better at TDL-A/ls 0 dB, worse at TDL-A/ls 10 dB, tied at both AWGN points;
    # mean difference (0.1 - 0.05 + 0 + 0.002) / 4 = +0.013; cost 15000 / 20000, 2e6 / 4e6, 3.0 / 2.0 ms
    assert _line(comparison, "| no-kd | TDL-A/ls at") == (
        "| no-kd | TDL-A/ls at 0 dB | TDL-A/ls at 10 dB | 2 | +0.013 | 0.75x | 0.5x | 1.5x | "
        "never reached 0.8 at 10 dB |")


def test_a_scheme_better_at_every_point_of_a_condition_lists_them_all(comparison):
    # digital: both AWGN/perfect points better (+0.1, +0.04), both TDL-A/ls points equal; no cost row
    assert _line(comparison, "| digital |") == ("| digital | AWGN/perfect at 0, 10 dB | nowhere | 2 | +0.035 | "
                                                "- | - | - | - |")


def test_the_reference_row_compares_proposed_with_itself(comparison):
    # the time to target is the first epoch whose validation accuracy reaches 0.8: epoch 3 (30.6 s)
    assert _line(comparison, "| proposed | (reference)") == (
        "| proposed | (reference) | - | - | - | 1x | 1x | 1x | target 0.8 at 10 dB after 31 s (epoch 3) |")


def test_a_scheme_that_runs_the_teacher_is_charged_the_teachers_cost(comparison):
    # channel encoder + decoder plus the teacher: (10000 + 30000) / 20000, (1e6 + 11e6) / 4e6, (0.5 + 7.5) / 2
    assert _line(comparison, "| teacher-over-channel | nowhere") == (
        "| teacher-over-channel | nowhere | nowhere | 0 | - | 2x | 3x | 4x | - |")


def test_cost_by_scheme_sums_components_and_adds_the_teacher_only_to_schemes_that_run_it():
    totals = _cost_by_scheme(COST, {"teacher-over-channel", "absent"})
    assert totals["proposed"] == {"parameters": 20000, "flops_per_sample": 4_000_000, "latency_ms": 2.0}
    assert totals["teacher-over-channel"] == {"parameters": 40000, "flops_per_sample": 12_000_000,
                                              "latency_ms": 8.0}
    assert totals["no-kd"] == {"parameters": 15000, "flops_per_sample": 2_000_000, "latency_ms": 3.0}
    assert "absent" not in totals
    assert _cost_by_scheme(COST)["teacher-over-channel"]["parameters"] == 10000


def test_the_accuracy_grid_prints_every_scheme_under_every_condition(comparison):
    assert _line(comparison, "| TDL-A/ls | no-kd |") == "| TDL-A/ls | no-kd | 0.600 | 0.850 |"
    assert _line(comparison, "| AWGN/perfect | digital |") == "| AWGN/perfect | digital | 0.800 | 0.990 |"
    assert _line(comparison, "| TDL-A/ls | teacher-over-channel |") == "| TDL-A/ls | teacher-over-channel | - | - |"


def test_the_data_fraction_difference_is_the_newcombe_interval_of_the_two_schemes(comparison):
    assert _line(comparison, "| proposed | 10 dB |") == "| proposed | 10 dB | 0.800 | 0.900 |"
    assert _line(comparison, "| no-kd | 10 dB |") == "| no-kd | 10 dB | 0.700 | 0.880 |"
    for fraction, (a, b) in ((0.5, (800, 700)), (1.0, (900, 880))):
        d, iv = _iv(a, b, digits=3)
        assert _line(comparison, f"| {fraction:g} | 10 dB |") == f"| {fraction:g} | 10 dB | {d} | {iv} |"
    assert _line(comparison, "| 0.5 | 10 dB |").startswith("| 0.5 | 10 dB | +0.100 | [+0.06")


def test_the_distillation_table_gives_seconds_per_epoch_best_accuracy_and_time_to_target(comparison):
    assert _line(comparison, "| proposed | cached |") == "| proposed | cached | 5 | 10.2 | 0.900 | 31 s (epoch 3) |"
    assert _line(comparison, "| no-kd | none |") == "| no-kd | none | 3 | 10.0 | 0.790 | not reached |"
    assert "One-off teacher pass that filled the cache: 123 s " in comparison
    section = comparison.split("## Distillation cost")[1].split("\n\n")[1]
    assert " 500 " in section and " 10 dB " in section and "target accuracy 0.8 (" in section


def test_the_cost_table_prints_each_component(comparison):
    assert _line(comparison, "| proposed | student encoder |") == (
        "| proposed | student encoder | 12,000 | 0.05 | 3.00 | 1.20 (1.50) | cpu |")


def test_the_provenance_names_the_command_and_the_minutes_per_stage(comparison):
    assert ("Produced by `semcom-sim compare verdicts.py` on 2025-01-02T03:04:05, host, cpu, commit abc1234."
            in comparison)
    assert "2025-01-02T03:04:05: 10.0 min (train 5.0, sweep 4.0)." in comparison


def test_time_to_target_is_the_first_epoch_that_reaches_the_target():
    # reaching the target exactly counts (val_accuracy >= target_accuracy)
    dist = _dist("a", "cached", (0.5, 0.8, 0.95, 0.7), 2.0) + _dist("b", "none", (0.79, 0.7999), 3.0)
    dist += _dist("c", "cached", (0.81,), 4.5)
    assert _time_to_target(dist) == {"a": (2, 4.0), "b": None, "c": (1, 4.5)}


def test_time_to_target_is_the_earliest_epoch_whatever_the_row_order():
    dist = _dist("a", "cached", (0.5, 0.85, 0.9, 0.95), 2.0)
    assert _time_to_target(dist[::-1]) == {"a": (2, 4.0)}
    assert _time_to_target(dist[2:] + dist[:2]) == {"a": (2, 4.0)}


def test_rows_without_a_target_are_judged_against_the_scenarios_target():
    # distillation.csv's target columns are optional (semcom_sim.results.DISTILLATION_COLUMNS)
    dist = [{**r, "target_accuracy": None, "target_ebno_db": None}
            for r in _dist("a", "cached", (0.5, 0.7, 0.9), 2.0)]
    assert _time_to_target(dist, 0.8) == {"a": (3, 6.0)}
    assert _time_to_target(dist, 0.95) == {"a": None}


def test_the_summary_renders_a_distillation_file_without_target_columns(tmp_path):
    sc = _compare_scenario()
    rows = [_row(sc, s, e, k, c) for (s, c, e), k in GRID.items()]
    out = _run_dir(tmp_path / "run", sc, rows, cost=COST)
    write_csv(out / DISTILLATION_CSV, DISTILLATION_COLUMNS[:5], DIST)
    text = summary_text(out)
    assert _line(text, "| proposed | cached |") == "| proposed | cached | 5 | 10.2 | 0.900 | 31 s (epoch 3) |"
    assert _line(text, "| no-kd | none |") == "| no-kd | none | 3 | 10.0 | 0.790 | not reached |"


def test_seconds_per_epoch_is_the_last_epochs_cumulative_time_whatever_the_row_order(tmp_path):
    sc = _compare_scenario()
    rows = [_row(sc, s, e, k, c) for (s, c, e), k in GRID.items()]
    out = _run_dir(tmp_path / "run", sc, rows, cost=COST, dist=DIST[4::-1] + DIST[5:])
    text = summary_text(out)
    assert _line(text, "| proposed | cached |") == "| proposed | cached | 5 | 10.2 | 0.900 | 31 s (epoch 3) |"


# -- the channel-adaptation section -----------------------------------------------------------------

LENGTHS = {8: (600, 880), 16: (690, 890), 32: (700, 900)}  # fixed L -> correct at 0 and 10 dB
POLICY = {"levels_db": [0.0, 5.0, 10.0], "samples": [10, 0, 12], "raw": [16, 32, 8], "policy": [16, 16, 8]}


def _adaptation_dir(tmp_path, deployed_uses, raw=None, adaptation=()):
    sc = _scenario(sweep_schemes=("proposed",), schemes=("proposed", "adaptive-length"), conditions=("TDL-A/ls",),
                   length_schemes=("adaptive-length",))
    rows = [_row(sc, "proposed", 0.0, 650), _row(sc, "proposed", 10.0, 880)]
    rows += [_row(sc, "adaptive-length", e, k, channel_uses=u) for e, k, u in zip((0.0, 10.0), (690, 850),
                                                                                   deployed_uses)]
    rows += [_row(sc, "adaptive-length", e, k, variant="length", fixed_length=length, channel_uses=float(length))
             for length, counts in LENGTHS.items() for e, k in zip((0.0, 10.0), counts)]
    meta = {"scenario": {"model": {"num_channel_uses": 32, "policy_tolerance": 0.02}},
            "length_policy": {**POLICY, "raw": raw or POLICY["raw"]}}
    return summary_text(_run_dir(tmp_path / "run", sc, rows, metas={"adaptive-length": meta},
                                 adaptation=adaptation))


def test_the_adaptive_scheme_is_compared_with_the_smallest_fixed_length_that_meets_every_target(tmp_path):
    # targets: L = 32's accuracy minus 2 points: 0.68 at 0 dB, 0.88 at 10 dB. L = 8 misses 0.68 (0.600),
    # L = 16 meets both (0.690, 0.890). Deployed: 16 and 8 channel uses, mean 12.0 = 25 % fewer than 16;
    # its accuracy 0.850 at 10 dB misses 0.88.
    text = _adaptation_dir(tmp_path, (16.0, 8.0))
    assert ("Targets: the accuracy of L = 32 at each Eb/N0 minus 2 points. The smallest fixed length that meets "
            "every target is L = 16; `adaptive-length` sends 12.0 channel uses on average over these Eb/N0 points, "
            "25 % fewer, and misses the target at 10 dB.") in text
    assert _line(text, "| 0 dB | 0.690 |") == "| 0 dB | 0.690 | 16.0 | 0.600 | 0.690 | 0.700 |"
    assert _line(text, "| 10 dB | 0.850 |") == "| 10 dB | 0.850 | 8.0 | 0.880 | 0.890 | 0.900 |"


def test_an_adaptive_scheme_sending_more_than_the_fixed_length_is_said_to_send_more(tmp_path):
    # mean 20.0 channel uses against L = 16: |1 - 20 / 16| = 25 % more
    text = _adaptation_dir(tmp_path, (20.0, 20.0))
    assert "sends 20.0 channel uses on average over these Eb/N0 points, 25 % more, and misses" in text


def test_the_percentage_of_channel_uses_saved_is_the_closed_form(tmp_path):
    # (16 - 13.5) / 16 = 15.625 % -> "16 % fewer"
    text = _adaptation_dir(tmp_path, (17.0, 10.0))
    assert f"sends 13.5 channel uses on average over these Eb/N0 points, {100 * (16 - 13.5) / 16:.0f} % fewer" in text
    assert "16 % fewer" in text


def test_the_full_length_is_compared_with_proposed_by_the_newcombe_interval(tmp_path):
    text = _adaptation_dir(tmp_path, (16.0, 8.0))

    def pct(a, b):
        d, low, high = difference_interval(a, SAMPLES, b, SAMPLES, 0.95)
        return f"{100 * d:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"

    assert ("At full length (L = 32) against `proposed` (points, 95% Newcombe interval; two models, independent "
            f"draws): 0 dB {pct(700, 650)}; 10 dB {pct(900, 880)}.") in text
    assert "0 dB +5.0 [" in text


@pytest.mark.parametrize("raw, word", [([16, 32, 8], "already"), ([8, 0, 16], "not")])
def test_the_policy_table_shows_only_levels_with_held_out_samples(tmp_path, raw, word):
    text = _adaptation_dir(tmp_path, (16.0, 8.0), raw=raw)
    assert _line(text, "| fed-back SNR level q [dB] |") == "| fed-back SNR level q [dB] | 0.00 | 10.00 |"
    assert _line(text, "| raw choice |") == f"| raw choice | {raw[0]} | {raw[2]} |"
    assert _line(text, "| L*(q) |") == "| L*(q) | 16 | 8 |"
    assert f"The raw per-level choice is {word} non-increasing in the SNR." in text


def _cell(study, ebno, fed, accuracy, uses, difference=None, p_value=None, **extra):
    return {"scheme": "adaptive-length", "study": study, "ebno_db": ebno, "fed_ebno_db": fed, "samples": 500,
            "accuracy": accuracy, "channel_uses": uses, "difference": difference, "p_value": p_value, **extra}


def test_the_mismatch_matrix_marks_a_paired_difference_only_below_p_0_05(tmp_path):
    cells = [_cell("mismatch", 0.0, 0.0, 0.7, 16.0, 0.0, 1.0), _cell("mismatch", 10.0, 0.0, 0.85, 16.0, -0.031, 0.049),
             _cell("mismatch", 0.0, 10.0, 0.69, 8.0, 0.012, 0.05), _cell("mismatch", 10.0, 10.0, 0.86, 8.0, 0.0, 1.0),
             _cell("shuffle", 10.0, 10.0, 0.8, 8.0, -0.0625, 0.000123, diff_low=-0.09, diff_high=-0.035)]
    text = _adaptation_dir(tmp_path, (16.0, 8.0), adaptation=cells)
    assert _line(text, "| 0 dB | 0.700 / 16.0 |") == "| 0 dB | 0.700 / 16.0 | 0.850 / 16.0 (-3.1*) |"
    assert _line(text, "| 10 dB | 0.690 / 8.0") == "| 10 dB | 0.690 / 8.0 (+1.2) | 0.860 / 8.0 |"
    assert "500 samples per cell" in text
    assert "(paired, 95% interval, points): 10 dB -6.2 [-9.0, -3.5], p = 0.00012." in text


def test_the_percentages_printed_round_the_points_of_accuracy():
    assert summaries._pct(-0.0625) == "-6.2" and summaries._pct(0.05) == "+5.0" and summaries._pct(0) == "+0.0"
    assert math.isclose(float(summaries._pct(0.123456)), 12.3)
