"""The RKD-SC measures of a finished comparison.

    python -m benchmarks.rkd_sc_measures SCENARIO RUN_DIR [--scheme SCHEME] [--samples 2000] [--no-append]
    python -m benchmarks.rkd_sc_measures scenarios/compare_fashion_mnist.py docs/results/compare_fashion_mnist

Reads the run directory of `semcom-sim compare` (results.csv, cost.csv, run.json, the checkpoints) and
the teacher's report; trains nothing. Prints and appends to benchmarks/RESULTS.md:

1. **Headline**: the accuracy of the RKD-SC scheme at the highest Eb/N0 of the sweep under the scenario's
   own channel, as a fraction of the teacher's test accuracy, and its parameters (student encoder, codecs
   and decoder) against the teacher's.
2. **Ablations, paired**: each pair of schemes (two-stage vs one-stage, CAT vs dense codec, searched vs
   hand-designed encoder) evaluated on the **same** test samples and the same seeds at every condition and
   Eb/N0 point with each scheme's own length policy ``L*(q)``, and under the scenario's own condition also
   with every sample sending all ``n`` channel uses (equal channel uses): the accuracy difference with
   its paired 95 % interval and the exact McNemar p, and the mean channel uses of each.
3. **Time**: training seconds per stage of each RKD-SC scheme (from its checkpoint's history) and the
   comparison's run time (every invocation recorded in run.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks._common import append_results
from semcom_sim.scenario import load_scenario

#: (a, b, what a-b measures): the pairs of the ablations, when both schemes are in the comparison.
PAIRS = (("rkd-sc-handcrafted", "rkd-sc-one-stage", "two-stage vs one-stage"),
         ("rkd-sc-handcrafted", "rkd-sc-dense-codec", "CAT vs dense codec"),
         ("rkd-sc", "rkd-sc-handcrafted", "searched vs hand-designed encoder"))


def headline(run: Path, scenario, scheme: str) -> list[str]:
    from semcom_sim.results import RESULTS_CSV, read_cost, read_results

    channel, csi = scenario.phy.channel, scenario.phy.csi
    rows = [r for r in read_results(run / RESULTS_CSV) if r["scheme"] == scheme and not r["variant"]
            and r["channel"] == channel and r["csi"] == csi]
    if not rows:
        raise SystemExit(f"{run}: no {scheme!r} rows under {channel}/{csi}; run semcom-sim compare first")
    top = max(rows, key=lambda r: r["ebno_db"])
    report = json.loads(Path(f"{scenario.teacher.resolved_weights_path(scenario.data.dataset)}.json").read_text())
    teacher_acc = report["test_accuracy"]
    cost = {(r["scheme"], r["component"]): r for r in read_cost(run / "cost.csv")}
    student = next(r for (s, c), r in cost.items() if s == scheme and c != "teacher")
    teacher = next(r for (s, c), r in cost.items() if s == "teacher")
    kept = top["accuracy"] / teacher_acc
    fewer = 1 - student["parameters"] / teacher["parameters"]
    return [
        "| measure | measured |", "|---|---|",
        f"| {scheme} accuracy at {top['ebno_db']:g} dB ({channel}/{csi}) / teacher test accuracy | "
        f"{top['accuracy']:.4f} [{top['ci_low']:.4f}, {top['ci_high']:.4f}] / {teacher_acc:.4f} = {100 * kept:.1f} % "
        f"(interval {100 * top['ci_low'] / teacher_acc:.1f}-{100 * top['ci_high'] / teacher_acc:.1f} %) |",
        f"| parameters: {scheme} ({student['component']}) vs teacher | {student['parameters']:,} vs "
        f"{teacher['parameters']:,}: {100 * fewer:.1f} % fewer |",
    ]


def ablations(run: Path, scenario, samples: int) -> list[str]:
    import numpy as np

    from semcom_sim.condition import Condition
    from semcom_sim.evaluate import AccuracyEvaluator
    from semcom_sim.experiment import Experiment
    from semcom_sim.studies import compare_studies
    from semcom_sim.sweep import paired_difference, point_seed

    schemes = scenario.compare.schemes
    pairs = [p for p in PAIRS if p[0] in schemes and p[1] in schemes]
    if not pairs:
        return ["(no pair of RKD-SC schemes in compare.schemes: no ablation to measure)"]
    exp = Experiment.open(scenario, run, studies=compare_studies(scenario), show_progress=False)
    names = sorted({s for a, b, _ in pairs for s in (a, b)})
    n = scenario.model.num_channel_uses
    lines = ["| pair (a vs b) | condition | Eb/N0 [dB] | lengths | a | b | a - b [95 % CI] points, McNemar p | "
             "channel uses a / b |", "|---|---|---:|---|---:|---:|---|---|"]
    batch = scenario.sweep.batch_size
    for condition in scenario.compare.conditions:
        evaluators = {}
        for name in names:
            model, _, _ = exp.load_for_test(name, Condition.parse(condition))
            evaluators[name] = AccuracyEvaluator(model, exp.dataset.x_test, exp.dataset.y_test, batch,
                                                 jit_compile=scenario.training.jit_compile)
        own = condition == f"{scenario.phy.channel}/{scenario.phy.csi}"
        for ebno in scenario.sweep.ebno_db:
            seed = point_seed(scenario.sweep.seed, f"rkd-sc-pairs/{condition}", ebno)
            for lengths, length in (("L*(q)", None), (f"all {n}", float(n)))[:2 if own else 1]:
                out = {name: evaluators[name].outcomes(ebno, samples, seed, length=length) for name in names}
                for a, b, what in pairs:
                    d = paired_difference(out[a]["correct"], out[b]["correct"], 0.95)
                    lines.append(
                        f"| {what} ({a} vs {b}) | {condition} | {ebno:g} | {lengths} | "
                        f"{np.mean(out[a]['correct']):.4f} | {np.mean(out[b]['correct']):.4f} | "
                        f"{100 * d['difference']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}], "
                        f"p = {d['p_value']:.2g} | {np.mean(out[a]['channel_uses']):.1f} / "
                        f"{np.mean(out[b]['channel_uses']):.1f} |")
                print(lines[-1], flush=True)
    return lines


def timings(run: Path, scenario) -> list[str]:
    from semcom_sim.results import CHECKPOINTS_DIR
    from semcom_sim.schemes import resolve_scheme

    lines = ["| scheme | stage | epochs | seconds | s / epoch |", "|---|---|---:|---:|---:|"]
    for scheme in scenario.compare.schemes:
        if not scheme.startswith("rkd-sc"):
            continue
        fingerprint = resolve_scheme(scenario, scheme).fingerprint()
        paths = sorted((run / CHECKPOINTS_DIR).glob(f"{scheme}-{fingerprint}-*.json"))
        if not paths:
            continue
        history = json.loads(paths[-1].read_text())["history"]
        stages: dict[str, list[float]] = {}
        for entry in history:
            stages.setdefault(entry.get("stage", "joint"), []).append(entry["seconds"])
        for stage, seconds in stages.items():
            lines.append(f"| {scheme} | {stage} | {len(seconds)} | {sum(seconds):.0f} | "
                         f"{sum(seconds) / len(seconds):.1f} |")
    invocations = json.loads((run / "run.json").read_text())["invocations"]
    lines += ["", "| compare invocation | commit | train [s] | sweep [s] | adaptation [s] | total [s] |",
              "|---|---|---:|---:|---:|---:|"]
    for inv in invocations:
        t = inv.get("timings_s", {})
        lines.append(f"| {inv['date']} | {inv['commit']} | {t.get('train_s', 0):.0f} | {t.get('sweep_s', 0):.0f} | "
                     f"{t.get('adaptation_s', 0):.0f} | {t.get('total_s', 0):.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO", help="the comparison's scenario file")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="its run directory (semcom-sim compare --out)")
    parser.add_argument("--scheme", default=None, help="the headline scheme (default: rkd-sc if compared, "
                        "else rkd-sc-handcrafted)")
    parser.add_argument("--samples", type=int, default=2000, help="test samples per paired cell")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    scheme = args.scheme or ("rkd-sc" if "rkd-sc" in scenario.compare.schemes else "rkd-sc-handcrafted")
    parts = [headline(args.run_dir, scenario, scheme), ablations(args.run_dir, scenario, args.samples),
             timings(args.run_dir, scenario)]
    table = "\n\n".join("\n".join(p) for p in parts)
    print(table)
    if not args.no_append:
        append_results(f"rkd_sc_measures ({scenario.name})", table,
                       f"Paired cells: {args.samples} test samples each, the same samples, channel and noise seeds "
                       "for both schemes of a pair (paired square-and-add interval of the difference, exact McNemar "
                       "p). "
                       "'L*(q)': each scheme sends its own policy's length; 'all n': every sample sends every "
                       "channel use.")


if __name__ == "__main__":
    main()
