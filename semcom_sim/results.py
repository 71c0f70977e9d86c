"""The run directory: its file names, the CSV schemas, typed readers and writers, model ids and provenance.

One module owns what a run leaves on disk, whatever command wrote it (``run``, ``sweep``, ``compare``):

| file | written by | schema |
|---|---|---|
| ``results.csv`` | every sweep, point by point (:class:`ResultsStore`) | :data:`RESULT_COLUMNS` |
| ``cost.csv`` | ``compare`` | :data:`COST_COLUMNS` |
| ``distillation.csv`` | ``compare`` | :data:`DISTILLATION_COLUMNS` |
| ``scenario.json`` | every command | the resolved scenario (``Scenario.to_json``) |
| ``summary.md``, ``run.json`` | ``run`` / ``compare`` | markdown; invocations with date, machine, commit |
| ``plan.json`` | ``run`` / ``compare`` | every study's jobs (scheme, condition, variant, Eb/N0, model id, checkpoint) |
| figures | ``run`` (:data:`PLOT_PNG`) / ``compare`` (:data:`FIGURES`) | PNG |
| ``checkpoints/`` | training | ``{scheme}-{fingerprint}.weights.h5`` + ``.json`` |
| ``outcomes/`` | every sweep, beside each row | each sample's outcome in draw order (:func:`read_outcomes`) |

Every file is written atomically (temp file, then rename). A malformed CSV raises
:class:`~semcom_sim.errors.ResultsFileError` with one line naming the file, the line and the problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from semcom_sim.errors import ResultsFileError
from semcom_sim.io import atomic_path, atomic_write_text

__all__ = ["RESULTS_CSV", "PLOT_PNG", "SCENARIO_JSON", "SUMMARY_MD", "COST_CSV", "DISTILLATION_CSV", "RUN_JSON",
           "PLAN_JSON", "REFERENCE_SCHEME", "LABEL_CODE_SCHEME", "LABEL_SCHEMES",
           "FIGURES", "CHECKPOINTS_DIR", "TENSORBOARD_DIR",
           "RESULT_COLUMNS", "REQUIRED_COLUMNS", "COST_COLUMNS", "DISTILLATION_COLUMNS",
           "OUTCOMES_DIR", "ResultsStore", "point_key", "read_results", "read_outcomes", "outcomes_path",
           "write_outcomes", "read_cost", "read_distillation", "parse_typed_csv",
           "read_typed_csv", "write_csv", "model_id", "append_invocation", "git_commit", "machine"]

REFERENCE_SCHEME = "ideal-label"
"""The ``scheme`` of the finite-blocklength reference's rows: the decision of a scheme's student, on the device,
over an ideal code as long as the channel uses a sample occupies (:mod:`semcom_sim.limits`)."""

LABEL_CODE_SCHEME = "label-polar"
"""The ``scheme`` of the practical label baseline's rows: the same decision in one 5G polar codeword over those channel
uses (:mod:`semcom_sim.phy.label_code`)."""

LABEL_SCHEMES = {"ideal": REFERENCE_SCHEME, "polar": LABEL_CODE_SCHEME}
"""The label baselines by kind (what :class:`semcom_sim.evaluate.BatchSource` builds) and their rows' ``scheme``."""

RESULTS_CSV = "results.csv"
PLOT_PNG = "accuracy_vs_ebno.png"
SCENARIO_JSON = "scenario.json"
SUMMARY_MD = "summary.md"
COST_CSV = "cost.csv"
DISTILLATION_CSV = "distillation.csv"
RUN_JSON = "run.json"
PLAN_JSON = "plan.json"
ADAPTATION_CSV = "adaptation.csv"
CHECKPOINTS_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"
OUTCOMES_DIR = "outcomes"
FIGURES = {"grid": "accuracy_grid.png", "robustness": "robustness.png", "fraction": "data_fraction.png",
           "distillation": "distillation_time.png", "cost": "cost.png", "length": "length_adaptation.png",
           "mismatch": "snr_mismatch.png", "training": "training_curves.png", "gap": "limit_gap.png"}
"""The figures of a run directory, by what they show: ``training`` (the training curves) for every command that
trains, the others for a comparison (``gap``: with ``compare.limit_scheme`` and the teacher's test accuracy)."""

