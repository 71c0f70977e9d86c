"""One writer per run directory: a second holder is refused at once with the first one's PID, the lock dies with
its process (SIGKILL included), nested holders in one process are fine, and nothing is left behind when nothing
was written."""

import os
import signal
import subprocess
import sys
import time

import pytest

from semcom_sim.lock import LOCK_FILE, RunDirectoryInUse, run_lock

HOLD = """\
import sys, time
from semcom_sim.lock import run_lock
with run_lock(sys.argv[1], "semcom-sim run held.py"):
    (__import__("pathlib").Path(sys.argv[1]) / "results.csv").write_text("scheme\\n")
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_writer_is_refused_until_the_first_is_killed(tmp_path):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with pytest.raises(RunDirectoryInUse) as info:
            with run_lock(run_dir):
                pass
        assert time.monotonic() - start < 1.0  # at once, not after a wait
        message = str(info.value)
        assert len(message.splitlines()) == 1
        assert f"PID {holder.pid}" in message and "semcom-sim run held.py" in message and str(run_dir) in message
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert (run_dir / LOCK_FILE).exists()  # the file stays; its lock died with the process
    with run_lock(run_dir, "the next run") as held:
        assert held == run_dir.resolve()
        with run_lock(run_dir):  # nested in the same process
            pass
    assert "the next run" in (run_dir / LOCK_FILE).read_text()


def test_stale_temporaries_are_removed_and_an_unused_directory_is_not_left_behind(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    stale = run_dir / "checkpoints" / ".x.weights.h5.abc123.tmp.weights.h5"
    stale.write_bytes(b"half")
    with run_lock(run_dir):
        assert not stale.exists()
    untouched = tmp_path / "never-written"
    with run_lock(untouched):
        assert untouched.is_dir()
    assert not untouched.exists()
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        with run_lock(tmp_path / "a-file"):
            pass
