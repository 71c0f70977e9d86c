"""Whether two run directories hold the same measured rows: ``results.csv`` (accuracy, counts, intervals,
Es/N0, N0, channel uses, model ids: every column but the run time), ``adaptation.csv``, and a search's
``pareto.csv`` (every column but the times). Prints one line per file and the first differences; exit
code 1 if any file differs, 2 on bad input.

    python scripts/same_rows.py RUN_DIR_A RUN_DIR_B
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

IGNORED = {"runtime_s", "search_seconds", "retrain_seconds"}
"""Columns that are wall-clock times, not measurements."""

FILES = ("results.csv", "adaptation.csv", "pareto.csv")


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return [{k: v for k, v in row.items() if k not in IGNORED} for row in csv.DictReader(f)]


def compare_files(a: Path, b: Path) -> list[str]:
    """The differences between two CSV files, as lines (empty: the same rows in the same order)."""
    rows_a, rows_b = _rows(a), _rows(b)
    if len(rows_a) != len(rows_b):
        return [f"{len(rows_a)} rows vs {len(rows_b)}"]
    out = []
    for i, (x, y) in enumerate(zip(rows_a, rows_b), start=2):
        for column in sorted(set(x) | set(y)):
            if x.get(column) != y.get(column):
                out.append(f"line {i}, {column}: {x.get(column)!r} vs {y.get(column)!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    for run in (args.a, args.b):
        if not run.is_dir():
            print(f"same_rows: {run} is not a run directory", file=sys.stderr)
            return 2
    differ = False
    for name in FILES:
        a, b = args.a / name, args.b / name
        if not a.is_file() and not b.is_file():
            continue
        if a.is_file() != b.is_file():
            print(f"{name}: only in {a.parent if a.is_file() else b.parent}")
            differ = True
            continue
        diffs = compare_files(a, b)
        print(f"{name}: {'identical' if not diffs else f'{len(diffs)} differences'} ({len(_rows(a))} rows)")
        for line in diffs[:10]:
            print(f"  {line}")
        differ |= bool(diffs)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
