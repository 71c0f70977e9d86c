"""Fills the README's comparison section from finished `semcom-sim compare` runs (nothing typed by hand).

    python -m scripts.publish_compare

For each run directory of RUNS (the shipped compare scenarios write straight into docs/results/), takes
the figures, the command, date, machine, commit and run time from run.json, and the tables from
summary.md, and replaces the README block between the compare-results markers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semcom_sim.io import atomic_write_text
from semcom_sim.results import FIGURES, RUN_JSON, SUMMARY_MD

ROOT = Path(__file__).resolve().parents[1]

BEGIN, END = "<!-- compare-results:begin -->", "<!-- compare-results:end -->"
RUNS = (("Fashion-MNIST (image task, EfficientNet-Lite0 teacher)", "docs/results/compare_fashion_mnist"),
        ("WordNet nouns (text task, all-MiniLM-L6-v2 teacher)", "docs/results/compare_wordnet"))
CAPTIONS = {"grid": "Accuracy vs Eb/N0 of every scheme under each channel and CSI condition (95 % Wilson bands)",
            "robustness": "Robustness of the proposed scheme to SNR-feedback resolution and staleness",
            "fraction": "Accuracy vs training-data fraction at equal optimizer steps (proposed vs no-KD)",
            "distillation": "Validation accuracy vs cumulative training time (cached vs online KD and the rest)",
            "cost": "Parameters, FLOPs per sample and batch-1 latency: transceivers vs teacher",
            "length": "adaptive-length: accuracy and channel uses of the length policy vs every fixed length, and "
                      "the policy L*(q)",
            "mismatch": "adaptive-length told the SNR of one Eb/N0 while the channel is at another (paired)"}
SECTIONS = ("Where each scheme wins and loses", "Channel adaptation", "Model size, computation and latency",
            "Distillation cost", "Training-data fraction (equal optimizer steps)")
"""The summary.md sections copied, in this order (a section whose heading starts with one of these)."""


def sections(summary: str) -> dict[str, str]:
    out, title, lines = {}, None, []
    for line in summary.splitlines():
        if line.startswith("## "):
            if title:
                out[title] = "\n".join(lines).strip()
            title, lines = line[3:].strip(), []
        elif title:
            lines.append(line)
    if title:
        out[title] = "\n".join(lines).strip()
    return out


def block(title: str, run_dir: str) -> str:
    run = ROOT / run_dir
    if not (run / SUMMARY_MD).is_file() or not (run / RUN_JSON).is_file():
        raise SystemExit(f"{run} has no summary.md/run.json: run the compare command of its scenario first")
    runs = json.loads((run / RUN_JSON).read_text())["invocations"]
    first = runs[0]
    provenance = "; ".join(f"`{r['command']}` on {r['date']}, {r['machine']}, commit {r['commit']}, "
                           f"{r.get('timings_s', {}).get('total_s', float('nan')) / 60:.0f} min" for r in runs)
    if len(runs) > 1:
        provenance += " (a later invocation reuses the checkpoints and sweep points of the earlier ones)"
    parts = sections((run / SUMMARY_MD).read_text())
    out = [f"### {title}", "", f"Every figure and table below comes from {provenance}; the full tables are in "
           f"[`{run_dir}/summary.md`]({run_dir}/summary.md) and the rows in `{run_dir}/results.csv`.", ""]
    for name, file in FIGURES.items():
        if (run / file).is_file():
            out += [f"![{CAPTIONS[name]}]({run_dir}/{file})", "", f"*{CAPTIONS[name]}.* Command: `{first['command']}`",
                    ""]
    for prefix in SECTIONS:
        for heading in [h for h in parts if h.startswith(prefix)]:
            out += [f"#### {heading}", "", parts[heading], ""]
    return "\n".join(out)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    text = "\n".join(block(title, run) for title, run in RUNS if (ROOT / run / RUN_JSON).is_file())
    if not text:
        raise SystemExit("no finished comparison under docs/results/: run the compare scenarios first")
    readme = (ROOT / "README.md").read_text()
    start, stop = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    atomic_write_text(ROOT / "README.md", readme[:start] + "\n" + text + "\n" + readme[stop:])
    print("updated the comparison section of README.md")


if __name__ == "__main__":
    main()
