"""End-to-end tests of the ``semcom-sim`` command on the tiny synthetic scenario: the shared run as a subprocess
(``python -m``; the console script once), every other command through ``main`` in this process.

One complete ``run`` is shared by the module (a module-scoped fixture); tests that change a run
directory work on a copy of it. The whole module takes well under two minutes on a 2-core CPU.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "scenarios" / "tiny_synthetic.py"
SCHEMES = ("proposed", "no-adaptive")
EBNO = (0.0, 10.0)
HEADER_PREFIX = "scheme,channel,ebno_db,esno_db,accuracy,ci_low,ci_high,samples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SEMCOM_DEBUG", None)  # it turns one-line errors into tracebacks
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def cli(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs ``python -m semcom_sim.cli ARGS`` (what the ``semcom-sim`` console script calls)."""
    return subprocess.run([sys.executable, "-m", "semcom_sim.cli", *map(str, args)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _check_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                                  f"stderr:\n{proc.stderr[-3000:]}")


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _without_runtime(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "runtime_s"} for r in rows]


def _assert_one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, f"exit {proc.returncode}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line:\n{proc.stderr}"
    assert lines[0].startswith("semcom-sim: error: "), lines[0]
    return lines[0]


# -- one complete run, shared ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = cli("run", TINY, "--out", out, "--no-progress")
    _check_ok(proc)
    return proc, out


@pytest.fixture
def run_copy(full_run, tmp_path) -> Path:
    """A copy of the completed run directory that a test may change."""
    copy = tmp_path / "run"
    shutil.copytree(full_run[1], copy)
    return copy


def test_python_dash_m_works():
    proc = cli("--help", timeout=60)
    _check_ok(proc)
    for command in ("run", "train", "sweep", "plot"):
        assert command in proc.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("semcom-sim")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    proc = subprocess.run([str(script), "run", ROOT / "no-such-scenario.py"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert "no such file" in _assert_one_line_error(proc)


def test_run_writes_all_outputs(full_run):
    proc, out = full_run
    assert (out / "results.csv").is_file()
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith(HEADER_PREFIX)
    assert (out / "accuracy_vs_ebno.png").read_bytes()[:8] == PNG_SIGNATURE
    scenario = json.loads((out / "scenario.json").read_text())
    assert scenario["name"] == "tiny-synthetic"
    assert scenario["sweep"]["schemes"] == list(SCHEMES)
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# tiny-synthetic")
    for scheme in SCHEMES:
        assert scheme in summary
        weights = list((out / "checkpoints").glob(f"{scheme}-*.weights.h5"))
        assert len(weights) == 1, weights
        assert weights[0].stat().st_size > 0
        assert weights[0].with_name(weights[0].name.replace(".weights.h5", ".json")).is_file()
        assert f"[{scheme}] saved checkpoint" in proc.stdout
    assert f"outputs in {out}" in proc.stdout
    assert not list(out.rglob("*.tmp*")), "temporary files left behind"


def test_tensorboard_events_hold_every_loss_term_of_every_epoch(full_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    _, out = full_run
    for scheme in SCHEMES:
        (meta,) = (out / "checkpoints").glob(f"{scheme}-*.json")
        history = json.loads(meta.read_text())["history"]
        logdir = out / "tensorboard" / meta.stem / "joint"
        events = EventAccumulator(str(logdir), size_guidance={"tensors": 0})
        events.Reload()
        terms = [k for k in history[0] if k not in ("epoch", "stage", "seconds")]
        assert {"loss", "ce", "kl", "train_accuracy"} <= set(terms)
        assert set(terms) | {"learning_rate"} == set(events.Tags()["tensors"])
        for term in terms:
            logged = [(e.step, float(make_ndarray(e.tensor_proto))) for e in events.Tensors(term)]
            assert logged == [(r["epoch"], pytest.approx(r[term], rel=1e-6)) for r in history], term
        rates = [float(make_ndarray(e.tensor_proto)) for e in events.Tensors("learning_rate")]
        assert rates == sorted(rates, reverse=True) and rates[-1] < rates[0]  # the cosine decay
    assert (out / "training_curves.png").read_bytes()[:8] == PNG_SIGNATURE


def test_results_rows_are_consistent(full_run):
    _, out = full_run
    _, rows = _read_csv(out / "results.csv")
    assert sorted((r["scheme"], float(r["ebno_db"])) for r in rows) == sorted(
        (s, e) for s in SCHEMES for e in EBNO)
    offsets = []
    for r in rows:
        assert r["channel"] == "TDL-A"
        accuracy, low, high = float(r["accuracy"]), float(r["ci_low"]), float(r["ci_high"])
        assert 0.0 <= low <= accuracy <= high <= 1.0, r
        frames, correct = int(r["samples"]), int(r["correct"])
        assert 256 <= frames <= 512 + 128 and accuracy == pytest.approx(correct / frames)
        assert r["stop"] in ("ci", "max_samples")
        offsets.append(float(r["esno_db"]) - float(r["ebno_db"]))
    assert max(offsets) - min(offsets) < 1e-4, offsets


def test_tiny_run_learns_the_task_through_the_channel(full_run):
    # 10 synthetic classes: chance is 0.1. Trained through TDL-A with LS CSI, both schemes must be
    # far above chance at 10 dB, and better at 10 dB than at 0 dB (or equal within the intervals).
    _, out = full_run
    _, rows = _read_csv(out / "results.csv")
    by_key = {(r["scheme"], float(r["ebno_db"])): r for r in rows}
    for scheme in SCHEMES:
        top, bottom = by_key[(scheme, max(EBNO))], by_key[(scheme, min(EBNO))]
        assert float(top["ci_low"]) > 0.5, top
        assert float(top["ci_high"]) >= float(bottom["ci_low"]), (top, bottom)


def test_second_run_reuses_checkpoints_and_resumes(full_run, run_copy, semcom_sim_main):
    weights = {p: p.stat().st_mtime_ns for p in (run_copy / "checkpoints").glob("*.weights.h5")}
    proc = semcom_sim_main("run", TINY, "--out", run_copy, "--no-progress")
    _check_ok(proc)
    assert proc.stdout.count("reusing checkpoint") == len(SCHEMES)
    assert "saved checkpoint" not in proc.stdout and "epoch 1/" not in proc.stdout
    assert len([line for line in proc.stdout.splitlines() if "resumed" in line]) == len(SCHEMES) * len(EBNO)
    assert "reached" not in proc.stdout  # no point was computed again
    assert {p: p.stat().st_mtime_ns for p in (run_copy / "checkpoints").glob("*.weights.h5")} == weights
    header, rows = _read_csv(run_copy / "results.csv")
    full_header, full_rows = _read_csv(full_run[1] / "results.csv")
    assert header == full_header
    assert _without_runtime(rows) == _without_runtime(full_rows)


def test_sweep_resumes_after_interruption(full_run, run_copy, semcom_sim_main):
    results = run_copy / "results.csv"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:2]))  # the header and the first finished point
    proc = semcom_sim_main("sweep", TINY, "--out", run_copy, "--no-progress")
    _check_ok(proc)
    assert len([line for line in proc.stdout.splitlines() if "resumed" in line]) == 1
    computed = [line for line in proc.stdout.splitlines() if "reached" in line]
    assert len(computed) == len(SCHEMES) * len(EBNO) - 1
    header, rows = _read_csv(results)
    full_header, full_rows = _read_csv(full_run[1] / "results.csv")
    assert header == full_header
    assert _without_runtime(rows) == _without_runtime(full_rows)
    assert (run_copy / "accuracy_vs_ebno.png").read_bytes()[:8] == PNG_SIGNATURE