RESULT_COLUMNS = ("scheme", "channel", "ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "samples",
                  "correct", "no", "stop", "runtime_s", "model_id", "csi", "variant", "snr_feedback_bits",
                  "snr_feedback_delay_ms", "train_fraction", "channel_uses", "fixed_length", "training_seed", "ece",
                  "nll")
"""Columns of the results CSV, in file order. The first eight are required when reading a file.

A row is one point: a scheme's accuracy at one Eb/N0 under one test condition. The test condition is
in typed columns, never in a label: ``channel`` and ``csi``; ``variant`` says which study the row
belongs to (:data:`VARIANTS`), and ``snr_feedback_bits``, ``snr_feedback_delay_ms`` (the ``phy``
fields the model was evaluated with) and ``train_fraction`` (the ``training`` field it was trained
with) the value that study varies; ``fixed_length`` the length every sample sent in the ``length``
study (nested lengths, empty otherwise); ``training_seed`` the ``training.seed`` of a row of the
``seed`` study (empty otherwise: the scenario's own seed). ``channel_uses`` is the mean number of complex channel uses a
sample sent (``model.num_channel_uses`` unless nested lengths shorten it). ``ece`` and ``nll`` are the
calibration of the point's decisions: the expected calibration error over 15 equal-width confidence bins and
the mean negative log-likelihood of the labels in nats (:mod:`semcom_sim.calibration`; empty in files written
before they were measured). Rows are keyed by :func:`row_key`."""

VARIANTS = ("", "feedback", "stale", "fraction", "length", "seed")
"""``variant`` of a results row: ``""`` the plain evaluation (``run``, ``sweep``, the accuracy grid of
``compare``); ``"feedback"`` / ``"stale"`` the robustness studies (``phy.snr_feedback_bits`` /
``phy.snr_feedback_delay_ms`` patched at test time); ``"fraction"`` the data-requirement study
(``training.train_fraction`` patched); ``"length"`` the SNR-blind reference of nested lengths
(``model.fixed_length`` patched at test time); ``"seed"`` the spread across trainings (``training.seed``
patched: ``sweep.seeds`` / ``compare.seeds``)."""

RENAMED_COLUMNS = {"frames": "samples", "condition": "variant, snr_feedback_bits, snr_feedback_delay_ms, "
                                                     "train_fraction"}
"""Columns of results files written before the typed schema, and what replaced them."""

REQUIRED_COLUMNS = RESULT_COLUMNS[:8]
_FLOAT_COLUMNS = frozenset({"ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "no", "runtime_s",
                            "snr_feedback_delay_ms", "train_fraction", "channel_uses", "ece", "nll"})
_INT_COLUMNS = frozenset({"samples", "correct", "snr_feedback_bits", "fixed_length", "training_seed"})
_STR_COLUMNS = frozenset({"scheme", "channel", "stop", "model_id", "csi", "variant"})
COST_COLUMNS = ("scheme", "component", "parameters", "bytes", "flops_per_sample", "latency_ms", "latency_p90_ms",
                "device")
"""Columns of ``cost.csv``; ``scheme`` and ``component`` are required."""

DISTILLATION_COLUMNS = ("scheme", "distillation", "epoch", "wall_s", "val_accuracy", "target_accuracy",
                        "target_ebno_db")
"""Columns of ``distillation.csv``; all but ``target_accuracy`` and ``target_ebno_db`` are required."""

ADAPTATION_COLUMNS = ("scheme", "study", "ebno_db", "fed_ebno_db", "fed_snr_db", "samples", "correct", "accuracy",
                      "ci_low", "ci_high", "channel_uses", "reference", "difference", "diff_low", "diff_high",
                      "p_value", "better", "worse", "active_features")
"""Columns of ``adaptation.csv`` (nested lengths: what the transmitter does with the SNR; see
:mod:`semcom_sim.adaptation`). ``study``: ``mismatch`` (the transmitter told the SNR of ``fed_ebno_db``
while the channel is at ``ebno_db``), ``deployed`` (told what it learned by sounding), ``shuffle`` (those
learned SNRs permuted across the batch) or ``gate`` (the adaptive module's activity). ``reference``
names the row a paired difference is taken against (``matched``: the same column's cell with
``fed_ebno_db == ebno_db``; ``deployed``); ``difference``, ``diff_low``, ``diff_high``, ``p_value``
(exact McNemar), ``better``, ``worse`` (discordant samples) are that paired comparison."""

