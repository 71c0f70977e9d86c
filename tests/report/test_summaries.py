"""The verdicts and numbers that ``summary.md`` publishes, on hand-made rows, per-sample outcomes and run directories:
better / worse / tied from the exact McNemar test on the common draws of two rows (the unpaired fallback: Newcombe's
interval, Stat. Med. 17:873-890, 1998, method 10, and the pooled score test), Holm-adjusted across the cells of one
comparison (Holm, Scand. J. Statist. 6:65-70, 1979) and combined across trainings only where every training agrees;
the printed intervals, cost ratios, time to target, the spread across trainings and the channel-adaptation
sentences ("% fewer" channel uses, the smallest fixed length that meets every target)."""

import json
import math
from collections import defaultdict

import numpy as np
import pytest

from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Training
from semcom_sim.report import summaries, verdicts
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
    read_outcomes,
    write_csv,
    write_outcomes,
)
from semcom_sim.sweep import difference_interval, holm_adjust, mcnemar_p_value, paired_difference, wilson_interval

SAMPLES = 1000


def _scenario(confidence=0.95, sweep_schemes=("proposed", "no-adaptive"), **compare) -> Scenario:
    return Scenario(
        name="verdicts", data=Data(dataset="synthetic", num_train=1024, num_test=SAMPLES),
        model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
        phy=Phy(channel="TDL-A", csi="ls", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                pilot_ofdm_symbol_indices=(2,)),
        training=Training(jit_compile=False, epochs=1, batch_size=64),
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
    """A ``compare`` run directory written with the results writers: every row belongs to a planned job; a row's
    ``_hits`` (its per-sample outcomes) are kept beside it (``ResultsStore.put(row, outcomes=...)``)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / SCENARIO_JSON).write_text(scenario.to_json())
    store = ResultsStore(path / RESULTS_CSV)
    jobs = defaultdict(set)
    for r in rows:
        hits = r.get("_hits")
        r = {k: v for k, v in r.items() if k != "_hits"}
        store.put(r, outcomes=hits)
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


def _hits(correct, samples=SAMPLES, seed=0):
    """``correct`` right outcomes of ``samples``, in a fixed shuffled order."""
    return np.random.default_rng(seed).permutation(np.arange(samples) < correct)


def _against(ref, correct, ref_only):
    """Outcomes on the draws of ``ref`` of a scheme with ``correct`` right: wrong on the first ``ref_only`` draws
    that ``ref`` gets right, right on the first draws that ``ref`` gets wrong (as many as it takes)."""
    hits = ref.copy()
    right, wrong = np.flatnonzero(ref), np.flatnonzero(~ref)
    assert correct >= int(ref.sum()) - ref_only, "more draws lost than ref_only"
    hits[right[:ref_only]] = False
    hits[wrong[:correct - (int(ref.sum()) - ref_only)]] = True
    assert int(hits.sum()) == correct and int((ref & ~hits).sum()) == ref_only
    return hits


def _paired(a, b, confidence=0.95):
    """``paired_difference`` of the common draws of ``a`` and ``b`` (the first ``min`` of each)."""
    n = min(len(a), len(b))
    return paired_difference(a[:n], b[:n], confidence)


# -- the sweep summary: the adaptive module's gain ---------------------------------------------------

def _sweep_rows(scenario, proposed, no_adaptive):
    return [_row(scenario, "proposed", e, c) for e, c in zip((0.0, 10.0), proposed)] + \
           [_row(scenario, "no-adaptive", e, c) for e, c in zip((0.0, 10.0), no_adaptive)]


GAIN_HEADER = "| Eb/N0 [dB] | gain | interval | p | Holm p | verdict |"


def _gain_line(text, ebno):
    """The line of the gain table at ``ebno``."""
    return _line(text.split(GAIN_HEADER)[1], f"| {ebno:g} |")


def _paired_sweep(tmp_path, scenario, outcomes):
    """Rows of proposed and no-adaptive whose outcomes ``{ebno: (proposed hits, no-adaptive hits)}`` are written
    beside ``results.csv`` (``write_outcomes``); returns the rows and the reader of the kept outcomes."""
    path = tmp_path / RESULTS_CSV
    rows = []
    for e, pair in outcomes.items():
        for scheme, hits in zip(("proposed", "no-adaptive"), pair):
            row = _row(scenario, scheme, e, int(hits.sum()), samples=len(hits))
            write_outcomes(path, row, hits)
            rows.append(row)
    return rows, lambda r: read_outcomes(path, r)


def _expected_gain_lines(outcomes, verdict_words, confidence=0.95):
    """The gain table's lines, from ``paired_difference`` of the common draws, ``mcnemar_p_value`` of the
    discordant counts and ``holm_adjust`` of the family of Eb/N0 points; the verdicts as given."""
    tests = {e: _paired(a, b, confidence) for e, (a, b) in outcomes.items()}
    for t in tests.values():
        assert t["p_value"] == mcnemar_p_value(t["better"], t["worse"])
    holm = dict(zip(tests, holm_adjust([t["p_value"] for t in tests.values()])))
    return [f"| {e:g} | {t['difference']:+.4f} | [{t['low']:+.4f}, {t['high']:+.4f}] | {t['p_value']:.3g} | "
            f"{holm[e]:.3g} | {word} |" for (e, t), word in zip(tests.items(), verdict_words)]


TESTED = {"proposed": "TDL-A/ls", "no-adaptive": "TDL-A/ls"}
PAIRED_HOW = ("verdict paired on the same test samples and channel draws: exact McNemar test, Holm-corrected "
              "across the cells of each comparison (2 points):")


def test_a_clearly_better_proposed_is_called_better_by_exact_mcnemar_on_its_outcomes(tmp_path):
    p0 = _hits(700)
    p10 = _hits(950, seed=1)
    outcomes = {0.0: (p0, _against(p0, 500, 220)), 10.0: (p10, _against(p10, 900, 60))}  # 220 vs 20, 60 vs 10
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, outcomes)
    text = sweep_summary(rows, sc, TESTED, outcomes=read)
    assert f"Gain of the adaptive module (proposed - no-adaptive), 95% interval; {PAIRED_HOW}" in text
    assert [_gain_line(text, 0.0), _gain_line(text, 10.0)] == _expected_gain_lines(outcomes, ("better", "better"))
    # the paired table (480 both right, 220 only proposed, 20 only no-adaptive, 280 neither): +0.2000, Newcombe's
    # square-and-add interval [+0.1720, +0.2274] (Wilson 0.700 [0.6709, 0.7276] and 0.500 [0.4691, 0.5309], phi
    # 0.5652); Holm p 2 x p(0 dB) (the smaller)
    assert _gain_line(text, 0.0) == (f"| 0 | +0.2000 | [+0.1720, +0.2274] | "
                                     f"{mcnemar_p_value(220, 20):.3g} | {2 * mcnemar_p_value(220, 20):.3g} | better |")
    assert _gain_line(text, 10.0).startswith("| 10 | +0.0500 | ")


def test_the_gain_across_trainings_is_better_only_where_every_training_says_so(tmp_path):
    sc = _scenario()
    sc = Scenario.from_dict({**sc.to_dict(), "sweep": {**sc.to_dict()["sweep"], "seeds": [1, 2]}})
    path = tmp_path / RESULTS_CSV
    rows, seed_rows, expected = [], [], {}
    # per training: 0 dB clearly better in all three (220 vs 20 discordant); 10 dB better only in training 0
    for seed in (sc.training.seed, 1, 2):
        p0, p10 = _hits(700, seed=seed), _hits(950, seed=10 + seed)
        against = {0.0: _against(p0, 500, 220), 10.0: _against(p10, 900, 60) if seed == sc.training.seed
                   else _against(p10, 945, 10)}
        for e, hits in ((0.0, p0), (10.0, p10)):
            for scheme, h in (("proposed", hits), ("no-adaptive", against[e])):
                extra = {} if seed == sc.training.seed else {"variant": "seed", "training_seed": seed}
                row = _row(sc, scheme, e, int(h.sum()), samples=len(h), **extra,
                           model_id=f"id-{scheme}-{seed}")
                write_outcomes(path, row, h)
                (rows if seed == sc.training.seed else seed_rows).append(row)
            expected.setdefault(e, []).append(paired_difference(hits, against[e])["difference"])
    text = sweep_summary(rows, sc, TESTED, seed_rows=seed_rows, outcomes=lambda r: read_outcomes(path, r))
    section = text.split("Gain of the adaptive module in each training (training.seed = ")[1]
    assert section.startswith(f"{sc.training.seed}, 1, 2;")
    line0, line10 = _line(section, "| 0 |"), _line(section, "| 10 |")
    assert line0.endswith(f"| {sum(expected[0.0]) / 3:+.4f} | better |")
    assert line0.count("(better)") == 3
    assert line10.count("(better)") == 1 and line10.count("(tied)") == 2 and line10.endswith("| tied |")
    assert "## Spread across trainings" in text


def test_one_training_gives_no_table_across_trainings(tmp_path):
    p0 = _hits(700)
    outcomes = {0.0: (p0, _against(p0, 500, 220))}
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, outcomes)
    assert "in each training" not in sweep_summary(rows, sc, TESTED, outcomes=read)


def test_a_clearly_worse_proposed_is_called_worse(tmp_path):
    n0 = _hits(700)
    n10 = _hits(900, seed=1)
    outcomes = {0.0: (_against(n0, 500, 220), n0), 10.0: (_against(n10, 850, 70), n10)}  # 20 vs 220, 20 vs 70
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, outcomes)
    text = sweep_summary(rows, sc, TESTED, outcomes=read)
    assert [_gain_line(text, 0.0), _gain_line(text, 10.0)] == _expected_gain_lines(outcomes, ("worse", "worse"))
    assert _gain_line(text, 0.0).startswith("| 0 | -0.2000 | [-0.2")
    assert _gain_line(text, 10.0).startswith("| 10 | -0.0500 | ")


def test_equal_counts_are_tied_with_p_1_and_an_interval_symmetric_about_zero(tmp_path):
    p0, p10 = _hits(600), _hits(900, seed=1)
    outcomes = {0.0: (p0, _against(p0, 600, 50)), 10.0: (p10, _against(p10, 900, 20))}
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, outcomes)
    text = sweep_summary(rows, sc, TESTED, outcomes=read)
    # 50 + 50 discordant, no net difference: Newcombe's square-and-add of the table (550, 50, 50, 350)
    assert _gain_line(text, 0.0) == "| 0 | +0.0000 | [-0.0197, +0.0197] | 1 | 1 | tied |"
    assert _gain_line(text, 10.0) == _expected_gain_lines(outcomes, ("tied", "tied"))[1]
    assert _gain_line(text, 10.0).endswith("| 1 | 1 | tied |")


def test_the_gain_verdict_uses_the_scenarios_confidence_level(tmp_path):
    # 40 vs 20 discordant at 0 dB (p 0.0135), none net at 10 dB (p 1): Holm p 2 x 0.0135 = 0.027 < 0.05, > 0.01
    p0, p10 = _hits(540), _hits(880, seed=1)
    outcomes = {0.0: (p0, _against(p0, 520, 40)), 10.0: (p10, _against(p10, 880, 10))}
    assert 0.01 < 2 * mcnemar_p_value(40, 20) < 0.05
    for confidence, verdict in ((0.95, "better"), (0.99, "tied")):
        sc = _scenario(confidence)
        rows, read = _paired_sweep(tmp_path / f"{confidence}", sc, outcomes)
        text = sweep_summary(rows, sc, TESTED, outcomes=read)
        assert _gain_line(text, 0.0) == _expected_gain_lines(outcomes, (verdict, "tied"), confidence)[0]
        assert _gain_line(text, 0.0).endswith(f"| 0.0135 | 0.027 | {verdict} |")
        assert f"(proposed - no-adaptive), {confidence:.0%} interval; verdict paired" in text


def test_a_point_significant_alone_is_tied_after_holm_across_the_points(tmp_path):
    """Holm (1979): 36 vs 20 discordant at 0 dB has raw p 0.044 < 0.05, but with the 10 dB point (p 1) in the
    family its adjusted p is 2 x 0.044 = 0.088: tied."""
    p0, p10 = _hits(536), _hits(880, seed=1)
    outcomes = {0.0: (p0, _against(p0, 520, 36)), 10.0: (p10, _against(p10, 880, 10))}
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, outcomes)
    text = sweep_summary(rows, sc, TESTED, outcomes=read)
    assert _gain_line(text, 0.0) == _expected_gain_lines(outcomes, ("tied", "tied"))[0]
    assert _gain_line(text, 0.0).endswith("| 0.044 | 0.0881 | tied |")
    alone, _ = _paired_sweep(tmp_path / "alone", sc, {0.0: outcomes[0.0]})
    text = sweep_summary(alone, sc, TESTED, outcomes=lambda r: read_outcomes(tmp_path / "alone" / RESULTS_CSV, r))
    assert _gain_line(text, 0.0).endswith("| 0.044 | 0.044 | better |")
    assert "Holm-corrected across the cells of each comparison (1 points):" in text


def test_rows_of_different_lengths_are_compared_on_their_first_common_draws(tmp_path):
    # proposed stopped at 500 samples, no-adaptive at 300: the first 300 draws of each are compared
    p300 = _hits(200, 300)
    n300 = _against(p300, 170, 40)  # 40 vs 10 discordant in the first 300
    proposed = np.concatenate([p300, np.zeros(200, bool)])  # its later draws (all wrong) have no partner
    outcomes = {0.0: (proposed, n300)}
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, outcomes)
    text = sweep_summary(rows, sc, TESTED, outcomes=read)
    assert _gain_line(text, 0.0) == _expected_gain_lines(outcomes, ("better",))[0]
    assert _gain_line(text, 0.0).startswith("| 0 | +0.1000 | ")  # (40 - 10) / 300, not 200/500 - 170/300
    assert f"| {mcnemar_p_value(40, 10):.3g} | {mcnemar_p_value(40, 10):.3g} | better |" in _gain_line(text, 0.0)


def _summary_reading_an_empty_outcomes_folder(tmp_path, scenario, rows):
    """The sweep summary of ``rows`` read back by a reader of an empty outcomes folder."""
    path = tmp_path / "empty" / RESULTS_CSV
    return sweep_summary(rows, scenario, TESTED, outcomes=lambda r: read_outcomes(path, r))


def test_rows_without_outcomes_fall_back_to_newcombe_and_the_score_test_holm_corrected(tmp_path):
    sc = _scenario()
    counts = {0.0: (530, 480), 10.0: (950, 900)}
    rows = _sweep_rows(sc, (530, 950), (480, 900))
    texts = [sweep_summary(rows, sc, TESTED), sweep_summary(rows, sc, TESTED, outcomes=lambda r: None),
             _summary_reading_an_empty_outcomes_folder(tmp_path, sc, rows)]
    p = {e: verdicts.score_test_p_value(a, SAMPLES, b, SAMPLES) for e, (a, b) in counts.items()}
    holm = dict(zip(p, holm_adjust(list(p.values()))))
    # 530 vs 480: z = 0.05 / sqrt(0.505 * 0.495 * 0.002) = 2.2366, p = 0.0253; Holm: 2 x min, then max(., p10)
    assert p[0.0] == pytest.approx(math.erfc(0.05 / math.sqrt(0.505 * 0.495 * 0.002) / math.sqrt(2)), rel=1e-12)
    assert holm[0.0] == pytest.approx(p[0.0], rel=1e-12) and holm[10.0] == pytest.approx(2 * p[10.0], rel=1e-12)
    for text in texts:
        assert ("verdict unpaired: Newcombe interval and score test, Holm-corrected across the 2 points:" in text)
        for e, (a, b), word in ((0.0, counts[0.0], "better"), (10.0, counts[10.0], "better")):
            d, iv = _iv(a, b)
            assert _gain_line(text, e) == f"| {e:g} | {d} | {iv} | {p[e]:.3g} | {holm[e]:.3g} | {word} |"
        assert _gain_line(text, 0.0).endswith("| 0.0253 | 0.0253 | better |")


def test_a_point_with_outcomes_beside_one_without_is_paired_and_the_header_says_unpaired(tmp_path):
    p0 = _hits(700)
    sc = _scenario()
    rows, read = _paired_sweep(tmp_path, sc, {0.0: (p0, _against(p0, 500, 220))})
    rows += [_row(sc, "proposed", 10.0, 950), _row(sc, "no-adaptive", 10.0, 900)]  # no outcomes kept
    text = sweep_summary(rows, sc, TESTED, outcomes=read)
    paired = _paired(p0, _against(p0, 500, 220))
    unpaired = verdicts.score_test_p_value(950, SAMPLES, 900, SAMPLES)
    holm = holm_adjust([paired["p_value"], unpaired])
    assert "verdict unpaired: Newcombe interval and score test, Holm-corrected across the 2 points:" in text
    assert _gain_line(text, 0.0) == (f"| 0 | +0.2000 | [{paired['low']:+.4f}, {paired['high']:+.4f}] | "
                                     f"{paired['p_value']:.3g} | {holm[0]:.3g} | better |")
    d, iv = _iv(950, 900)
    assert _gain_line(text, 10.0) == f"| 10 | {d} | {iv} | {unpaired:.3g} | {holm[1]:.3g} | better |"


@pytest.mark.parametrize("adjusted, counts, verdict", [
    (0.05, (600, 590), "tied"), (0.05, (590, 600), "tied"),
    (0.0499, (600, 590), "better"), (0.0499, (590, 600), "worse")])
def test_a_holm_p_equal_to_the_level_is_not_significant(monkeypatch, adjusted, counts, verdict):
    """The documented rule: better / worse only where the Holm-adjusted p is below 1 - confidence."""
    monkeypatch.setattr(verdicts, "holm_adjust", lambda p: [adjusted] * len(p))
    sc = _scenario()
    text = sweep_summary(_sweep_rows(sc, (counts[0], 900), (counts[1], 900)), sc, TESTED)
    assert _gain_line(text, 0.0).endswith(f"| {adjusted:.3g} | {verdict} |")
    assert _gain_line(text, 10.0).endswith(f"| 1 | {adjusted:.3g} | tied |")  # no difference: tied whatever its p


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

def _grid_rows(path, scenario, cells, training_seed=None):
    """``condition``-labelled rows of proposed and no-kd whose outcomes are kept beside ``path``: ``cells`` maps
    ``(condition, ebno)`` to ``(no-kd hits, proposed hits)``."""
    seed = {} if training_seed is None else {"variant": "seed", "training_seed": training_seed}
    rows = []
    for (condition, ebno), pair in cells.items():
        for scheme, hits in zip(("no-kd", "proposed"), pair):
            row = {**_row(scenario, scheme, ebno, int(hits.sum()), condition, **seed), "condition": condition}
            write_outcomes(path, row, hits)
            rows.append(row)
    return rows


def _cells(spec, seed=0):
    """``{(condition, ebno): (no-kd hits, proposed hits)}`` from ``(proposed correct, no-kd correct, proposed
    only)`` per cell."""
    out = {}
    for i, (key, (ref, correct, ref_only)) in enumerate(spec.items()):
        proposed = _hits(ref, seed=seed + i)
        out[key] = (_against(proposed, correct, ref_only), proposed)
    return out


VERSUS = {  # (condition, Eb/N0) -> (proposed correct, no-kd correct, right only with proposed)
    ("TDL-A/ls", 0.0): (500, 600, 30),  # 130 vs 30: better
    ("TDL-A/ls", 10.0): (900, 850, 70),  # 20 vs 70: worse
    ("AWGN/perfect", 0.0): (700, 700, 40),  # 40 vs 40: tied, p 1
    ("AWGN/perfect", 10.0): (950, 952, 10),  # 12 vs 10: tied
}


def test_versus_sorts_grid_points_into_better_worse_and_tied(tmp_path):
    sc = _scenario()
    path = tmp_path / RESULTS_CSV
    cells = _cells(VERSUS)
    rows = _grid_rows(path, sc, cells)
    rows.append({**_row(sc, "no-kd", 20.0, 990, "AWGN/perfect"), "condition": "AWGN/perfect"})  # no proposed row
    v = _versus({0: rows}, "no-kd", "proposed", 0.95, lambda r: read_outcomes(path, r))
    assert dict(v["better"]) == {"TDL-A/ls": [0.0]} and dict(v["worse"]) == {"TDL-A/ls": [10.0]}
    assert (v["tied"], v["total"], v["trainings"], v["paired"]) == (2, 4, 1, True)
    assert v["diffs"] == pytest.approx([0.1, -0.05, 0.0, 0.002], abs=1e-12)
    # the verdicts are those of the Holm-adjusted exact McNemar p-values of the four cells
    p = [mcnemar_p_value(130, 30), mcnemar_p_value(20, 70), 1.0, mcnemar_p_value(12, 10)]
    assert [_paired(*pair)["p_value"] for pair in cells.values()] == p
    holm = holm_adjust(p)
    assert holm[0] < 0.05 and holm[1] < 0.05 and holm[2] == holm[3] == 1.0


def test_versus_without_outcomes_judges_the_counts_unpaired():
    sc = _scenario()
    rows = [{**_row(sc, s, e, k, c), "condition": c} for (c, e), (ref, correct, _) in VERSUS.items()
            for s, k in (("proposed", ref), ("no-kd", correct))]
    v = _versus({0: rows}, "no-kd", "proposed", 0.95, None)
    assert dict(v["better"]) == {"TDL-A/ls": [0.0]} and dict(v["worse"]) == {"TDL-A/ls": [10.0]}
    assert (v["tied"], v["total"], v["paired"]) == (2, 4, False)
    p = [verdicts.score_test_p_value(k, SAMPLES, ref, SAMPLES) for ref, k, _ in VERSUS.values()]
    assert [a < 0.05 for a in holm_adjust(p)] == [True, True, False, False]


def test_versus_holm_corrects_across_the_cells_of_the_grid(tmp_path):
    """Holm (1979): at AWGN/perfect 10 dB, 36 vs 20 discordant has raw p 0.044; compared alone it is better,
    among the four cells its adjusted p is 2 x 0.044 = 0.088 (third smallest of four): tied."""
    sc = _scenario()
    path = tmp_path / RESULTS_CSV
    spec = {**VERSUS, ("AWGN/perfect", 10.0): (900, 916, 20)}
    cells = _cells(spec)
    rows = _grid_rows(path, sc, cells)
    p = [_paired(*pair)["p_value"] for pair in cells.values()]
    assert p[3] == mcnemar_p_value(36, 20) and p[3] < 0.05 and holm_adjust(p)[3] == pytest.approx(2 * p[3])
    read = lambda r: read_outcomes(path, r)  # noqa: E731
    v = _versus({0: rows}, "no-kd", "proposed", 0.95, read)
    assert dict(v["better"]) == {"TDL-A/ls": [0.0]} and v["tied"] == 2
    alone = [r for r in rows if (r["condition"], r["ebno_db"]) == ("AWGN/perfect", 10.0)]
    v = _versus({0: alone}, "no-kd", "proposed", 0.95, read)
    assert dict(v["better"]) == {"AWGN/perfect": [10.0]} and v["tied"] == 0


@pytest.mark.parametrize("adjusted, counts, outcome", [(0.05, (600, 590), "tied"), (0.05, (590, 600), "tied"),
                                                       (0.0499, (600, 590), "better"),
                                                       (0.0499, (590, 600), "worse")])
def test_versus_counts_a_holm_p_equal_to_the_level_as_tied(monkeypatch, adjusted, counts, outcome):
    monkeypatch.setattr(verdicts, "holm_adjust", lambda p: [adjusted] * len(p))
    sc = _scenario()
    rows = [{**_row(sc, s, 0.0, k), "condition": "TDL-A/ls"} for s, k in zip(("no-kd", "proposed"), counts)]
    v = _versus({0: rows}, "no-kd", "proposed", 0.95, None)
    assert {"better": len(v["better"]), "worse": len(v["worse"]), "tied": v["tied"]} == \
           {k: int(k == outcome) for k in ("better", "worse", "tied")}


def test_versus_calls_a_cell_better_only_if_it_is_better_in_every_training(tmp_path):
    """Intersection-union across trainings: each training (seed) is judged on its own rows, paired with proposed
    of the same seed and Holm-corrected; a cell is better (worse) only where every training says so."""
    sc = _scenario()
    path = tmp_path / RESULTS_CSV
    first = _grid_rows(path, sc, _cells(VERSUS))
    second = _grid_rows(path, sc, _cells({  # seed 1: better again, tied (was worse), tied, worse (was tied)
        ("TDL-A/ls", 0.0): (520, 610, 20), ("TDL-A/ls", 10.0): (900, 895, 15),
        ("AWGN/perfect", 0.0): (700, 700, 5), ("AWGN/perfect", 10.0): (950, 900, 60)}, seed=10), training_seed=1)
    read = lambda r: read_outcomes(path, r)  # noqa: E731
    assert dict(_versus({1: second}, "no-kd", "proposed", 0.95, read)["worse"]) == {"AWGN/perfect": [10.0]}
    v = _versus({0: first, 1: second}, "no-kd", "proposed", 0.95, read)
    assert dict(v["better"]) == {"TDL-A/ls": [0.0]} and dict(v["worse"]) == {}
    assert (v["tied"], v["total"], v["trainings"], v["paired"]) == (3, 4, 2, True)
    # the mean difference of each cell over the two trainings
    assert v["diffs"] == pytest.approx([(0.1 + 0.09) / 2, (-0.05 - 0.005) / 2, 0.0, (0.002 - 0.05) / 2], abs=1e-12)


def _compare_scenario(**extra):
    return _scenario(sweep_schemes=("proposed",), schemes=("proposed", "no-kd", "digital", "teacher-over-channel"),
                     conditions=("TDL-A/ls", "AWGN/perfect"), data_fractions=(0.5, 1.0),
                     fraction_schemes=("proposed", "no-kd"), fraction_ebno_db=(10.0,), target_accuracy=0.8,
                     target_ebno_db=10.0, monitor_samples=500, **extra)


GRID = {  # (scheme, condition, Eb/N0) -> correct of 1000
    ("proposed", "TDL-A/ls", 0.0): 500, ("proposed", "TDL-A/ls", 10.0): 900,
    ("proposed", "AWGN/perfect", 0.0): 700, ("proposed", "AWGN/perfect", 10.0): 950,
    ("no-kd", "TDL-A/ls", 0.0): 600, ("no-kd", "TDL-A/ls", 10.0): 850,  # better, worse
    ("no-kd", "AWGN/perfect", 0.0): 700, ("no-kd", "AWGN/perfect", 10.0): 952,  # tied, tied
    ("digital", "TDL-A/ls", 0.0): 500, ("digital", "TDL-A/ls", 10.0): 900,  # tied, tied
    ("digital", "AWGN/perfect", 0.0): 800, ("digital", "AWGN/perfect", 10.0): 990,  # better, better
}
FRACTIONS = {("proposed", 0.5): 800, ("proposed", 1.0): 900, ("no-kd", 0.5): 700, ("no-kd", 1.0): 880}
GRID_PROPOSED_ONLY = {  # (scheme, condition, Eb/N0) -> draws right only with proposed (the rest: only with scheme)
    ("no-kd", "TDL-A/ls", 0.0): 30, ("no-kd", "TDL-A/ls", 10.0): 70,  # 130 vs 30, 20 vs 70
    ("no-kd", "AWGN/perfect", 0.0): 40, ("no-kd", "AWGN/perfect", 10.0): 10,  # 40 vs 40, 12 vs 10
    ("digital", "TDL-A/ls", 0.0): 0, ("digital", "TDL-A/ls", 10.0): 5,  # 0 vs 0, 5 vs 5
    ("digital", "AWGN/perfect", 0.0): 20, ("digital", "AWGN/perfect", 10.0): 2,  # 120 vs 20, 42 vs 2
}
FRACTION_PROPOSED_ONLY = {0.5: 130, 1.0: 60}  # proposed vs no-kd: 130 vs 30 (p ~ 1e-15), 60 vs 40 (p 0.057)


def _outcomes_of(counts, proposed_only, seed):
    """Per key of ``counts`` (``(scheme, *cell)``), outcomes on common draws: proposed's a fixed shuffle, another
    scheme's from proposed's with ``proposed_only[key]`` draws right only with proposed."""
    hits = {}
    for i, (key, k) in enumerate(counts.items()):
        if key[0] == "proposed":
            hits[key] = _hits(k, seed=seed + i)
    for key, k in counts.items():
        if key[0] != "proposed":
            hits[key] = _against(hits[("proposed", *key[1:])], k, proposed_only[key])
    return hits


GRID_HITS = _outcomes_of(GRID, GRID_PROPOSED_ONLY, seed=0)
FRACTION_HITS = _outcomes_of(FRACTIONS, {("no-kd", f): n for f, n in FRACTION_PROPOSED_ONLY.items()}, seed=100)


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


def _comparison_text(path, paired=True, seed_rows=(), seeds=()):
    """The summary of a comparison of the GRID and FRACTIONS rows, with (``paired``) or without their outcomes;
    ``seed_rows``: rows of further trainings (``compare.seeds``)."""
    sc = _compare_scenario(seeds=seeds)
    rows = [{**_row(sc, s, e, k, c), **({"_hits": GRID_HITS[(s, c, e)]} if paired else {})}
            for (s, c, e), k in GRID.items()] + list(seed_rows)
    rows += [{**_row(sc, s, 10.0, k, variant="fraction", train_fraction=f),
              **({"_hits": FRACTION_HITS[(s, f)]} if paired else {})} for (s, f), k in FRACTIONS.items()]
    metas = {"teacher-over-channel": {"scenario": {"model": {"source": "teacher-features"}}},
             "proposed": {"scenario": {"model": {"source": "student"}}}}
    out = _run_dir(path, sc, rows, cost=COST, dist=DIST, metas=metas, cache_seconds=123.4)
    return summary_text(out)


@pytest.fixture
def comparison(tmp_path):
    return _comparison_text(tmp_path / "run")


def test_the_comparison_row_of_a_scheme_lists_where_it_is_better_worse_and_tied(comparison):
    # no-kd: better at TDL-A/ls 0 dB, worse at TDL-A/ls 10 dB, tied at both AWGN points;
    # mean difference (0.1 - 0.05 + 0 + 0.002) / 4 = +0.013; cost 15000 / 20000, 2e6 / 4e6, 3.0 / 2.0 ms
    assert _line(comparison, "| no-kd | TDL-A/ls at") == (
        "| no-kd | TDL-A/ls at 0 dB | TDL-A/ls at 10 dB | 2 | +0.013 | 0.75x | 0.5x | 1.5x | "
        "never reached 0.8 at 10 dB |")


def test_the_verdict_method_is_stated_once_above_the_comparison_table(comparison):
    assert ("Against `proposed` at every grid point (condition x Eb/N0), paired on the same test samples and "
            "channel draws: exact McNemar test, Holm-corrected across the cells of each comparison (family-wise 5% "
            "per comparison and training). One training per scheme. ") in comparison


SEED_CELLS = {  # training seed 1: (scheme, condition, Eb/N0) -> (correct, right only with proposed)
    ("proposed", "TDL-A/ls", 0.0): (520, None), ("proposed", "TDL-A/ls", 10.0): (900, None),
    ("proposed", "AWGN/perfect", 0.0): (700, None), ("proposed", "AWGN/perfect", 10.0): (950, None),
    ("no-kd", "TDL-A/ls", 0.0): (610, 20),  # 110 vs 20: better again
    ("no-kd", "TDL-A/ls", 10.0): (895, 15),  # 10 vs 15: tied (worse in training 0)
    ("no-kd", "AWGN/perfect", 0.0): (700, 5),  # 5 vs 5: tied
    ("no-kd", "AWGN/perfect", 10.0): (900, 60),  # 10 vs 60: worse (tied in training 0)
    ("digital", "AWGN/perfect", 0.0): (800, 20),  # 120 vs 20: better again; its other cells in training 0 only
}


def test_a_comparison_with_several_trainings_calls_a_point_only_where_every_training_agrees(tmp_path):
    """``compare.seeds``: every training is paired with proposed of its seed and Holm-corrected (Holm 1979);
    a point is better (worse) only where it is in every training; a point of one training only keeps that
    training's verdict."""
    sc = _compare_scenario(seeds=(1,))
    hits = _outcomes_of({k: c for k, (c, _) in SEED_CELLS.items()},
                        {k: n for k, (_, n) in SEED_CELLS.items() if n is not None}, seed=200)
    seed_rows = [{**_row(sc, s, e, k, c, variant="seed", training_seed=1), "_hits": hits[(s, c, e)]}
                 for (s, c, e), (k, _) in SEED_CELLS.items()]
    text = _comparison_text(tmp_path / "run", seed_rows=seed_rows, seeds=(1,))
    assert ("Trainings: training.seed = 0, 1; a point counts as better (worse) only if it is better (worse) in "
            "every training, each paired with proposed trained with the same seed.") in text
    # no-kd: better at TDL-A/ls 0 dB in both; worse in one training only elsewhere: tied (3 of 4)
    # mean difference over the cells of the mean over trainings: ((0.1 + 0.09) - (0.05 + 0.005) + 0
    # + (0.002 - 0.05)) / 2 / 4
    mean = ((0.1 + 0.09) + (-0.05 - 0.005) + 0.0 + (0.002 - 0.05)) / 2 / 4
    assert f"{mean:+.3f}" == "+0.011"
    assert _line(text, "| no-kd | TDL-A/ls at") == (
        "| no-kd | TDL-A/ls at 0 dB | nowhere | 3 | +0.011 | 0.75x | 0.5x | 1.5x | never reached 0.8 at 10 dB |")
    # digital: AWGN/perfect 0 dB better in both; 10 dB (training 0 only) better as judged there
    assert _line(text, "| digital |").startswith("| digital | AWGN/perfect at 0, 10 dB | nowhere | 2 | ")


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


def test_the_data_fraction_difference_is_paired_on_the_common_draws_and_holm_corrected(comparison):
    assert _line(comparison, "| proposed | 10 dB |") == "| proposed | 10 dB | 0.800 | 0.900 |"
    assert _line(comparison, "| no-kd | 10 dB |") == "| no-kd | 10 dB | 0.700 | 0.880 |"
    assert ("proposed - no-kd (95% interval; verdict paired on the same test samples and channel draws: exact "
            "McNemar test, Holm-corrected across the cells of each comparison):") in comparison
    tests = {f: _paired(FRACTION_HITS[("proposed", f)], FRACTION_HITS[("no-kd", f)]) for f in (0.5, 1.0)}
    assert [(t["better"], t["worse"]) for t in tests.values()] == [(130, 30), (60, 40)]
    assert tests[1.0]["p_value"] == mcnemar_p_value(60, 40) and 0.05 < tests[1.0]["p_value"] < 0.06
    holm = holm_adjust([t["p_value"] for t in tests.values()])
    for (f, t), adj, word in zip(tests.items(), holm, ("better", "tied")):
        assert _line(comparison, f"| {f:g} | 10 dB |") == (
            f"| {f:g} | 10 dB | {t['difference']:+.3f} | [{t['low']:+.3f}, {t['high']:+.3f}] | {adj:.3g} | {word} |")
    assert _line(comparison, "| 0.5 | 10 dB |").startswith("| 0.5 | 10 dB | +0.100 | [+0.07")
    assert _line(comparison, "| 1 | 10 dB |").endswith(f"| {mcnemar_p_value(60, 40):.3g} | tied |")


def test_data_fraction_rows_without_outcomes_are_marked_unpaired(tmp_path):
    text = _comparison_text(tmp_path / "run", paired=False)
    p = [verdicts.score_test_p_value(a, SAMPLES, b, SAMPLES) for a, b in ((800, 700), (900, 880))]
    holm = holm_adjust(p)
    for (f, (a, b)), adj, word in zip(((0.5, (800, 700)), (1.0, (900, 880))), holm, ("better", "tied")):
        d, iv = _iv(a, b, digits=3)
        assert _line(text, f"| {f:g} | 10 dB |") == f"| {f:g} | 10 dB | {d} | {iv} | {adj:.3g} | {word} (unpaired) |"
    assert _line(text, "| 0.5 | 10 dB |").startswith("| 0.5 | 10 dB | +0.100 | [+0.062, +0.137] |")


def test_the_comparison_verdicts_without_outcomes_are_the_same_for_clear_cells(tmp_path):
    text = _comparison_text(tmp_path / "run", paired=False)
    assert _line(text, "| no-kd | TDL-A/ls at") == (
        "| no-kd | TDL-A/ls at 0 dB | TDL-A/ls at 10 dB | 2 | +0.013 | 0.75x | 0.5x | 1.5x | "
        "never reached 0.8 at 10 dB |")
    assert "Rows without kept per-sample outcomes are compared unpaired (Newcombe interval, score test)." in text


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


FULL_LENGTH_HITS = {  # Eb/N0 -> (L = 32, proposed): 80 vs 30 discordant at 0 dB, 60 vs 40 at 10 dB
    e: (_against(ref, k, proposed_only), ref) for e, ref, k, proposed_only in
    ((0.0, _hits(650, seed=7), 700, 30), (10.0, _hits(880, seed=8), 900, 40))}


def _adaptation_dir(tmp_path, deployed_uses, raw=None, adaptation=(), paired=False):
    """A comparison with ``adaptive-length``; ``paired``: its full-length rows and proposed's keep
    FULL_LENGTH_HITS."""
    sc = _scenario(sweep_schemes=("proposed",), schemes=("proposed", "adaptive-length"), conditions=("TDL-A/ls",),
                   length_schemes=("adaptive-length",))
    kept = (lambda e, i: {"_hits": FULL_LENGTH_HITS[e][i]}) if paired else (lambda e, i: {})
    rows = [{**_row(sc, "proposed", e, k), **kept(e, 1)} for e, k in ((0.0, 650), (10.0, 880))]
    rows += [_row(sc, "adaptive-length", e, k, channel_uses=u) for e, k, u in zip((0.0, 10.0), (690, 850),
                                                                                   deployed_uses)]
    rows += [{**_row(sc, "adaptive-length", e, k, variant="length", fixed_length=length, channel_uses=float(length)),
              **(kept(e, 0) if length == 32 else {})}
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


def test_the_full_length_is_compared_with_proposed_paired_on_the_common_draws(tmp_path):
    text = _adaptation_dir(tmp_path, (16.0, 8.0), paired=True)
    tests = {e: _paired(a, b) for e, (a, b) in FULL_LENGTH_HITS.items()}
    assert [(t["better"], t["worse"]) for t in tests.values()] == [(80, 30), (60, 40)]
    holm = holm_adjust([t["p_value"] for t in tests.values()])
    assert holm[0] < 0.05 <= holm[1]

    def pct(t):
        return f"{100 * t['difference']:+.1f} [{100 * t['low']:+.1f}, {100 * t['high']:+.1f}]"

    assert ("At full length (L = 32) against `proposed` (points, 95% interval; verdict paired on the same test "
            "samples and channel draws: exact McNemar test, Holm-corrected across the cells of each comparison): "
            f"0 dB {pct(tests[0.0])} better; 10 dB {pct(tests[10.0])} tied.") in text
    # at 10 dB the interval only just excludes 0 (low +0.03 points) while the exact p is 0.057: the verdict
    # follows the exact test
    assert "0 dB +5.0 [+3.0, +7.0] better; 10 dB +2.0 [+0.0, +4.0] tied." in text
    assert 0 < tests[10.0]["low"] < 0.001 and tests[10.0]["p_value"] > 0.05


def test_the_full_length_without_outcomes_is_compared_by_the_newcombe_interval(tmp_path):
    text = _adaptation_dir(tmp_path, (16.0, 8.0))

    def pct(a, b):
        d, low, high = difference_interval(a, SAMPLES, b, SAMPLES, 0.95)
        return f"{100 * d:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"

    p = [verdicts.score_test_p_value(a, SAMPLES, b, SAMPLES) for a, b in ((700, 650), (900, 880))]
    assert [round(a, 4) for a in holm_adjust(p)] == [round(2 * p[0], 4), round(p[1], 4)]
    assert holm_adjust(p)[0] < 0.05 <= holm_adjust(p)[1]
    assert ("At full length (L = 32) against `proposed` (points, 95% interval; verdict unpaired, Newcombe "
            f"interval): 0 dB {pct(700, 650)} better; 10 dB {pct(900, 880)} tied.") in text
    assert "0 dB +5.0 [+0.9, +9.1] better; 10 dB +2.0 [-0.7, +4.8] tied." in text


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
