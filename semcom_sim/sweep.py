"""Monte Carlo sweep of task accuracy over Eb/N0, with statistical stopping and point-by-point resume.

This is Sionna's ``sim_ber`` for a semantic link: at each Eb/N0 point Monte Carlo batches are drawn
until the accuracy is known well enough. Task accuracy has an error floor (a classifier is wrong on
some samples even over a perfect channel), so "stop after N errors" does not work; instead a point
stops once the Wilson confidence interval of the accuracy is narrower than a target, or when a
frame budget is spent.

Here a **frame** is one transmitted sample, i.e. one semantic message (one image through the link),
not an OFDM resource grid: ``frames`` counts samples and ``correct`` counts correctly classified
samples. ``accuracy = correct / frames``.

Every finished point is written at once to a CSV file (:class:`ResultsStore`, rewritten atomically),
so an interrupted sweep resumes point by point: rerunning the same command reuses the completed
points of the same model (``model_id``) and computes the rest. Each point draws its randomness from
:func:`point_seed`, so a resumed sweep reproduces the rows of an uninterrupted one.

This module is generic: it knows nothing of TensorFlow or Sionna. The evaluator is a callable
``make_batches(ebno_db, seed)`` that yields ``(num_correct, num_frames)`` per batch.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import TextIO

from tqdm import tqdm

from semcom_sim.io import atomic_write_text
from semcom_sim.scenario import ScenarioError

__all__ = ["RESULT_COLUMNS", "REQUIRED_COLUMNS", "wilson_interval", "difference_interval", "point_seed",
           "ResultsStore", "read_results", "parse_typed_csv", "read_typed_csv", "run_sweep"]

RESULT_COLUMNS = ("scheme", "channel", "ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "frames",
                  "correct", "no", "stop", "runtime_s", "model_id", "csi", "condition")
"""Columns of the results CSV, in file order. The first eight are required when reading a file.
``condition`` names the test condition of a row (``"TDL-A/ls"``, or a variant of it such as
``"TDL-A/ls/feedback-2bit"``); rows are keyed by ``(scheme, channel, condition, ebno_db)``."""

REQUIRED_COLUMNS = RESULT_COLUMNS[:8]
_FLOAT_COLUMNS = frozenset({"ebno_db", "esno_db", "accuracy", "ci_low", "ci_high", "no", "runtime_s"})
_INT_COLUMNS = frozenset({"frames", "correct"})
_STR_COLUMNS = frozenset({"scheme", "channel", "stop", "model_id", "csi", "condition"})
_COMPLETED_STOPS = ("ci", "max_frames")
_STATUS_TEXT = {"ci": "reached CI target", "max_frames": "reached max frames"}


# -- statistics ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``correct / total``.

    Returns ``(low, high)`` within [0, 1]; ``(0.0, 1.0)`` when ``total`` is 0. Unlike the normal
    approximation it stays sensible near 0 and 1 (an accuracy near 1 at high Eb/N0).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if total < 0 or correct < 0 or correct > total:
        raise ValueError(f"need 0 <= correct <= total, got correct={correct!r}, total={total!r}")
    if total == 0:
        return 0.0, 1.0
    z = _z(float(confidence))
    n = float(total)
    p = correct / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if correct == 0 else max(0.0, center - half)
    high = 1.0 if correct == total else min(1.0, center + half)
    return low, high


def difference_interval(correct_a: int, total_a: int, correct_b: int, total_b: int,
                        confidence: float = 0.95) -> tuple[float, float, float]:
    """Accuracy difference ``p_a - p_b`` of two independent runs and its confidence interval.

    Newcombe's hybrid score interval (method 10 of Newcombe, Stat. Med. 1998), built from the two
    Wilson intervals. Returns ``(difference, low, high)``.
    """
    p_a, p_b = correct_a / total_a, correct_b / total_b
    low_a, high_a = wilson_interval(correct_a, total_a, confidence)
    low_b, high_b = wilson_interval(correct_b, total_b, confidence)
    diff = p_a - p_b
    low = diff - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = diff + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return diff, low, high


def point_seed(base_seed: int, scheme: str, ebno_db: float) -> int:
    """The seed of one sweep point, a non-negative int below 2**31.

    Derived with SHA-256 from the base seed, the scheme and the Eb/N0 value, so it is the same in
    every process (unlike ``hash()``) and does not depend on which points were computed before.
    ``2``, ``2.0`` and ``np.float64(2)`` give the same seed, as do ``0.0`` and ``-0.0``.
    """
    ebno = float(ebno_db) + 0.0  # -0.0 -> 0.0
    text = f"semcom-sim/sweep|{int(base_seed)}|{scheme}|{ebno!r}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (2**31 - 1)


# -- the results file ------------------------------------------------------------------------------

def _key(scheme, channel, ebno_db, condition=None) -> tuple[str, str, str, float]:
    return str(scheme), str(channel), str(condition or ""), round(float(ebno_db), 9) + 0.0


def _row_key(row: dict) -> tuple[str, str, str, float]:
    return _key(row["scheme"], row["channel"], row["ebno_db"], row.get("condition"))


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
            raise ValueError(f"{where}: not a {what} file: missing column(s) {', '.join(missing)} "
                             f"(expected header {','.join(types)})")
        dupes = sorted({c for c in header if header.count(c) > 1})
        if dupes:
            raise ValueError(f"{where}: repeated column(s) {', '.join(dupes)} in the header")
        rows: list[dict] = []
        for raw in reader:
            line = reader.line_num
            if None in raw:
                raise ValueError(f"{where}: line {line}: more fields than the {len(header)} columns "
                                 "of the header")
            if any(v is None for v in raw.values()):
                raise ValueError(f"{where}: line {line}: fewer fields than the {len(header)} columns "
                                 "of the header")
            row: dict = {}
            for col, kind in types.items():
                value = raw.get(col)
                if value is None or value.strip() == "":
                    if col in required:
                        raise ValueError(f"{where}: line {line}: column {col!r} is empty")
                    row[col] = None
                    continue
                value = value.strip()
                try:
                    row[col] = _parse_int(value) if kind is int else kind(value)
                except ValueError:
                    expected = "an integer" if kind is int else "a number"
                    raise ValueError(f"{where}: line {line}: column {col!r} is {value!r}, "
                                     f"expected {expected}") from None
            for col in header:  # columns this version does not know: kept as text
                if col not in row:
                    row[col] = raw[col]
            rows.append(row)
    except csv.Error as exc:
        raise ValueError(f"{where}: line {reader.line_num}: malformed CSV: {exc}") from None
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
        raise ValueError(f"{path}: not a {what} file: not UTF-8 text") from None
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
                raise ValueError(f"{self.path}: is a directory, not a results file")
            rows = read_results(self.path)
            seen: dict[tuple, int] = {}
            for i, row in enumerate(rows):
                key = _row_key(row)
                if key in seen:
                    where = f"{key[1]}" + (f" ({key[2]})" if key[2] else "")
                    raise ValueError(f"{self.path}: line {i + 2}: repeats the point {key[0]}, {where}, "
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
        key = _key(scheme, channel, ebno_db, condition)
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


# -- the sweep -------------------------------------------------------------------------------------

def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class _Table:
    """A Sionna-style status table: one header, one line per point."""

    def __init__(self, confidence: float, stream: TextIO):
        self.stream = stream
        self.titles = ("EbNo [dB]", "EsNo [dB]", "accuracy", f"{100 * confidence:g}% CI", "frames", "correct",
                       "runtime [s]", "status")
        self.widths = (9, 9, 8, 16, 8, 8, 11, 18)
        self.widths = tuple(max(w, len(t)) for w, t in zip(self.widths, self.titles))
        self._header_done = False

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def header(self) -> None:
        if self._header_done:
            return
        self._header_done = True
        line = " | ".join(t.rjust(w) for t, w in zip(self.titles, self.widths))
        self._print(line)
        self._print("-" * len(line))

    def row(self, row: dict, status: str) -> None:
        self.header()
        cells = (f"{row['ebno_db']:.2f}", f"{row['esno_db']:.2f}", f"{row['accuracy']:.4f}",
                 f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]", f"{row['frames']}",
                 "" if row.get("correct") is None else f"{row['correct']}",
                 "" if row.get("runtime_s") is None else f"{row['runtime_s']:.2f}", status)
        self._print(" | ".join(c.rjust(w) for c, w in zip(cells, self.widths)))


def _validate_sweep_args(ebno_db, ci_half_width, confidence, min_frames, max_frames) -> list[float]:
    try:
        points = list(ebno_db)
    except TypeError:
        raise ScenarioError(f"sweep.ebno_db: expected a sequence of Eb/N0 values in dB, "
                            f"got {ebno_db!r}") from None
    if not points:
        raise ScenarioError("sweep.ebno_db: needs at least one Eb/N0 point")
    values = []
    for i, v in enumerate(points):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ScenarioError(f"sweep.ebno_db[{i}]: expected a number, got {v!r}") from None
        if isinstance(v, bool) or not math.isfinite(f):
            raise ScenarioError(f"sweep.ebno_db[{i}]: expected a finite number, got {v!r}")
        values.append(f)
    if len({_key("", "", v) for v in values}) != len(values):
        raise ScenarioError(f"sweep.ebno_db: has repeated points: {values!r}")
    if not (isinstance(ci_half_width, (int, float)) and ci_half_width > 0):
        raise ScenarioError(f"sweep.ci_half_width: must be > 0, got {ci_half_width!r}")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise ScenarioError(f"sweep.confidence: must be in (0, 1), got {confidence!r}")
    if int(max_frames) < 1:
        raise ScenarioError(f"sweep.max_frames: must be > 0, got {max_frames!r}")
    if int(min_frames) < 0:
        raise ScenarioError(f"sweep.min_frames: must be >= 0, got {min_frames!r}")
    if int(min_frames) > int(max_frames):
        raise ScenarioError(f"sweep.min_frames: {min_frames} exceeds sweep.max_frames={max_frames}")
    return values


def _run_point(make_batches, ebno: float, seed: int, *, ci_half_width: float, confidence: float,
               min_frames: int, max_frames: int, pbar) -> tuple[int, int, float, float, str]:
    correct = total = 0
    low, high = 0.0, 1.0
    batches = make_batches(ebno, seed)
    try:
        while True:
            try:
                k, n = next(batches)
            except StopIteration:
                raise RuntimeError(f"make_batches stopped at Eb/N0 {ebno:g} dB after {total} frames; it must "
                                   "yield (num_correct, num_frames) until the sweep stops") from None
            k, n = int(k), int(n)
            if n <= 0 or not 0 <= k <= n:
                raise ValueError(f"make_batches yielded (num_correct={k}, num_frames={n}) "
                                 f"at Eb/N0 {ebno:g} dB; need num_frames > 0 and "
                                 "0 <= num_correct <= num_frames")
            correct += k
            total += n
            low, high = wilson_interval(correct, total, confidence)
            half = (high - low) / 2.0
            pbar.update(n)
            pbar.set_postfix_str(f"acc={correct / total:.4f} ±{half:.4f}", refresh=False)
            if total >= min_frames and half <= ci_half_width:
                return correct, total, low, high, "ci"
            if total >= max_frames:
                return correct, total, low, high, "max_frames"
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def run_sweep(*, scheme: str, channel: str, model_id: str, ebno_db: Sequence[float],
              make_batches: Callable[[float, int], Iterator[tuple[int, int]]],
              esno_db_of: Callable[[float], float], no_of: Callable[[float], float],
              store: ResultsStore, ci_half_width: float, confidence: float, min_frames: int, max_frames: int,
              base_seed: int, show_progress: bool = True, stream: TextIO = sys.stdout,
              reraise_interrupt: bool = False, csi: str | None = None, condition: str | None = None) -> list[dict]:
    """Sweeps task accuracy over ``ebno_db`` for one scheme and channel; returns the rows, in point order.

    For each point in order: a completed row of the same ``(scheme, channel, condition, ebno_db)`` and
    ``model_id``
    in ``store`` is reused (status ``resumed``). Otherwise ``make_batches(ebno_db, point_seed(base_seed,
    scheme, ebno_db))`` is iterated; it yields ``(num_correct, num_frames)`` per Monte Carlo batch until
    closed. Batches are drawn until at least ``min_frames`` frames are done and the Wilson interval's
    half-width is at most ``ci_half_width`` (``stop="ci"``), or until ``max_frames`` frames are done
    (``stop="max_frames"``; frames may exceed it by less than one batch). The row is then put into
    ``store`` at once and a line of the status table is printed to ``stream``.

    A frame is one transmitted sample (one semantic message).

    On ``KeyboardInterrupt`` the sweep stops, says where the finished points are saved and how to
    resume, and returns the rows done so far (the interrupted point is not stored), or, with
    ``reraise_interrupt``, raises the ``KeyboardInterrupt`` again so that a caller stops as well.
    """
    points = _validate_sweep_args(ebno_db, ci_half_width, confidence, min_frames, max_frames)
    min_frames, max_frames = int(min_frames), int(max_frames)
    confidence, ci_half_width = float(confidence), float(ci_half_width)
    disable_bar = not show_progress or not _is_tty(stream)
    table = _Table(confidence, stream)
    print(f"Sweep: scheme={scheme}, channel={channel}{f', condition={condition}' if condition else ''}, "
          f"model={model_id}, {len(points)} Eb/N0 points, "
          f"target {100 * confidence:g}% CI half-width <= {ci_half_width:g}, frames (samples) "
          f"{min_frames}..{max_frames}", file=stream, flush=True)
    table.header()
    rows: list[dict] = []
    ebno = points[0]
    try:
        for ebno in points:
            stored = store.lookup(scheme, channel, ebno, model_id, condition)
            if stored is not None:
                rows.append(stored)
                table.row(stored, "resumed (stored)")
                continue
            start = time.perf_counter()
            seed = point_seed(base_seed, scheme, ebno)
            with tqdm(total=max_frames, disable=disable_bar, file=stream, leave=False, unit="frame",
                      desc=f"{scheme} {channel} {ebno:g} dB", dynamic_ncols=True) as pbar:
                correct, frames, low, high, stop = _run_point(
                    make_batches, ebno, seed, ci_half_width=ci_half_width, confidence=confidence,
                    min_frames=min_frames, max_frames=max_frames, pbar=pbar)
            row = {
                "scheme": str(scheme), "channel": str(channel), "ebno_db": ebno,
                "esno_db": float(esno_db_of(ebno)), "accuracy": correct / frames,
                "ci_low": low, "ci_high": high, "frames": frames, "correct": correct,
                "no": float(no_of(ebno)), "stop": stop, "runtime_s": time.perf_counter() - start,
                "model_id": str(model_id), "csi": csi, "condition": condition,
            }
            store.put(row)
            rows.append(row)
            table.row(row, _STATUS_TEXT[stop])
    except KeyboardInterrupt:
        print(f"\nInterrupted at Eb/N0 {ebno:g} dB: {len(rows)} of {len(points)} points of scheme {scheme!r} "
              f"({channel}) are done. Partial results are saved in {store.path}; rerun the same command "
              "to resume (finished points are reused, the rest are computed).", file=stream, flush=True)
        if reraise_interrupt:
            raise
    return rows