_ADAPTATION_TYPES = {c: (str if c in ("scheme", "study", "reference") else
                         int if c in ("samples", "correct", "better", "worse") else float)
                     for c in ADAPTATION_COLUMNS}

_COST_TYPES = {"scheme": str, "component": str, "parameters": int, "bytes": int, "flops_per_sample": float,
               "latency_ms": float, "latency_p90_ms": float, "device": str}
_DISTILLATION_TYPES = {"scheme": str, "distillation": str, "epoch": int, "wall_s": float, "val_accuracy": float,
                       "target_accuracy": float, "target_ebno_db": float}

_COMPLETED_STOPS = ("ci", "max_samples")

# -- the results file (results.csv) ------------------------------------------------------------------------------

def _opt_float(value) -> float | None:
    return None if value is None or value == "" else round(float(value), 9) + 0.0


def _opt_int(value) -> int:
    return -1 if value is None or value == "" else int(value)


def point_key(scheme, channel, ebno_db, *, csi=None, variant="", snr_feedback_bits=None,
              snr_feedback_delay_ms=None, train_fraction=None, fixed_length=None, training_seed=None) -> tuple:
    """The identity of a results row: scheme, channel and test condition (the typed columns), Eb/N0."""
    return (str(scheme), str(channel), str(csi or ""), str(variant or ""), _opt_int(snr_feedback_bits),
            _opt_float(snr_feedback_delay_ms) or 0.0, _opt_float(train_fraction) or 1.0, _opt_int(fixed_length),
            _opt_int(training_seed), round(float(ebno_db), 9) + 0.0)


CONDITION_COLUMNS = ("csi", "variant", "snr_feedback_bits", "snr_feedback_delay_ms", "train_fraction",
                     "fixed_length", "training_seed")
"""The columns beside ``scheme``, ``channel`` and ``ebno_db`` that name a row's test condition."""


def row_key(row: dict) -> tuple:
    """:func:`point_key` of a results row."""
    return point_key(row["scheme"], row["channel"], row["ebno_db"], **{c: row.get(c) for c in CONDITION_COLUMNS})


def condition_of(scenario, variant: str = "") -> dict:
    """The condition columns of a row evaluated under ``scenario`` (its ``phy`` and ``training``)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return {"csi": scenario.phy.csi, "variant": variant, "snr_feedback_bits": scenario.phy.snr_feedback_bits,
            "snr_feedback_delay_ms": float(scenario.phy.snr_feedback_delay_ms),
            "train_fraction": float(scenario.training.train_fraction), "fixed_length": scenario.model.fixed_length,
            "training_seed": int(scenario.training.seed) if variant == "seed" else None}


_VARIANT_COLUMN = {"feedback": "snr_feedback_bits", "stale": "snr_feedback_delay_ms", "fraction": "train_fraction",
                   "length": "fixed_length", "seed": "training_seed"}
_VARIANT_TEXT = {"feedback": "{:g}-bit feedback", "stale": "feedback {:g} ms old", "fraction": "fraction {:g}",
                 "length": "fixed L = {:g}", "seed": "training seed {:g}"}


def row_condition(row: dict) -> dict | None:
    """A results row's test condition: ``{"label": "CHANNEL/CSI", "channel", "csi", "variant", "value"}``
    (``value``: what the variant varies, ``None`` for a plain row); ``None`` without a ``csi``."""
    channel, csi = row.get("channel"), row.get("csi")
    if not channel or not csi:
        return None
    variant = row.get("variant") or ""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} in a results row; variants are {', '.join(VARIANTS[1:])}")
    value = None
    if variant:
        value = row.get(_VARIANT_COLUMN[variant])
        if not finite_number(value):
            raise ValueError(f"a {variant} row needs a number in column {_VARIANT_COLUMN[variant]!r}, got {value!r}")
        value = float(value) + 0.0
    return {"label": f"{channel}/{csi}", "channel": str(channel), "csi": str(csi), "variant": variant, "value": value}


def condition_name(row: dict) -> str:
    """A short name of a row's test condition for legends: ``"TDL-A/ls"``, ``"TDL-A/ls, 2-bit feedback"``."""
    cond = row_condition(row)
    if cond is None:
        return str(row.get("channel"))
    return cond["label"] + (f", {_VARIANT_TEXT[cond['variant']].format(cond['value'])}" if cond["variant"] else "")


