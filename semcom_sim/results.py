"""The run directory: its file names, the CSV schemas, typed readers and writers, model ids and provenance.

One module owns what a run leaves on disk, whatever command wrote it (``run``, ``sweep``, ``compare``):

| file | written by | schema |
|---|---|---|
| ``results.csv`` | every sweep, point by point (:class:`ResultsStore`) | :data:`RESULT_COLUMNS` |
| ``cost.csv`` | ``compare`` | :data:`COST_COLUMNS` |
| ``distillation.csv`` | ``compare`` | :data:`DISTILLATION_COLUMNS` |
| ``scenario.json`` | every command | the resolved scenario (``Scenario.to_json``) |
| ``summary.md``, ``run.json`` | ``run`` / ``compare`` | markdown; invocations with date, machine, commit |
| figures | ``run`` (:data:`PLOT_PNG`) / ``compare`` (:data:`FIGURES`) | PNG |
| ``checkpoints/`` | training | ``{scheme}-{fingerprint}.weights.h5`` + ``.json`` |

Every file is written atomically (temp file, then rename). A malformed CSV raises
:class:`~semcom_sim.errors.ResultsFileError` with one line naming the file, the line and the problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from semcom_sim.errors import ResultsFileError
from semcom_sim.io import atomic_write_text

__all__ = ["RESULTS_CSV", "PLOT_PNG", "SCENARIO_JSON", "SUMMARY_MD", "COST_CSV", "DISTILLATION_CSV", "RUN_JSON",
           "FIGURES", "CHECKPOINTS_DIR", "RESULT_COLUMNS", "REQUIRED_COLUMNS", "COST_COLUMNS", "DISTILLATION_COLUMNS",
           "ResultsStore", "point_key", "read_results", "read_cost", "read_distillation", "parse_typed_csv",
           "read_typed_csv", "write_csv", "model_id", "git_commit", "machine"]

RESULTS_CSV = "results.csv"
PLOT_PNG = "accuracy_vs_ebno.png"
SCENARIO_JSON = "scenario.json"
SUMMARY_MD = "summary.md"
COST_CSV = "cost.csv"
DISTILLATION_CSV = "distillation.csv"
RUN_JSON = "run.json"
CHECKPOINTS_DIR = "checkpoints"
FIGURES = {"grid": "accuracy_grid.png", "robustness": "robustness.png", "fraction": "data_fraction.png",
           "distillation": "distillation_time.png", "cost": "cost.png"}
"""The figures of a comparison, by what they show."""

RESULT_COLUMNS = ("scheme", "channel", "ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "frames",
                  "correct", "no", "stop", "runtime_s", "model_id", "csi", "condition")
"""Columns of the results CSV, in file order. The first eight are required when reading a file.
``condition`` names the test condition of a row (``"TDL-A/ls"``, or a variant of it such as
``"TDL-A/ls/feedback-2bit"``); rows are keyed by ``(scheme, channel, condition, ebno_db)``."""

REQUIRED_COLUMNS = RESULT_COLUMNS[:8]
_FLOAT_COLUMNS = frozenset({"ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "no", "runtime_s"})
_INT_COLUMNS = frozenset({"frames", "correct"})
_STR_COLUMNS = frozenset({"scheme", "channel", "stop", "model_id", "csi", "condition"})
COST_COLUMNS = ("scheme", "component", "parameters", "bytes", "flops_per_sample", "latency_ms", "latency_p90_ms",
                "device")
"""Columns of ``cost.csv``; ``scheme`` and ``component`` are required."""

DISTILLATION_COLUMNS = ("scheme", "distillation", "epoch", "wall_s", "val_accuracy", "target_accuracy",
                        "target_ebno_db")
"""Columns of ``distillation.csv``; all but ``target_accuracy`` and ``target_ebno_db`` are required."""

_COST_TYPES = {"scheme": str, "component": str, "parameters": int, "bytes": int, "flops_per_sample": float,
               "latency_ms": float, "latency_p90_ms": float, "device": str}
_DISTILLATION_TYPES = {"scheme": str, "distillation": str, "epoch": int, "wall_s": float, "val_accuracy": float,
                       "target_accuracy": float, "target_ebno_db": float}

_COMPLETED_STOPS = ("ci", "max_frames")

# -- the results file (results.csv) ------------------------------------------------------------------------------

def point_key(scheme, channel, ebno_db, condition=None) -> tuple[str, str, str, float]:
    return str(scheme), str(channel), str(condition or ""), round(float(ebno_db), 9) + 0.0


def _row_key(row: dict) -> tuple[str, str, str, float]:
    return point_key(row["scheme"], row["channel"], row["ebno_db"], row.get("condition"))


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise
        return int(value)


def parse_typed_csv(text: str, where: str, types: dict[str, type], required: Sequence[str],
                    what: str) -> list[dict]:
    """Rows of a CSV text as dicts typed by ``types`` (column -> ``str``, ``int`` or ``float``).

    Columns of ``types`` that are absent or empty read as ``None`` (an error for ``required`` ones);
    columns it does not name are kept as text. A malformed text raises ``ValueError`` with one line
    naming ``where``, the line and the problem (``what`` names the kind of file).
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
        if header is None:  # an empty file
            return []
        missing = [c for c in required if c not in header]
        if missing:
            raise ResultsFileError(f"{where}: not a {what} file: missing column(s) {', '.join(missing)} "
                             f"(expected header {','.join(types)})")
        dupes = sorted({c for c in header if header.count(c) > 1})
        if dupes:
            raise ResultsFileError(f"{where}: repeated column(s) {', '.join(dupes)} in the header")
        rows: list[dict] = []
        for raw in reader:
            line = reader.line_num
            if None in raw:
                raise ResultsFileError(f"{where}: line {line}: more fields than the {len(header)} columns "
                                 "of the header")
            if any(v is None for v in raw.values()):
                raise ResultsFileError(f"{where}: line {line}: fewer fields than the {len(header)} columns "
                                 "of the header")
            row: dict = {}
            for col, kind in types.items():
                value = raw.get(col)
                if value is None or value.strip() == "":
                    if col in required:
                        raise ResultsFileError(f"{where}: line {line}: column {col!r} is empty")
                    row[col] = None
                    continue
                value = value.strip()
                try:
                    row[col] = _parse_int(value) if kind is int else kind(value)
                except ValueError:
                    expected = "an integer" if kind is int else "a number"
                    raise ResultsFileError(f"{where}: line {line}: column {col!r} is {value!r}, "
                                     f"expected {expected}") from None
            for col in header:  # columns this version does not know: kept as text
                if col not in row:
                    row[col] = raw[col]
            rows.append(row)
    except csv.Error as exc:
        raise ResultsFileError(f"{where}: line {reader.line_num}: malformed CSV: {exc}") from None
    return rows


