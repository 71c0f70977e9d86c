"""The channel-adaptation measures of a finished comparison.

    python -m benchmarks.adaptation_measures RUN_DIR [--scheme adaptive-length] [--no-append]
    python -m benchmarks.adaptation_measures docs/results/compare_fashion_mnist

Reads the run directory of `semcom-sim compare` (results.csv, adaptation.csv, the scheme's checkpoint
metadata and scenario.json, the scenario the run was made with); computes nothing new, trains nothing.
Prints one table of what was measured and appends it to benchmarks/RESULTS.md:

1. mean channel uses of the scheme against the smallest SNR-blind fixed length whose accuracy at every
   Eb/N0 is at least the longest length's accuracy there minus the policy tolerance, over the sweep's
   Eb/N0 points under the scenario's own channel, and at how many points the scheme itself is below that;
2. the raw per-level length choice against the SNR (L*(q) is non-increasing by construction);
3. the accuracy at full length against `proposed` at every Eb/N0 point;
4. told +12 dB while the channel is at -6 or 0 dB: the accuracy difference (paired, McNemar);
5. a pessimistic feed (told -6 dB at 18 dB): channel uses and accuracy;
6. the shuffle test's effect with its interval, and at how many points it lies outside that interval;
7. channel uses with 2-bit against 4-bit feedback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks._common import append_results
from semcom_sim.results import ADAPTATION_CSV, CHECKPOINTS_DIR, RESULTS_CSV, read_adaptation, read_results


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def measures(run: Path, scheme: str) -> tuple[list[tuple[str, str]], str]:
    scenario = json.loads((run / "scenario.json").read_text())
    channel, csi = scenario["phy"]["channel"], scenario["phy"]["csi"]
    bits = scenario["phy"]["snr_feedback_bits"]
    rows = [r for r in read_results(run / RESULTS_CSV) if r["channel"] == channel and r["csi"] == csi]
    # the checkpoint whose id starts the model id of the scheme's rows (a run directory may keep older ones)
    model_ids = {r["model_id"] for r in rows if r["scheme"] == scheme and not r["variant"]}
    paths = [p for p in sorted((run / CHECKPOINTS_DIR).glob(f"{scheme}-*.json"))
             if any(m.startswith(p.name[len(scheme) + 1:-len(".json")] + "-") for m in model_ids)]
    metas = [json.loads(p.read_text()) for p in paths]
    metas = [m for m in metas if m.get("length_policy")]
    if len(metas) != 1:
        raise SystemExit(f"{run}: need the one {scheme!r} checkpoint with a length policy that its rows name, found "
                         f"{len(metas)}; run semcom-sim compare first")
    policy = metas[0]["length_policy"]
    n, tolerance = max(policy["lengths"]), policy["tolerance"]
    points = sorted({r["ebno_db"] for r in rows if r["scheme"] == scheme and not r["variant"]})
    deployed = {r["ebno_db"]: r for r in rows if r["scheme"] == scheme and not r["variant"]}
    fixed: dict[int, dict[float, dict]] = {}
    for r in rows:
        if r["scheme"] == scheme and r["variant"] == "length":
            fixed.setdefault(r["fixed_length"], {})[r["ebno_db"]] = r
    out = []
    floors = {e: fixed[n][e]["accuracy"] - tolerance for e in points}
    within = [length for length in sorted(fixed) if all(fixed[length][e]["accuracy"] >= t for e, t in floors.items())]
    uses = _mean(deployed[e]["channel_uses"] for e in points)
    below = [e for e, t in floors.items() if deployed[e]["accuracy"] < t]
    saving = 1 - uses / within[0] if within else float("nan")
    out.append(("mean channel uses vs the smallest SNR-blind fixed length within the tolerance",
                f"{uses:.1f} vs L = {within[0] if within else '-'}: {100 * saving:.0f} % fewer; below the full "
                f"length's accuracy minus the tolerance at {len(below)} of {len(points)} points"
                + (f" ({', '.join(f'{e:g}' for e in below)} dB)" if below else "")))
    seen = [i for i, k in enumerate(policy["samples"]) if k]
    raw = [policy["raw"][i] for i in seen]
    monotone = all(a >= b for a, b in zip(raw, raw[1:]))
    out.append(("L*(q) against the SNR", " ".join(map(str, raw)) + " (raw per level"
                + (", non-increasing" if monotone else ", increasing somewhere") + "); "
                + " ".join(str(policy["policy"][i]) for i in seen) + " (L*)"))
    proposed = {r["ebno_db"]: r for r in rows if r["scheme"] == "proposed" and not r["variant"]}
    diffs = [fixed[n][e]["accuracy"] - proposed[e]["accuracy"] for e in points if e in proposed]
    out.append((f"full length (L = {n}) - proposed, per point",
                ", ".join(f"{100 * d:+.1f}" for d in diffs) + " points"))
    study = [r for r in read_adaptation(run / ADAPTATION_CSV) if r["scheme"] == scheme]
    cells = {(r["fed_ebno_db"], r["ebno_db"]): r for r in study if r["study"] == "mismatch"}
    opt = [cells.get((12.0, b)) for b in (-6.0, 0.0)]
    if all(opt):
        out.append(("told 12 dB while at -6 / 0 dB",
                    ", ".join(f"{100 * r['difference']:+.1f} (p = {r['p_value']:.1g})" for r in opt) + " points"))
    pess, matched = cells.get((-6.0, 18.0)), cells.get((18.0, 18.0))
    if pess and matched:
        out.append(("told -6 dB while at 18 dB",
                    f"{pess['channel_uses']:.1f} vs {matched['channel_uses']:.1f} channel uses, accuracy "
                    f"{100 * pess['difference']:+.1f} points"))
    shuffle = [r for r in study if r["study"] == "shuffle"]
    outside = [r for r in shuffle if r["diff_low"] > 0 or r["diff_high"] < 0]
    out.append(("shuffle test (effect [interval])",
                "; ".join(f"{r['ebno_db']:g} dB {100 * r['difference']:+.1f} [{100 * r['diff_low']:+.1f}, "
                          f"{100 * r['diff_high']:+.1f}]" for r in shuffle)
                + f"; outside its interval at {len(outside)} of {len(shuffle)} points"))
    feedback = {r["snr_feedback_bits"]: [] for r in rows if r["scheme"] == scheme and r["variant"] == "feedback"}
    for r in rows:
        if r["scheme"] == scheme and r["variant"] == "feedback":
            feedback[r["snr_feedback_bits"]].append(r["channel_uses"])
    if 2 in feedback:
        four = feedback.get(4) or ([deployed[e]["channel_uses"] for e in points] if bits == 4 else None)
        if four:
            out.append(("2-bit vs 4-bit feedback", f"{_mean(feedback[2]):.1f} vs {_mean(four):.1f} channel uses"))
    return out, f"{scenario['name']}, {scheme}, {channel}/{csi}, Eb/N0 {', '.join(f'{e:g}' for e in points)} dB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory of semcom-sim compare")
    parser.add_argument("--scheme", default="adaptive-length")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    table, title = measures(Path(args.run_dir), args.scheme)
    text = "\n".join(["| measure | measured |", "|---|---|"] + [f"| {a} | {b} |" for a, b in table])
    print(f"{title}\n\n{text}")
    if not args.no_append:
        append_results(f"adaptation_measures ({title})", text)


if __name__ == "__main__":
    main()