def finite_number(value) -> bool:
    """Whether ``value`` reads as a finite number (``None`` and text that is not a number do not)."""
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise
        return int(value)


def parse_typed_csv(text: str, where: str, types: dict[str, type], required: Sequence[str],
                    what: str, renamed: dict[str, str] | None = None) -> list[dict]:
    """Rows of a CSV text as dicts typed by ``types`` (column -> ``str``, ``int`` or ``float``).

    Columns of ``types`` that are absent or empty read as ``None`` (an error for ``required`` ones);
    columns it does not name are kept as text. A malformed text raises ``ValueError`` with one line
    naming ``where``, the line and the problem (``what`` names the kind of file); so does a header
    with a column of ``renamed`` (an old name -> what replaced it).
    """
    renamed = renamed or {}
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
        if header is None:  # an empty file
            return []
        old = [c for c in header if c in renamed]
        if old:
            raise ResultsFileError(f"{where}: written by an older semcom-sim: column {old[0]!r} is now "
                                   f"{renamed[old[0]]}; move the file away and rerun")
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


def read_typed_csv(path: str | Path, types: dict[str, type], required: Sequence[str], what: str,
                   renamed: dict[str, str] | None = None) -> list[dict]:
    """:func:`parse_typed_csv` of a file: a missing one raises ``FileNotFoundError``, one that is not
    UTF-8 text ``ValueError``, each with one line naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such {what} file") from None
    except UnicodeDecodeError:
        raise ResultsFileError(f"{path}: not a {what} file: not UTF-8 text") from None
    return parse_typed_csv(text, str(path), types, required, what, renamed)


def read_results(path: str | Path) -> list[dict]:
    """Reads a results CSV into a list of dicts with typed values.

    Floats for ``ebno_db, esno_db, accuracy, ci_low, ci_high, no, runtime_s, snr_feedback_delay_ms,
    train_fraction``; ints for ``samples``, ``correct`` and ``snr_feedback_bits``; strings for ``scheme,
    channel, stop, model_id, csi, variant``. A file with a column of the old schema (``frames``,
    ``condition``) is refused with one line saying what replaced it. Optional
    columns that are absent or empty read as ``None``. A malformed file raises ``ValueError`` with one line naming
    the file and the problem.
    """
    return read_typed_csv(path, _RESULT_TYPES, REQUIRED_COLUMNS, "results", RENAMED_COLUMNS)


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
    """The CSV file of sweep rows, one per point (:func:`row_key`), rewritten atomically on every put.

    Loads the existing rows if ``path`` exists (a malformed file raises ``ValueError`` naming the file
    and the problem). Rows are kept sorted by :func:`row_key`.
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
                key = row_key(row)
                if key in seen:
                    where = ", ".join(f"{c}={row.get(c)}" for c in CONDITION_COLUMNS if row.get(c) not in (None, ""))
                    raise ResultsFileError(f"{self.path}: line {i + 2}: repeats the point {key[0]}, {key[1]}"
                                           f"{f' ({where})' if where else ''}, Eb/N0 {key[-1]:g} dB of line "
                                           f"{seen[key] + 2}")
                seen[key] = i
            self.rows = sorted(rows, key=row_key)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r}, {len(self.rows)} rows)"

    def lookup(self, scheme: str, channel: str, ebno_db: float, model_id: str, **condition) -> dict | None:
        """A copy of the completed row of this point (``condition``: the :data:`CONDITION_COLUMNS`)
        computed with this ``model_id``, else ``None``."""
        key = point_key(scheme, channel, ebno_db, **condition)
        for row in self.rows:
            if (row_key(row) == key and row.get("stop") in _COMPLETED_STOPS
                    and str(row.get("model_id") or "") == str(model_id)):
                return dict(row)
        return None

    def put(self, row: dict, outcomes: np.ndarray | None = None) -> None:
        """Replaces the row of the same point (:func:`row_key`), else appends; writes the file. ``outcomes``
        (one bool per sample, in draw order) are written first, beside it (:func:`outcomes_path`)."""
        missing = [c for c in REQUIRED_COLUMNS if row.get(c) is None]
        if missing:
            raise ValueError(f"results row lacks column(s) {', '.join(missing)}: {row!r}")
        if outcomes is not None:
            write_outcomes(self.path, row, outcomes)
        row = {**{c: None for c in RESULT_COLUMNS}, **row}
        key = row_key(row)
        self.rows = [r for r in self.rows if row_key(r) != key] + [row]
        self.rows.sort(key=row_key)
        self._write()

    def _write(self) -> None:
        extra = sorted({c for r in self.rows for c in r} - set(RESULT_COLUMNS))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(RESULT_COLUMNS + tuple(extra))
        for r in self.rows:
            writer.writerow([_format_value(r.get(c)) for c in RESULT_COLUMNS + tuple(extra)])
        atomic_write_text(self.path, buf.getvalue())