_RESULT_TYPES = {c: float if c in _FLOAT_COLUMNS else int if c in _INT_COLUMNS else str for c in RESULT_COLUMNS}


def read_typed_csv(path: str | Path, types: dict[str, type], required: Sequence[str], what: str) -> list[dict]:
    """:func:`parse_typed_csv` of a file: a missing one raises ``FileNotFoundError``, one that is not
    UTF-8 text ``ValueError``, each with one line naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such {what} file") from None
    except UnicodeDecodeError:
        raise ResultsFileError(f"{path}: not a {what} file: not UTF-8 text") from None
    return parse_typed_csv(text, str(path), types, required, what)


def read_results(path: str | Path) -> list[dict]:
    """Reads a results CSV into a list of dicts with typed values.

    Floats for ``ebno_db, esno_db, accuracy, ci_low, ci_high, no, runtime_s``; ints for ``frames``
    and ``correct``; strings for ``scheme, channel, stop, model_id, csi, condition``. Optional
    columns that are absent or empty read as ``None``. A malformed file raises ``ValueError`` with one line naming
    the file and the problem.
    """
    return read_typed_csv(path, _RESULT_TYPES, REQUIRED_COLUMNS, "results")


def _format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    if hasattr(value, "item"):  # numpy scalars
        return _format_value(value.item())
    return str(value)


class ResultsStore:
    """The CSV file of sweep rows, one per ``(scheme, channel, condition, ebno_db)``, rewritten atomically
    on every put.

    Loads the existing rows if ``path`` exists (a malformed file raises ``ValueError`` naming the file
    and the problem). Rows are kept sorted by ``(scheme, channel, condition, ebno_db)``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: list[dict] = []
        if self.path.exists():
            if self.path.is_dir():
                raise ResultsFileError(f"{self.path}: is a directory, not a results file")
            rows = read_results(self.path)
            seen: dict[tuple, int] = {}
            for i, row in enumerate(rows):
                key = _row_key(row)
                if key in seen:
                    where = f"{key[1]}" + (f" ({key[2]})" if key[2] else "")
                    raise ResultsFileError(f"{self.path}: line {i + 2}: repeats the point {key[0]}, {where}, "
                                     f"Eb/N0 {key[3]:g} dB of line {seen[key] + 2}")
                seen[key] = i
            self.rows = sorted(rows, key=_row_key)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r}, {len(self.rows)} rows)"

    def lookup(self, scheme: str, channel: str, ebno_db: float, model_id: str,
               condition: str | None = None) -> dict | None:
        """A copy of the completed row of this point computed with this ``model_id``, else ``None``."""
        key = point_key(scheme, channel, ebno_db, condition)
        for row in self.rows:
            if (_row_key(row) == key and row.get("stop") in _COMPLETED_STOPS
                    and str(row.get("model_id") or "") == str(model_id)):
                return dict(row)
        return None

    def put(self, row: dict) -> None:
        """Replaces the row with the same ``(scheme, channel, condition, ebno_db)``, else appends; writes the file."""
        missing = [c for c in REQUIRED_COLUMNS if row.get(c) is None]
        if missing:
            raise ValueError(f"results row lacks column(s) {', '.join(missing)}: {row!r}")
        row = {**{c: None for c in RESULT_COLUMNS}, **row}
        key = _row_key(row)
        self.rows = [r for r in self.rows if _row_key(r) != key] + [row]
        self.rows.sort(key=_row_key)
        self._write()

    def _write(self) -> None:
        extra = sorted({c for r in self.rows for c in r} - set(RESULT_COLUMNS))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(RESULT_COLUMNS + tuple(extra))
        for r in self.rows:
            writer.writerow([_format_value(r.get(c)) for c in RESULT_COLUMNS + tuple(extra)])
        atomic_write_text(self.path, buf.getvalue())