def test_set_overrides_are_honoured(tmp_path, semcom_sim_main):
    out = tmp_path / "override"
    proc = semcom_sim_main("run", TINY, "--set", "training.epochs=1", "--set", "sweep.ebno_db=[5.0]", "--set",
                           "training.jit_compile=false", "--set", "data.num_train=256", "--set",
                           "sweep.max_samples=256", "--out", out, "--no-progress")  # the shared run compiles with XLA
    _check_ok(proc)
    _, rows = _read_csv(out / "results.csv")
    assert sorted((r["scheme"], float(r["ebno_db"])) for r in rows) == sorted((s, 5.0) for s in SCHEMES)
    scenario = json.loads((out / "scenario.json").read_text())
    assert scenario["training"]["epochs"] == 1 and scenario["sweep"]["ebno_db"] == [5.0]
    assert scenario["training"]["jit_compile"] is False
    assert scenario["data"]["num_train"] == 256 and all(int(r["samples"]) == 256 for r in rows)
    for scheme in SCHEMES:
        assert f"[{scheme}] epoch 1/1" in proc.stdout
        (meta,) = (out / "checkpoints").glob(f"{scheme}-*.json")
        assert len(json.loads(meta.read_text())["history"]) == 1
    assert "epoch 2/" not in proc.stdout


def test_plot_command(full_run, tmp_path, semcom_sim_main):
    png = tmp_path / "esno.png"
    proc = semcom_sim_main("plot", full_run[1], "--out", png, "--x", "esno_db")
    _check_ok(proc)
    assert png.read_bytes()[:8] == PNG_SIGNATURE


# -- bad input: exit 2, one line on stderr, no traceback ----------------------------------------------

@pytest.mark.parametrize("args, expect", [
    pytest.param(["run", ROOT / "scenarios" / "no_such_scenario.py"], "no such file", id="missing-file"),
    pytest.param(["run", TINY, "--set", "phy.channel=TDL-Z"], "phy.channel: 'TDL-Z' is not one of "
                 "AWGN, Rayleigh, TDL-A..E, CDL-A..E", id="unknown-channel"),
    pytest.param(["train", TINY, "--set", "nope=1"], "nope", id="unknown-section"),
    pytest.param(["run", TINY, "--set", "training.batch_size=-3"], "training.batch_size:",
                 id="negative-batch"),
    pytest.param(["sweep", TINY, "--set", "training.epochs"], "--set", id="set-without-value"),
    pytest.param(["plot", ROOT / "no_such_results.csv"], "no such file", id="plot-missing-file"),
    pytest.param(["frobnicate"], "invalid choice", id="unknown-command"),
    pytest.param([], "required", id="no-command"),
])
def test_bad_input(args, expect, tmp_path, semcom_sim_main):
    if args and args[0] in ("run", "train", "sweep"):
        args = [*args, "--out", tmp_path / "out", "--no-progress"]
    line = _assert_one_line_error(semcom_sim_main(*args))
    assert expect in line
    assert not (tmp_path / "out" / "results.csv").exists()


def test_scenario_file_with_a_syntax_error(tmp_path, semcom_sim_main):
    bad = tmp_path / "broken.py"
    bad.write_text("from semcom_sim import Scenario\nscenario = Scenario(name='broken'\n")
    line = _assert_one_line_error(semcom_sim_main("run", bad, "--out", tmp_path / "out", "--no-progress"))
    assert "SyntaxError" in line and str(bad) in line


def test_sweep_before_training_says_how_to_train_in_one_line(tmp_path, semcom_sim_main):
    out = tmp_path / "out"
    proc = semcom_sim_main("sweep", TINY, "--out", out, "--no-progress")
    line = _assert_one_line_error(proc)
    assert "semcom-sim train" in line
    assert not (out / "results.csv").exists()
