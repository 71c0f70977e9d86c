"""How long the test suite takes on this machine: the full run and the fast lane, exactly as README.md gives
their commands, each in a fresh clone of the current commit (no byte-code, no build outputs, no pytest cache;
the repository's ``.venv`` is linked in); printed and appended to benchmarks/RESULTS.md.

    python -m benchmarks.suite_time [--lanes full fast] [--no-append]

The wall time is that of the pytest process; the user and system CPU seconds are those of it and its children
(the xdist workers and the subprocesses the tests start), so their sum over the wall time says how busy the
cores were.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import append_results

ROOT = Path(__file__).resolve().parents[1]
PYTEST = re.compile(r"(\.venv/bin/python -m pytest[^`\n]*)")


def readme_commands(readme: str) -> dict[str, str]:
    """The test commands README.md gives: ``full`` (the first pytest command without a marker selection) and
    ``fast`` (the one that leaves the slow tests out)."""
    commands = [c.strip() for c in PYTEST.findall(readme)]
    full = next((c for c in commands if " -m " not in c.split("pytest", 1)[1]), None)
    fast = next((c for c in commands if "not slow" in c), None)
    if full is None or fast is None:
        raise SystemExit("benchmarks.suite_time: README.md gives no full and fast pytest command")
    return {"full": full, "fast": fast}


def clone(into: Path) -> Path:
    """A fresh clone of this repository's HEAD with the repository's ``.venv`` linked in."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(into)], check=True)
    (into / ".venv").symlink_to(ROOT / ".venv")
    return into


def run_lane(command: str, cwd: Path) -> dict:
    """Runs ``command`` in ``cwd``: wall seconds, CPU seconds of the process tree, the pytest summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(shlex.split(command) + ["-p", "no:cacheprovider"], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = next((line.strip("= ") for line in reversed(proc.stdout.splitlines())
                    if re.search(r"\d+ (passed|failed)", line)), "no summary")
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "summary": re.sub(r"\s*in [\d.]+s.*$", "", summary), "returncode": proc.returncode,
            "tail": proc.stdout[-3000:] + proc.stderr[-2000:]}


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", nargs="+", choices=("full", "fast"), default=["full", "fast"])
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args(argv)

    commands = readme_commands((ROOT / "README.md").read_text())
    lines = ["| lane | command | tests | wall | CPU (user + system) | cores busy |", "|---|---|---|---|---|---|"]
    failed = []
    with tempfile.TemporaryDirectory(prefix="suite-time-") as tmp:
        checkout = clone(Path(tmp) / "repo")
        for lane in args.lanes:
            print(f"[{lane}] {commands[lane]}", flush=True)
            result = run_lane(commands[lane], checkout)
            print(f"[{lane}] {result['summary']} in {_minutes(result['wall_s'])}", flush=True)
            if result["returncode"] != 0:
                failed.append(lane)
                print(result["tail"], file=sys.stderr)
            lines.append(f"| {lane} | `{commands[lane]}` | {result['summary']} | {_minutes(result['wall_s'])} | "
                         f"{result['cpu_s']:.0f} s | {result['cpu_s'] / result['wall_s']:.2f} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        append_results("Test suite time", table, "Each lane ran in a fresh clone of the commit, one after the other.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