# -- per-sample outcomes ---------------------------------------------------------------------------

def outcomes_path(results_path: str | Path, row: dict) -> Path:
    """Where the per-sample outcomes of ``row`` live: ``outcomes/`` beside the results file, named by a hash
    of the row's point (:func:`row_key`) and its ``model_id`` (another model's outcomes never match)."""
    key = json.dumps([[str(v) for v in row_key(row)], str(row.get("model_id") or "")])
    return Path(results_path).parent / OUTCOMES_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npy"


def write_outcomes(results_path: str | Path, row: dict, outcomes: np.ndarray) -> Path:
    """Writes ``row``'s outcomes (one bool per sample; their count and sum must be the row's ``samples`` and
    ``correct``) atomically, packed eight to a byte."""
    hits = np.asarray(outcomes, dtype=bool).reshape(-1)
    if hits.size != int(row["samples"]) or int(hits.sum()) != int(row["correct"]):
        raise ValueError(f"outcomes of {hits.size} samples with {int(hits.sum())} hits do not match the row "
                         f"({row['samples']} samples, {row['correct']} correct)")
    path = outcomes_path(results_path, row)
    with atomic_path(path) as tmp:
        np.save(tmp, np.packbits(hits), allow_pickle=False)
    return path


def read_outcomes(results_path: str | Path, row: dict) -> np.ndarray | None:
    """The per-sample outcomes of ``row`` (bool, ``row["samples"]`` of them, in draw order), or ``None`` if
    none were kept (a row of a sweep whose evaluator gave counts only). A file that does not match the row
    raises :class:`~semcom_sim.errors.ResultsFileError`."""
    path = outcomes_path(results_path, row)
    if not path.is_file():
        return None
    try:
        packed = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ResultsFileError(f"{path}: not an outcomes file ({exc})") from None
    samples = int(row["samples"])
    hits = np.unpackbits(packed.astype(np.uint8))[:samples].astype(bool)
    if packed.size != -(-samples // 8) or int(hits.sum()) != int(row["correct"]):
        raise ResultsFileError(f"{path}: {hits.size} outcomes with {int(hits.sum())} hits do not match the row "
                               f"({samples} samples, {row['correct']} correct)")
    return hits


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


def read_adaptation(path: str | Path) -> list[dict]:
    """Reads ``adaptation.csv`` (:data:`ADAPTATION_COLUMNS`), typed; empty cells read as ``None``."""
    return read_typed_csv(path, _ADAPTATION_TYPES, ("scheme", "study", "ebno_db"), "adaptation")


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
    settings = {k: v for k, v in asdict(sweep).items() if k not in ("ebno_db", "schemes", "seeds")}
    settings["draws"] = "common"  # every scheme's point shares its seed (rows of per-scheme seeds are not reused)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:6]
    return f"{checkpoint.fingerprint}-{checkpoint.weights_digest()[:6]}-{digest}"


def append_invocation(out_dir: str | Path, info: dict) -> list[dict]:
    """Appends one invocation (date, machine, commit, command, stage times) to ``run.json`` atomically; returns
    every invocation so far."""
    path = Path(out_dir) / RUN_JSON
    previous = json.loads(path.read_text()) if path.is_file() else {}
    runs = previous.get("invocations", [previous] if previous else []) + [info]
    atomic_write_text(path, json.dumps({"invocations": runs}, indent=2) + "\n")
    return runs


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