# -- cost.csv and distillation.csv -----------------------------------------------------------------

def read_cost(path: str | Path) -> list[dict]:
    """Reads ``cost.csv``: one dict per (scheme, component), in file order.

    Types: ``scheme``, ``component``, ``device``: str; ``parameters``, ``bytes``: int;
    ``flops_per_sample``, ``latency_ms``, ``latency_p90_ms``: float. Empty or absent optional
    columns read as ``None``; unknown columns are kept as text. A malformed file raises
    ``ValueError`` naming the file and line; a missing one ``FileNotFoundError``.
    """
    return read_typed_csv(path, _COST_TYPES, ("scheme", "component"), "cost")


def read_distillation(path: str | Path) -> list[dict]:
    """Reads ``distillation.csv``: one dict per (scheme, epoch), in file order.

    Types: ``scheme``, ``distillation`` (``none | cached | online``): str; ``epoch``: int;
    ``wall_s`` (cumulative training seconds at the end of the epoch), ``val_accuracy``,
    ``target_accuracy``, ``target_ebno_db``: float (the last two ``None`` when empty). Unknown
    columns are kept as text. A malformed file raises ``ValueError`` naming the file and line.
    """
    return read_typed_csv(path, _DISTILLATION_TYPES, ("scheme", "distillation", "epoch", "wall_s", "val_accuracy"),
                           "distillation")


def write_csv(path: str | Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """Writes ``rows`` (dicts; keys beyond ``columns`` ignored) as a CSV with header ``columns``, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


# -- ids and provenance ----------------------------------------------------------------------------

def model_id(checkpoint, sweep) -> str:
    """Identifies a results row's origin: the checkpoint (its experiment and its weights, so a retrained
    model never reuses old rows) and the settings of the ``sweep`` section that shape a point (not the
    Eb/N0 grid nor the scheme list)."""
    settings = {k: v for k, v in asdict(sweep).items() if k not in ("ebno_db", "schemes")}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:6]
    return f"{checkpoint.fingerprint}-{checkpoint.weights_digest()[:6]}-{digest}"


def git_commit() -> str:
    """The short commit of this source tree, with ``+local changes`` if tracked files differ; ``unknown``
    outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=here)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, cwd=here).stdout.strip()
        return out.stdout.strip() + ("+local changes" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(device: str) -> str:
    """``"<host>, <device>"`` for a run's provenance (``device`` from :func:`semcom_sim.cost.device_name`)."""
    return f"{platform.node() or 'unknown host'}, {device}"
