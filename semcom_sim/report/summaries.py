"""The markdown summaries of a run directory (``summary.md``): every number comes from its files.

- :func:`sweep_summary`: accuracy (with its interval) per scheme and Eb/N0 under the scenario's own
  ``phy``, and the adaptive module's gain (``run``, ``sweep``);
- :func:`comparison_summary`: where each scheme wins and loses against ``proposed``, the accuracy under
  every test condition, the robustness and data-fraction studies, cost and distillation (``compare``).

Verdicts compare two schemes cell by cell on their common test samples and channel draws (exact McNemar
test), Holm-corrected across the cells of each comparison, and across trainings only where every training
agrees (:mod:`semcom_sim.report.verdicts`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from semcom_sim.condition import Condition
from semcom_sim.report.gaps import gap_table
from semcom_sim.report.verdicts import METHOD_TEXT, across_trainings, family_tests
from semcom_sim.results import (
    ADAPTATION_CSV,
    COST_CSV,
    DISTILLATION_CSV,
    LABEL_CODE_SCHEME,
    REFERENCE_SCHEME,
    condition_name,
    row_condition,
)
from semcom_sim.scenario import Scenario

if TYPE_CHECKING:
    from semcom_sim.report.render import RunFiles


def sweep_summary(rows: list[dict], scenario: Scenario, tested: dict[str, str],
                  seed_rows: list[dict] | None = None, outcomes=None) -> str:
    """A markdown table of accuracy (with CI) per scheme and Eb/N0, plus the adaptive module's gain and,
    with ``seed_rows`` (``sweep.seeds``), the spread across trainings. ``tested``: each scheme's test
    condition ``"CHANNEL/CSI"`` (its test patch applied); ``outcomes``: reads a row's kept per-sample outcomes
    (``None``: verdicts are unpaired)."""
    channel = scenario.phy.channel
    schemes = scenario.sweep.schemes
    level = f"{scenario.sweep.confidence:.0%}"
    tested = {s: Condition.parse(tested[s]) for s in schemes}
    by_key = {(r["scheme"], float(r["ebno_db"])): r for r in rows
              if r["scheme"] in tested and r["channel"] == tested[r["scheme"]].channel}
    points = sorted({e for (s, e) in by_key if s in schemes})
    own = [f"{s} under {p.display}" for s, p in tested.items() if p != Condition.of(scenario)]
    lines = [f"# {scenario.name}", "",
             f"Channel {channel}, {Condition.of(scenario).csi_text}"
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
        pairs = [(e, by_key[("proposed", e)], by_key[("no-adaptive", e)]) for e in points
                 if ("proposed", e) in by_key and ("no-adaptive", e) in by_key]
        judged = family_tests(pairs, outcomes, scenario.sweep.confidence)
        paired = all(t.paired for t in judged.values())
        how = (f"{METHOD_TEXT} ({len(judged)} points)" if paired else
               f"unpaired: Newcombe interval and score test, Holm-corrected across the {len(judged)} points")
        lines += ["", f"Gain of the adaptive module (proposed - no-adaptive), {level} interval; verdict {how}:", "",
                  "| Eb/N0 [dB] | gain | interval | p | Holm p | verdict |", "|---:|---:|---|---:|---:|---|"]
        for e, t in judged.items():
            lines.append(f"| {e:g} | {t.difference:+.4f} | [{t.low:+.4f}, {t.high:+.4f}] | {t.p_value:.3g} | "
                         f"{t.adjusted:.3g} | {t.verdict} |")
        lines += gain_across_trainings_lines(by_key, seed_rows or [], tested, scenario, outcomes)
    lines += seed_spread_lines(rows, seed_rows or [], scenario.sweep.seeds, scenario.training.seed, level)
    return "\n".join(lines) + "\n"


def gain_across_trainings_lines(by_key: dict, seed_rows: list[dict], tested: dict, scenario: Scenario,
                                outcomes) -> list[str]:
    """With further trainings (``sweep.seeds``): the adaptive module's gain (``proposed - no-adaptive``) per training,
    each ``proposed`` paired with the ``no-adaptive`` trained with the same seed and judged as the gain table is
    (paired, Holm across the points), and the verdict across trainings: ``better`` / ``worse`` only where every
    training says so (:func:`~semcom_sim.report.verdicts.across_trainings`)."""
    trainings: dict[int, dict] = {int(scenario.training.seed): by_key}
    for r in seed_rows:
        if r["scheme"] in tested and r["channel"] == tested[r["scheme"]].channel:
            trainings.setdefault(int(r["training_seed"]), {})[(r["scheme"], float(r["ebno_db"]))] = r
    judged = {}
    for seed, keyed in trainings.items():
        pairs = [(e, a, keyed[("no-adaptive", e)]) for (s, e), a in sorted(keyed.items())
                 if s == "proposed" and ("no-adaptive", e) in keyed]
        if pairs:
            judged[seed] = family_tests(pairs, outcomes, scenario.sweep.confidence)
    if len(judged) < 2:
        return []
    seeds = sorted(judged)
    combined = across_trainings(judged)
    lines = ["", f"Gain of the adaptive module in each training (training.seed = {', '.join(map(str, seeds))}; "
             "each judged as above, against the no-adaptive model trained with the same seed) and the verdict "
             "across trainings: better or worse only where every training says so (intersection-union test):", "",
             "| Eb/N0 [dB] | " + " | ".join(f"seed {s}" for s in seeds) + " | mean gain | verdict |",
             "|---:|" + "---:|" * len(seeds) + "---:|---|"]
    for e in sorted(combined):
        cells = [judged[s].get(e) for s in seeds]
        gains = [t.difference for t in cells if t is not None]
        lines.append(f"| {e:g} | " + " | ".join("-" if t is None else f"{t.difference:+.4f} ({t.verdict})"
                                                for t in cells)
                     + f" | {sum(gains) / len(gains):+.4f} | {combined[e]} |")
    return lines


def seed_spread_lines(base_rows: list[dict], seed_rows: list[dict], seeds, base_seed: int, level: str,
                      where: str = "") -> list[str]:
    """The spread across trainings: per scheme, condition and Eb/N0, the mean and sample standard
    deviation of the accuracy over the trainings (the scenario's ``training.seed`` and each further seed),
    their range, and the mean half-width of the Monte Carlo interval of one training, side by side.
    ``base_rows``: the plain rows; ``seed_rows``: the ``seed`` variant's."""
    if not seed_rows:
        return []
    groups: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for r in base_rows:
        groups[(r["scheme"], r["channel"], r.get("csi") or "", float(r["ebno_db"]))][int(base_seed)] = r
    for r in seed_rows:
        key = (r["scheme"], r["channel"], r.get("csi") or "", float(r["ebno_db"]))
        if key in groups:
            groups[key][int(r["training_seed"])] = r
    lines = ["", "## Spread across trainings", "",
             f"Each scheme trained with training.seed = {', '.join(str(s) for s in (base_seed, *seeds))} and "
             f"evaluated on the same Monte Carlo draws{where}. The standard deviation across trainings (sample, "
             f"n - 1) is the variation a retraining brings; beside it, the {level} Monte Carlo half-width of one "
             "training is the variation of the test draws.", "",
             "| scheme | condition | Eb/N0 [dB] | trainings | mean accuracy | std across trainings | range | "
             "MC half-width |", "|---|---|---:|---:|---:|---:|---|---:|"]
    for (scheme, channel, csi, ebno), by_seed in sorted(groups.items()):
        if len(by_seed) < 2:
            continue
        acc = [float(r["accuracy"]) for r in by_seed.values()]
        mean = sum(acc) / len(acc)
        std = (sum((a - mean) ** 2 for a in acc) / (len(acc) - 1)) ** 0.5
        half = sum((float(r["ci_high"]) - float(r["ci_low"])) / 2 for r in by_seed.values()) / len(acc)
        lines.append(f"| {scheme} | {channel}/{csi} | {ebno:g} | {len(acc)} | {mean:.4f} | {std:.4f} | "
                     f"{min(acc):.4f} - {max(acc):.4f} | {half:.4f} |")
    return lines


def _minutes(run: dict) -> str:
    t = run.get("timings_s", {})
    parts = ", ".join(f"{k[:-2]} {v / 60:.1f}" for k, v in t.items() if k != "total_s")
    return f"{t.get('total_s', float('nan')) / 60:.1f} min" + (f" ({parts})" if parts else "")


def _fmt_points(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in sorted(values)) + " dB"


def _versus(trainings: dict[int, list[dict]], scheme: str, reference: str, confidence: float, outcomes) -> dict:
    """Grid cells (condition x Eb/N0) where ``scheme`` is better / worse than ``reference``: judged per training
    (the rows of each training seed; paired, Holm across the cells) and combined across trainings
    (:func:`~semcom_sim.report.verdicts.across_trainings`)."""
    judged, diffs = {}, defaultdict(list)
    for seed, rows in trainings.items():
        by_key = {(r["scheme"], r["condition"], float(r["ebno_db"])): r for r in rows}
        pairs = [((c, e), a, by_key[(reference, c, e)]) for (s, c, e), a in by_key.items()
                 if s == scheme and (reference, c, e) in by_key]
        if pairs:
            judged[seed] = family_tests(pairs, outcomes, confidence)
            for key, t in judged[seed].items():
                diffs[key].append(t.difference)
    out = {"better": defaultdict(list), "worse": defaultdict(list), "tied": 0, "total": 0,
           "diffs": [sum(d) / len(d) for d in diffs.values()], "trainings": len(judged),
           "paired": all(t.paired for j in judged.values() for t in j.values())}
    for (condition, ebno), verdict in across_trainings(judged).items():
        out["total"] += 1
        if verdict == "tied":
            out["tied"] += 1
        else:
            out[verdict][condition].append(ebno)
    return out


def _where(points: dict) -> str:
    return "; ".join(f"{c} at {_fmt_points(v)}" for c, v in sorted(points.items())) or "nowhere"


def _cost_by_scheme(cost: list[dict], runs_teacher: set[str] = frozenset()) -> dict[str, dict]:
    """Per scheme: parameters, FLOPs and latency summed over its components; a scheme of ``runs_teacher``
    (its encoder reads the teacher's features) also counts the teacher's."""
    totals: dict[str, dict] = {}
    for r in cost:
        t = totals.setdefault(r["scheme"], {"parameters": 0, "flops_per_sample": 0, "latency_ms": 0.0})
        t["parameters"] += int(r["parameters"])
        t["flops_per_sample"] += int(r["flops_per_sample"])
        t["latency_ms"] += float(r["latency_ms"])
    for scheme in runs_teacher & set(totals):  # it runs the teacher, then its channel encoder
        for key in totals.get("teacher", {}):
            totals[scheme][key] += totals["teacher"][key]
    return totals


def _time_to_target(dist: list[dict], default_target: float | None = None) -> dict[str, tuple[int, float] | None]:
    """Per scheme, ``(epoch, wall_s)`` of its lowest epoch whose ``val_accuracy`` reaches the row's
    ``target_accuracy`` (``default_target`` where the row has none), in whatever order the rows come; ``None``
    when no epoch does."""
    out: dict[str, tuple[int, float] | None] = {r["scheme"]: None for r in dist}
    for r in sorted(dist, key=lambda r: int(r["epoch"])):
        scheme = r["scheme"]
        target = r.get("target_accuracy")
        target = default_target if target is None else target
        if out[scheme] is None and target is not None and float(r["val_accuracy"]) >= float(target):
            out[scheme] = (int(r["epoch"]), float(r["wall_s"]))
    return out


def _accuracy_table(rows: list[dict], keys: list[tuple[str, str]], points: list[float], first: str) -> list[str]:
    by_key = {(r["scheme"], r["condition"], float(r["ebno_db"])): r for r in rows}
    lines = [f"| {first} | scheme | " + " | ".join(f"{e:g} dB" for e in points) + " |",
             "|---|---|" + "---:|" * len(points)]
    for condition, scheme in keys:
        cells = []
        for e in points:
            r = by_key.get((scheme, condition, e))
            cells.append("-" if r is None else f"{r['accuracy']:.3f}")
        lines.append(f"| {condition} | {scheme} | " + " | ".join(cells) + " |")
    return lines


def comparison_summary(run: RunFiles) -> str:
    """The markdown text of ``summary.md`` of a comparison, from its run directory's files."""
    sc = run.scenario
    cfg = sc.compare
    out_dir = run.out_dir
    dataset = run.dataset
    level = f"{sc.sweep.confidence:.0%}"
    base_label = Condition.of(sc).label
    rows = []
    for r in run.rows(excluding=("seeds",)):
        cond = row_condition(r)
        if cond is not None:
            rows.append({**r, "condition": condition_name(r), "_variant": cond["variant"], "_value": cond["value"]})
    grid = [r for r in rows if r["condition"] in cfg.conditions]
    cost, dist = run.csv(COST_CSV), run.csv(DISTILLATION_CSV)
    reads_teacher = {s for s in cfg.schemes if (run.checkpoint_meta(s) or {}).get("scenario", {}).get(
        "model", {}).get("source") == "teacher-features"}
    totals = _cost_by_scheme(cost, reads_teacher)
    ttt = _time_to_target(dist, cfg.target_accuracy)
    runs = run.invocations
    first = runs[0]
    lines = [f"# Comparison: {sc.name}", "",
             f"Produced by `{first['command']}` on {first['date']}, {first['machine']}, commit {first['commit']}.",
             "Invocations (later ones reuse checkpoints and finished sweep points): "
             + "; ".join(f"{r['date']}: {_minutes(r)}" for r in runs) + ".", "",
             f"Task: {dataset['name']}, {dataset['num_train']} training / {dataset['num_test']} test samples, "
             f"{dataset['num_classes']} classes; {sc.model.num_channel_uses} complex channel uses per sample for "
             f"every scheme. Models are trained under {sc.phy.channel} with {Condition.of(sc).csi_text} "
             + ("and under every condition." if cfg.retrain_per_condition else
                "and evaluated unchanged under every condition.")
             + f" Accuracies are over the test set with {level} Wilson intervals in `results.csv`.", ""]

    # -- verdicts ------------------------------------------------------------------------------
    trainings = {int(sc.training.seed): grid}
    for r in run.rows("seeds"):  # a seed row's condition is its plain "CHANNEL/CSI" (its variant is the seed)
        cond = row_condition(r)
        if cond is not None and cond["label"] in cfg.conditions:
            trainings.setdefault(int(r["training_seed"]), []).append({**r, "condition": cond["label"]})
    seeds = ", ".join(str(s) for s in trainings)
    lines += ["## Where each scheme wins and loses", "",
              f"Against `proposed` at every grid point (condition x Eb/N0), {METHOD_TEXT} (family-wise "
              f"{1 - sc.sweep.confidence:.0%} per comparison and training). "
              + (f"Trainings: training.seed = {seeds}; a point counts as better (worse) only if it is better "
                 "(worse) in every training, each paired with proposed trained with the same seed. "
                 if len(trainings) > 1 else "One training per scheme. ")
              + "Rows without kept per-sample outcomes are compared unpaired (Newcombe interval, score test). "
              "Cost is the transceiver's (the teacher's for teacher-over-channel) relative to proposed.", "",
              "| scheme | better than proposed | worse than proposed | tied | mean diff. | params | FLOPs | "
              "latency | other axes |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    ref = totals.get("proposed")
    for scheme in cfg.schemes:
        if scheme == "proposed":
            v = {"better": {}, "worse": {}, "tied": "-", "diffs": []}
        else:
            v = _versus(trainings, scheme, "proposed", sc.sweep.confidence, run.outcomes)
        t = totals.get(scheme)
        ratios = ["-", "-", "-"]
        if t and ref:
            ratios = [f"{t[k] / ref[k]:.2g}x" for k in ("parameters", "flops_per_sample", "latency_ms")]
        notes = []
        if ttt.get(scheme):
            epoch, wall = ttt[scheme]
            notes.append(f"target {cfg.target_accuracy:g} at {cfg.target_ebno_db:g} dB after {wall:.0f} s "
                         f"(epoch {epoch})")
        elif scheme in ttt:
            notes.append(f"never reached {cfg.target_accuracy:g} at {cfg.target_ebno_db:g} dB")
        mean = f"{sum(v['diffs']) / len(v['diffs']):+.3f}" if v["diffs"] else "-"
        lines.append(f"| {scheme} | {_where(v['better']) if scheme != 'proposed' else '(reference)'} | "
                     f"{_where(v['worse']) if scheme != 'proposed' else '-'} | {v['tied']} | {mean} | "
                     + " | ".join(ratios) + f" | {'; '.join(notes) or '-'} |")

    # -- accuracy grid -------------------------------------------------------------------------
    points = sorted({float(r["ebno_db"]) for r in grid})
    lines += ["", "## Accuracy vs Eb/N0", "", f"Figure: `{out_dir.name}/accuracy_grid.png`.", ""]
    shown = cfg.schemes
    if cfg.limit_scheme:
        shown = cfg.schemes + (REFERENCE_SCHEME,)
        lines += [f"`{REFERENCE_SCHEME}` (dashed) is a reference, not a scheme: `{cfg.limit_scheme}`'s student run "
                  f"whole on the device, its decision ({math.log2(dataset['num_classes']):.2f} bits) sent over the "
                  f"{sc.model.num_channel_uses} channel uses a sample of `{cfg.limit_scheme}` occupies by an ideal "
                  "code of that length (normal approximation, perfect CSI at the receiver; `semcom_sim.limits`), on "
                  "the same samples and channel draws. It is not a bound on every scheme.", ""]
    if cfg.label_baseline:
        shown = shown + (LABEL_CODE_SCHEME,)
        lines += [f"`{LABEL_CODE_SCHEME}` (dash-dotted) is the practical label baseline: the same on-device decision "
                  f"({math.ceil(math.log2(dataset['num_classes']))} bits) in one 5G polar codeword (downlink format, "
                  f"24-bit CRC, QPSK) on the same {sc.model.num_channel_uses} channel uses, the link's own CSI and "
                  "equaliser, CRC-aided list decoding (list 8); where the CRC fails the receiver names the most "
                  "frequent class (`semcom_sim.phy.label_code`).", ""]
    lines += _accuracy_table(grid, [(c, s) for c in cfg.conditions for s in shown], points, "condition")
    teacher_accuracy = run.plan.get("teacher_test_accuracy")
    if cfg.limit_scheme and teacher_accuracy:
        lines += ["", "## How far from the limit", "",
                  f"The Eb/N0 at which each scheme first reaches 80 / 90 / 95 % of the teacher's test accuracy "
                  f"({teacher_accuracy:.4f}, from its report), interpolated between the swept points (in brackets: "
                  f"the same from the {level} interval's bounds), and its gap to `{REFERENCE_SCHEME}` at the same "
                  "fraction (positive: the scheme needs more energy per bit). Figures: the dashed curve of the "
                  f"accuracy grid; `{out_dir.name}/limit_gap.png`, the gaps with their intervals."]
        for condition in cfg.conditions:
            lines += ["", f"**{condition}**", ""]
            gapped = cfg.schemes + ((LABEL_CODE_SCHEME,) if cfg.label_baseline else ())
            lines += gap_table(grid, condition, gapped, REFERENCE_SCHEME, float(teacher_accuracy))

    # -- robustness ----------------------------------------------------------------------------
    robust = [r for r in rows if r["_variant"] in ("feedback", "stale") or r["condition"] == base_label]
    if any(r["_variant"] for r in robust):
        order = {r["condition"]: (r["_variant"], r["_value"]) for r in robust if r["_variant"]}
        labels = [base_label] + sorted(order, key=order.get)
        lines += ["", "## Robustness to SNR-feedback errors", "",
                  f"The trained model under the base condition ({base_label}, feedback "
                  f"{sc.phy.snr_feedback_bits} bits, {sc.phy.snr_feedback_delay_ms:g} ms old, "
                  f"{sc.phy.speed_mps:g} m/s) and with the fed-back SNR quantised to other resolutions or older.", ""]
        lines += _accuracy_table(robust, [(c, s) for c in labels for s in cfg.robustness_schemes], points, "condition")

    # -- data fraction -------------------------------------------------------------------------
    frac = [r for r in rows if r["_variant"] == "fraction"]
    if frac:
        lines += ["", "## Training-data fraction (equal optimizer steps)", "",
                  "| scheme | Eb/N0 | " + " | ".join(f"{f:g}" for f in cfg.data_fractions) + " |",
                  "|---|---:|" + "---:|" * len(cfg.data_fractions)]
        by_key = {(r["scheme"], r["_value"], float(r["ebno_db"])): r for r in frac}
        for scheme in cfg.fraction_schemes:
            for e in cfg.fraction_ebno_db:
                cells = [by_key.get((scheme, float(f), float(e))) for f in cfg.data_fractions]
                lines.append(f"| {scheme} | {e:g} dB | " + " | ".join("-" if r is None else f"{r['accuracy']:.3f}"
                                                                   for r in cells) + " |")
        if len(cfg.fraction_schemes) >= 2:
            a, b = cfg.fraction_schemes[:2]
            pairs = [((float(f), float(e)), by_key[(a, float(f), float(e))], by_key[(b, float(f), float(e))])
                     for f in cfg.data_fractions for e in cfg.fraction_ebno_db
                     if (a, float(f), float(e)) in by_key and (b, float(f), float(e)) in by_key]
            judged = family_tests(pairs, run.outcomes, sc.sweep.confidence)
            how = METHOD_TEXT if all(t.paired for t in judged.values()) else \
                "Holm-corrected across the cells; cells marked unpaired: Newcombe interval and score test"
            lines += ["", f"{a} - {b} ({level} interval; verdict {how}):", "",
                      "| fraction | Eb/N0 | difference | interval | Holm p | verdict |",
                      "|---:|---:|---:|---|---:|---|"]
            for (f, e), t in judged.items():
                lines.append(f"| {f:g} | {e:g} dB | {t.difference:+.3f} | [{t.low:+.3f}, {t.high:+.3f}] | "
                             f"{t.adjusted:.3g} | {t.verdict}{'' if t.paired else ' (unpaired)'} |")

    # -- channel adaptation ----------------------------------------------------------------------
    for scheme in [s for s in cfg.length_schemes if s in cfg.schemes]:
        lines += adaptation_section(run, scheme, rows)

    # -- cost ----------------------------------------------------------------------------------
    if cost:
        lines += ["", "## Model size, computation and latency", "",
                  "Per sample, batch 1, median over warm runs; the PHY is not included (it has no weights and "
                  "is the same for every scheme).", "",
                  "| scheme | component | parameters | size [MB] | MFLOPs / sample | latency [ms] (p90) | device |",
                  "|---|---|---:|---:|---:|---:|---|"]
        for r in cost:
            lines.append(f"| {r['scheme']} | {r['component']} | {int(r['parameters']):,} | "
                         f"{int(r['bytes']) / 1e6:.2f} | {int(r['flops_per_sample']) / 1e6:.2f} | "
                         f"{float(r['latency_ms']):.2f} ({float(r['latency_p90_ms']):.2f}) | {r['device']} |")

    # -- distillation --------------------------------------------------------------------------
    if dist:
        per_epoch: dict[str, list[float]] = defaultdict(list)
        for r in dist:
            per_epoch[r["scheme"]].append(float(r["wall_s"]))
        lines += ["", "## Distillation cost", "",
                  f"Held-out accuracy on {cfg.monitor_samples} training samples that no scheme trains on "
                  f"(never the test split) at {cfg.target_ebno_db:g} dB after each epoch; time to the target "
                  f"accuracy {cfg.target_accuracy:g} (training time only; the "
                  "one-off teacher pass that fills the cache is listed apart).", "",
                  "| scheme | distillation | epochs | s / epoch | best held-out accuracy | time to target |",
                  "|---|---|---:|---:|---:|---:|"]
        for scheme, walls in per_epoch.items():
            kind = next(r["distillation"] for r in dist if r["scheme"] == scheme)
            best = max(float(r["val_accuracy"]) for r in dist if r["scheme"] == scheme)
            hit = ttt.get(scheme)
            lines.append(f"| {scheme} | {kind} | {len(walls)} | {max(walls) / len(walls):.1f} | {best:.3f} | "
                         + (f"{hit[1]:.0f} s (epoch {hit[0]})" if hit else "not reached") + " |")
        cache = run.plan.get("teacher_cache_seconds")
        if cache is not None:
            lines += ["", f"One-off teacher pass that filled the cache: {cache:.0f} s "
                      "(from the cache's manifest; paid once, shared by every cached-KD training)."]
    base = [r for r in grid if not r["_variant"] and r["condition"] == base_label]
    lines += seed_spread_lines(base, [r for r in run.rows("seeds") if f"{r['channel']}/{r['csi']}" == base_label],
                               cfg.seeds, sc.training.seed, level,
                               f", under {base_label} (every condition's rows are in `results.csv`)")
    return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return f"{100 * value:+.1f}"


def adaptation_section(run: RunFiles, scheme: str, rows: list[dict]) -> list[str]:
    """The markdown section on a scheme with nested lengths: its length policy, the SNR-blind reference,
    and the paired studies of ``adaptation.csv`` that show whether the gain comes from the SNR."""
    sc = run.scenario
    level = f"{sc.sweep.confidence:.0%}"
    meta = run.checkpoint_meta(scheme) or {}
    model = meta.get("scenario", {}).get("model", {})
    n, tolerance = model.get("num_channel_uses", sc.model.num_channel_uses), model.get("policy_tolerance",
                                                                                       sc.model.policy_tolerance)
    base = f"{sc.phy.channel}/{sc.phy.csi}"
    mine = [r for r in rows if r["scheme"] == scheme and f"{r['channel']}/{r['csi']}" == base]
    deployed = {float(r["ebno_db"]): r for r in mine if not r["_variant"]}
    fixed: dict[int, dict[float, dict]] = defaultdict(dict)
    for r in mine:
        if r["_variant"] == "length":
            fixed[int(r["_value"])][float(r["ebno_db"])] = r
    lines = ["", f"## Channel adaptation: `{scheme}` (nested lengths)", "",
             f"`{scheme}` sends the first `L*(q)` of {n} complex channel uses, `q` the fed-back SNR level; the "
             f"policy was fitted on held-out training samples (the smallest `L` within {100 * tolerance:g} points "
             "of the longest at that level, then made non-increasing in the SNR). Reference: the same model "
             "sending one fixed `L` whatever the SNR. Figures: `length_adaptation.png`, `snr_mismatch.png`.", ""]
    policy = meta.get("length_policy")
    if policy:
        seen = [i for i, k in enumerate(policy["samples"]) if k]
        lines += ["| fed-back SNR level q [dB] | " + " | ".join(f"{policy['levels_db'][i]:.2f}" for i in seen) + " |",
                  "|---|" + "---:|" * len(seen),
                  "| held-out samples | " + " | ".join(str(policy["samples"][i]) for i in seen) + " |",
                  "| raw choice | " + " | ".join(str(policy["raw"][i]) for i in seen) + " |",
                  "| L*(q) | " + " | ".join(str(policy["policy"][i]) for i in seen) + " |", ""]
        monotone = all(a >= b for a, b in zip([policy["raw"][i] for i in seen], [policy["raw"][i] for i in seen][1:]))
        lines += [f"The raw per-level choice is {'already' if monotone else 'not'} non-increasing in the SNR.", ""]
    points = sorted(deployed)
    if deployed and fixed:
        lengths = sorted(fixed)
        lines += ["| Eb/N0 | deployed: accuracy | deployed: channel uses | "
                  + " | ".join(f"L = {length}" for length in lengths) + " |",
                  "|---:|---:|---:|" + "---:|" * len(lengths)]
        for e in points:
            d = deployed[e]
            cells = [f"{fixed[length][e]['accuracy']:.3f}" if e in fixed[length] else "-" for length in lengths]
            lines.append(f"| {e:g} dB | {d['accuracy']:.3f} | {d['channel_uses']:.1f} | " + " | ".join(cells) + " |")
        longest = max(lengths)
        targets = {e: fixed[longest][e]["accuracy"] - tolerance for e in points if e in fixed[longest]}
        meets = [length for length in lengths if all(e in fixed[length] and fixed[length][e]["accuracy"] >= t
                                                     for e, t in targets.items())]
        adaptive_uses = sum(deployed[e]["channel_uses"] for e in points) / len(points)
        missed = [e for e, t in targets.items() if deployed[e]["accuracy"] < t]
        lines += ["", f"Targets: the accuracy of L = {longest} at each Eb/N0 minus {100 * tolerance:g} points. The "
                  f"smallest fixed length that meets every target is L = {meets[0] if meets else 'none'}; "
                  f"`{scheme}` sends {adaptive_uses:.1f} channel uses on average over these Eb/N0 points"
                  + (f", {abs(100 * (1 - adaptive_uses / meets[0])):.0f} % "
                     f"{'fewer' if adaptive_uses <= meets[0] else 'more'}" if meets else "")
                  + (f", and misses the target at {_fmt_points(missed)}" if missed else ", and meets every target")
                  + "."]
        full = fixed.get(n, {})
        ref = {float(r["ebno_db"]): r for r in rows if r["scheme"] == "proposed" and not r["_variant"]
               and f"{r['channel']}/{r['csi']}" == base}
        judged = family_tests([(e, full[e], ref[e]) for e in points if e in full and e in ref], run.outcomes,
                              sc.sweep.confidence)
        diffs = [f"{e:g} dB {_pct(t.difference)} [{_pct(t.low)}, {_pct(t.high)}] {t.verdict}"
                 for e, t in judged.items()]
        if diffs:
            how = METHOD_TEXT if all(t.paired for t in judged.values()) else "unpaired, Newcombe interval"
            lines += ["", f"At full length (L = {n}) against `proposed` (points, {level} interval; verdict {how}): "
                      + "; ".join(diffs) + "."]
        studies = defaultdict(list)
        for r in rows:
            if r["scheme"] == scheme and r["_variant"] in ("feedback", "stale") and r.get("channel_uses") is not None:
                studies[(r["_variant"], r["_value"])].append(r)
        if studies:
            text = {"feedback": "{:g}-bit feedback", "stale": "feedback {:g} ms old"}
            lines += ["", f"SNR feedback errors (mean over the Eb/N0 points; deployed: {sc.phy.snr_feedback_bits}-bit, "
                      f"{sc.phy.snr_feedback_delay_ms:g} ms, accuracy "
                      f"{sum(deployed[e]['accuracy'] for e in points) / len(points):.3f} with {adaptive_uses:.1f} "
                      "channel uses): "
                      + "; ".join(f"{text[k].format(v)}: accuracy {sum(r['accuracy'] for r in g) / len(g):.3f}, "
                                  f"{sum(r['channel_uses'] for r in g) / len(g):.1f} channel uses"
                                  for (k, v), g in sorted(studies.items())) + "."]
    study = [r for r in run.csv(ADAPTATION_CSV) if r["scheme"] == scheme]
    cells = {(r["fed_ebno_db"], r["ebno_db"]): r for r in study if r["study"] == "mismatch"}
    if cells:
        true = sorted({b for _, b in cells})
        fed = sorted({a for a, _ in cells})
        lines += ["", "Mismatch matrix (`adaptation.csv`): accuracy / mean channel uses when told the SNR of the row's "
                  "Eb/N0 while the channel is at the column's; in brackets the paired difference to the matched "
                  f"cell in points (exact McNemar p < 0.05 marked *), {study[0]['samples']} samples per cell.", "",
                  "| told \\ true | " + " | ".join(f"{b:g} dB" for b in true) + " |", "|---|" + "---:|" * len(true)]
        for a in fed:
            out = []
            for b in true:
                r = cells.get((a, b))
                if r is None:
                    out.append("-")
                    continue
                text = f"{r['accuracy']:.3f} / {r['channel_uses']:.1f}"
                if a != b:
                    text += f" ({_pct(r['difference'])}{'*' if r['p_value'] < 0.05 else ''})"
                out.append(text)
            lines.append(f"| {a:g} dB | " + " | ".join(out) + " |")
    shuffle = [r for r in study if r["study"] == "shuffle"]
    if shuffle:
        lines += ["", f"Shuffle test: the SNRs the transmitters learned, permuted across each batch, against the same "
                  f"SNRs in place (paired, {level} interval, points): "
                  + "; ".join(f"{r['ebno_db']:g} dB {_pct(r['difference'])} [{_pct(r['diff_low'])}, "
                              f"{_pct(r['diff_high'])}], p = {r['p_value']:.2g}" for r in shuffle) + "."]
    gate = [r for r in study if r["study"] == "gate"]
    if gate:
        lines += ["", "The adaptive module's activity (participation ratio of the sent power over the sent real "
                  "features): " + "; ".join(f"{r['ebno_db']:g} dB: {r['active_features']:.1f} of "
                                            f"{2 * r['channel_uses']:.0f}" for r in gate) + "."]
    return lines
