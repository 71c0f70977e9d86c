"""Shared helpers of the benchmark scripts: machine description and appending to RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return f"{cpu}, {os.cpu_count()} cores, {'GPU ' + ', '.join(gpus) if gpus else 'CPU only'}, TF {tf.__version__}"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=RESULTS_MD.parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    """The command that runs this process, as typed from the repository root: ``python -m benchmarks.NAME ARGS``
    (under ``-m``, ``sys.argv[0]`` is the module's file; the module name comes from ``__main__.__spec__``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        name = spec.name
    else:
        path = Path(os.path.relpath(Path(sys.argv[0]).resolve(), RESULTS_MD.parent.parent))
        name = ".".join(path.with_suffix("").parts)
    return shlex.join(["python", "-m", name, *sys.argv[1:]])


def append_results(title: str, table: str, notes: str = "") -> None:
    """Appends a dated section with the command, machine and commit to benchmarks/RESULTS.md."""
    command = command_line()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"\n## {title}\n\n- command: `{command}`\n- date: {stamp}\n- machine: {machine()}\n"
            f"- commit: {commit()}\n\n{table}\n")
    if notes:
        text += f"\n{notes}\n"
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text("# Benchmark results\n\nAppended by the scripts in this directory; newest last.\n")
    with RESULTS_MD.open("a") as f:
        f.write(text)
