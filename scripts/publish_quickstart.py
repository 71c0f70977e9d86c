"""Copies a finished quickstart run into the docs and the README (nothing in the results is typed by hand).

    .venv/bin/python scripts/publish_quickstart.py [runs/quickstart]

Copies accuracy_vs_ebno.png to docs/figures/, results.csv and summary.md to docs/results/, and replaces
the README block between the quickstart-results markers with the run's summary tables.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from semcom_sim.io import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- quickstart-results:begin -->", "<!-- quickstart-results:end -->"


def main() -> None:
    run = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "runs" / "quickstart"
    for name in ("accuracy_vs_ebno.png", "results.csv", "summary.md"):
        if not (run / name).is_file():
            raise SystemExit(f"{run / name} is missing: run `semcom-sim run scenarios/quickstart.py --out {run}` first")
    (ROOT / "docs" / "figures").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "results").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "accuracy_vs_ebno.png", ROOT / "docs" / "figures" / "quickstart_accuracy_vs_ebno.png")
    shutil.copyfile(run / "results.csv", ROOT / "docs" / "results" / "quickstart_results.csv")
    summary = (run / "summary.md").read_text()
    shutil.copyfile(run / "summary.md", ROOT / "docs" / "results" / "quickstart_summary.md")
    body = summary.split("\n", 2)[2].strip()  # drop the "# name" title line
    readme = (ROOT / "README.md").read_text()
    start, stop = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    atomic_write_text(ROOT / "README.md", readme[:start] + "\n" + body + "\n" + readme[stop:])
    print("updated README.md, docs/figures/, docs/results/")


if __name__ == "__main__":
    main()
