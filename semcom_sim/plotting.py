"""Accuracy-vs-SNR plots of sweep results (matplotlib only, no TensorFlow).

Figures are built with :class:`matplotlib.figure.Figure` directly, not through pyplot, so plotting
works headless and never opens a window or leaks figures. Importing this module selects the Agg
backend only if no backend has been chosen yet (no ``MPLBACKEND``, no backend in matplotlibrc,
pyplot not imported), so notebooks keep their inline backend.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np


def _backend_chosen() -> bool:
    if "matplotlib.pyplot" in sys.modules or os.environ.get("MPLBACKEND"):
        return True
    getter = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if getter is not None:
        return getter() is not None
    sentinel = getattr(matplotlib.rcsetup, "_auto_backend_sentinel", None)
    return dict.__getitem__(matplotlib.rcParams, "backend") is not sentinel


if not _backend_chosen():
    matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from semcom_sim.io import atomic_path  # noqa: E402
from semcom_sim.results import read_results  # noqa: E402

__all__ = ["plot_accuracy", "save_figure"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
_X_LABELS = {"ebno_db": "Eb/N0 [dB]", "esno_db": "Es/N0 [dB]"}


def _finite(value) -> bool:
    try:
        return value is not None and bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def _group(rows: Sequence[dict],
           curves: Sequence[tuple[str, str]] | None) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((str(row["scheme"]), str(row["channel"])), []).append(row)
    # a comparison's file holds several test conditions of one channel (CSI, feedback, ...): one curve
    # per condition, named by it, instead of one curve through all of them
    split: dict[tuple[str, str], list[dict]] = {}
    for key, group in groups.items():
        if len({r.get("condition") or "" for r in group}) > 1:
            for r in group:
                split.setdefault((key[0], str(r.get("condition") or key[1])), []).append(r)
        else:
            split[key] = group
    groups = split
    if curves is None:
        return groups
    selected = {}
    for curve in curves:
        key = (str(curve[0]), str(curve[1]))
        if key not in groups:
            available = "; ".join(f"{s}, {c}" for s, c in groups) or "none"
            raise ValueError(f"no rows for curve ({key[0]}, {key[1]}); curves in the results: {available}")
        selected[key] = groups[key]
    return selected


def _esno_fit(rows: Sequence[dict]) -> tuple[float, float] | None:
    """``(slope, offset)`` of Es/N0 = slope * Eb/N0 + offset over ``rows``, or None without Es/N0 values."""
    pts = [(float(r["ebno_db"]), float(r["esno_db"])) for r in rows
           if _finite(r.get("ebno_db")) and _finite(r.get("esno_db"))]
    if not pts:
        return None
    xs = np.array([p[0] for p in pts])
    ys = np.array([p[1] for p in pts])
    if len(np.unique(xs)) < 2:
        return 1.0, float(np.mean(ys - xs))
    slope, offset = np.polyfit(xs, ys, 1)
    if abs(slope) < 1e-9:  # not invertible; Es/N0 is Eb/N0 plus a constant for any real scheme
        return 1.0, float(np.mean(ys - xs))
    return float(slope), float(offset)


def plot_accuracy(rows_or_path, *, x: str = "ebno_db", show_esno_axis: bool = False, ax=None,
                  title: str | None = None, curves: Sequence[tuple[str, str]] | None = None) -> Figure:
    """Plots task accuracy against Eb/N0 (or Es/N0), one curve per (scheme, channel), with CI bands;
    a channel with rows of several test conditions (a comparison's file) gets one curve per
    (scheme, condition).

    :param rows_or_path: rows as returned by :func:`semcom_sim.sweep.read_results` (or ``run_sweep``),
        or the path of a results CSV.
    :param x: ``"ebno_db"`` or ``"esno_db"``: the quantity on the x axis.
    :param show_esno_axis: with ``x="ebno_db"``, add a top x axis in Es/N0 (fitted from the first
        curve's rows; if other curves have another Eb/N0 -> Es/N0 offset, the axis names that curve).
    :param ax: draw into these axes (default: a new figure).
    :param title: axes title.
    :param curves: the ``(scheme, channel)`` pairs to draw, in this order (default: all, in row order).
    :returns: the figure (``ax.figure`` when ``ax`` is given).
    """
    if x not in _X_LABELS:
        raise ValueError(f"x must be one of {', '.join(_X_LABELS)}, got {x!r}")
    if isinstance(rows_or_path, (str, os.PathLike)):
        rows = read_results(rows_or_path)
        source = str(rows_or_path)
    else:
        rows = list(rows_or_path)
        source = "the given rows"
    if not rows:
        raise ValueError(f"no results to plot in {source}")
    groups = _group(rows, curves)

    if ax is None:
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure

    for i, ((scheme, channel), group) in enumerate(groups.items()):
        group = [r for r in group if _finite(r.get(x))]
        if not group:
            raise ValueError(f"curve ({scheme}, {channel}) has no finite {x} values in {source}")
        group.sort(key=lambda r: float(r[x]))
        xs = np.array([float(r[x]) for r in group])
        acc = np.array([float(r["accuracy"]) for r in group])
        low = np.array([float(r["ci_low"]) for r in group])
        high = np.array([float(r["ci_high"]) for r in group])
        (line,) = ax.plot(xs, acc, marker=_MARKERS[i % len(_MARKERS)], markersize=5,
                          label=f"{scheme}, {channel}")
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)

    ax.set_xlabel(_X_LABELS[x])
    ax.set_ylabel("Task accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, which="major", alpha=0.5)
    ax.grid(True, which="minor", alpha=0.2)
    ax.minorticks_on()
    ax.legend(loc="lower right")
    if title is not None:
        ax.set_title(title)

    if show_esno_axis and x == "ebno_db":
        fits = {key: _esno_fit(group) for key, group in groups.items()}
        first_key = next(iter(groups))
        first = fits[first_key]
        if first is None:
            raise ValueError(f"cannot draw an Es/N0 axis: curve ({first_key[0]}, {first_key[1]}) "
                             f"has no esno_db values in {source}")
        slope, offset = first
        label = "Es/N0 [dB]"
        if any(f is not None and (abs(f[0] - slope) > 1e-6 or abs(f[1] - offset) > 1e-6)
               for f in fits.values()):
            label = f"Es/N0 [dB] ({first_key[0]}, {first_key[1]})"
        secax = ax.secondary_xaxis("top", functions=(lambda e: slope * np.asarray(e) + offset,
                                                     lambda s: (np.asarray(s) - offset) / slope))
        secax.set_xlabel(label)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> None:
    """Writes ``fig`` to ``path`` atomically; the format follows the suffix (PNG when there is none)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
