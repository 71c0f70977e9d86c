"""How far each scheme is from the finite-blocklength reference: the Eb/N0 at which a scheme first reaches a
fraction of the teacher's accuracy, and its gap in dB to the reference (``ideal-label``) at the same fraction.

A crossing is interpolated linearly in Eb/N0 between the two swept points around it; its interval comes from the
same interpolation of the points' confidence bounds (where the upper bound crosses: the earliest Eb/N0 the data
allow; where the lower bound crosses: the latest). A scheme already above the target at the first point reaches it
"at or below" that point; one that never reaches it in the swept range says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Reach", "first_reach", "gap_table"]


@dataclass(frozen=True)
class Reach:
    """Where a curve first reaches a target: ``ebno_db`` (``None``: already at the first point, ``below_db``), and
    the interval ``[low_db, high_db]`` from the confidence bounds (``high_db`` ``None``: the lower bound never
    reaches the target in the swept range)."""

    ebno_db: float | None
    low_db: float | None
    high_db: float | None
    below_db: float | None = None

    def text(self) -> str:
        if self.ebno_db is None:
            return f"<= {self.below_db:g} dB"
        low = "-" if self.low_db is None else f"{self.low_db:.1f}"
        high = "beyond the range" if self.high_db is None else f"{self.high_db:.1f}"
        return f"{self.ebno_db:.1f} dB [{low}, {high}]"


def _crossing(points: Sequence[tuple[float, float]], target: float) -> tuple[str, float | None]:
    """``("below", e0)`` if the first point already reaches ``target``, ``("at", e)`` at the first crossing,
    ``("never", None)``."""
    if points[0][1] >= target:
        return "below", points[0][0]
    for (e0, a0), (e1, a1) in zip(points, points[1:]):
        if a1 >= target:
            return "at", e0 + (target - a0) / (a1 - a0) * (e1 - e0)
    return "never", None


def first_reach(rows: Iterable[dict], target: float) -> Reach | None:
    """Where the rows of one curve (``ebno_db``, ``accuracy``, ``ci_low``, ``ci_high``) first reach ``target``;
    ``None`` if the accuracy never does in the swept range."""
    pts = sorted((float(r["ebno_db"]), float(r["accuracy"]), float(r["ci_low"]), float(r["ci_high"])) for r in rows)
    if not pts:
        return None
    kind, ebno = _crossing([(e, a) for e, a, _, _ in pts], target)
    if kind == "never":
        return None
    if kind == "below":
        return Reach(None, None, None, below_db=ebno)
    hi_kind, low_db = _crossing([(e, h) for e, _, _, h in pts], target)
    lo_kind, high_db = _crossing([(e, lo) for e, _, lo, _ in pts], target)
    return Reach(ebno, pts[0][0] if hi_kind == "below" else low_db, None if lo_kind == "never" else high_db)


def gap_table(rows: Iterable[dict], condition: str, schemes: Sequence[str], reference: str,
              teacher_accuracy: float, fractions: Sequence[float] = (0.8, 0.9, 0.95)) -> list[str]:
    """Markdown lines: per scheme of ``schemes`` (and the reference), under ``condition`` (rows carry a
    ``condition`` key), the Eb/N0 of the first reach of each fraction of ``teacher_accuracy`` with its interval,
    and the gap in dB to ``reference`` at the same fraction."""
    by_scheme: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("condition") == condition and not r.get("variant"):
            by_scheme.setdefault(str(r["scheme"]), []).append(r)
    reach = {s: {f: first_reach(by_scheme.get(s, ()), f * teacher_accuracy) for f in fractions}
             for s in (*schemes, reference)}
    head = " | ".join(f"{f:.0%} ({f * teacher_accuracy:.3f}) | gap" for f in fractions)
    lines = [f"| scheme | {head} |", "|---|" + "---:|---:|" * len(fractions)]
    for scheme in (reference, *schemes):
        cells = []
        for f in fractions:
            mine, ref = reach[scheme][f], reach[reference][f]
            if mine is None:
                cells += ["never in the range", "-"]
                continue
            gap = "-"
            if scheme != reference and mine.ebno_db is not None and ref is not None and ref.ebno_db is not None:
                gap = f"{mine.ebno_db - ref.ebno_db:+.1f} dB"
            cells += [mine.text(), gap]
        lines.append(f"| {scheme} | " + " | ".join(cells) + " |")
    return lines
