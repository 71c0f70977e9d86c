"""Copies a finished quickstart run into the docs and the README (nothing in the results is typed by hand).

    python -m scripts.publish_quickstart [RUN_DIR]

RUN_DIR is where ``semcom-sim run scenarios/quickstart.py`` wrote the run (default: ``runs/quickstart``).

Copies accuracy_vs_ebno.png to docs/figures/, results.csv and summary.md to docs/results/, and replaces
the README block between the quickstart-results markers with the run's summary tables.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from semcom_sim.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- quickstart-results:begin -->", "<!-- quickstart-results:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", nargs="?", type=Path, default=ROOT / "runs" / "quickstart",
                        help="run directory of the quickstart (default: runs/quickstart)")
    run = parser.parse_args().run_dir
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
