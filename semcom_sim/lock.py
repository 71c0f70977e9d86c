"""One writer per run directory: an operating-system lock on ``RUN_DIR/.lock`` for as long as a command runs.

The lock is ``flock``'s exclusive lock on the file (POSIX): the kernel drops it when the holding process ends,
however it ends (a SIGKILL included), so a killed run never leaves a stale lock behind; the file itself stays and
only says who held it last (host, PID, command). A second process that targets a directory in use fails at once
with one line naming the holder. The tasks of a distributed run (Ray) never take it: the command that started
them holds it for them. Within one process the lock is re-entrant.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from semcom_sim.errors import InputError

__all__ = ["LOCK_FILE", "RunDirectoryInUse", "run_lock"]

LOCK_FILE = ".lock"
_held: dict[Path, int] = {}  # run directory -> depth of nested run_lock blocks in this process


class RunDirectoryInUse(InputError):
    """Another process holds the run directory's lock (one line: the holder's host, PID and command)."""


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    return f"PID {info.get('pid')} on {info.get('host')} ({info.get('command')})"


def _remove_stale_temporaries(run_dir: Path) -> None:
    """Deletes the temporary files of atomic writes that a killed process left (``.NAME.XXXX.tmp...``): with the
    lock held, no other writer is active in the directory."""
    for path in run_dir.rglob(".*.tmp*"):
        if path.is_file():
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(run_dir: str | Path, command: str | None = None) -> Iterator[Path]:
    """Holds ``run_dir``'s lock for the block (creating the directory, and removing it again if the block wrote
    nothing into it); raises :class:`RunDirectoryInUse` at once if another process holds it. ``command``
    (default: this process's command line) is recorded for the next process that finds the directory in use."""
    run_dir = Path(run_dir).resolve()
    if run_dir in _held:
        _held[run_dir] += 1
        try:
            yield run_dir
        finally:
            _held[run_dir] -= 1
        return
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"--out: {run_dir} exists and is not a directory")
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirectoryInUse(f"{run_dir} is in use by {_holder(fd)}; wait for it to finish or stop it "
                                    "(a stopped run resumes when its command is run again)") from None
        os.ftruncate(fd, 0)
        info = {"host": socket.gethostname(), "pid": os.getpid(),
                "command": command or " ".join(shlex.quote(w) for w in ["semcom-sim", *sys.argv[1:]])}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _remove_stale_temporaries(run_dir)
        _held[run_dir] = 1
        try:
            yield run_dir
        finally:
            del _held[run_dir]
            if created and [p.name for p in run_dir.iterdir()] == [LOCK_FILE]:  # nothing was written: leave nothing
                (run_dir / LOCK_FILE).unlink()
                run_dir.rmdir()
    finally:
        os.close(fd)  # closing the descriptor releases the lock
