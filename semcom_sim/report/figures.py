"""Every figure of a run directory (matplotlib only, no TensorFlow).

What each figure shows, whichever command wrote the rows:

- :func:`plot_accuracy`: accuracy vs Eb/N0 (or Es/N0) per (scheme, channel), with CI bands
  (``run``, ``sweep``, ``semcom-sim plot``);
- :func:`plot_condition_grid`: one panel per test condition (channel x CSI), one curve per scheme;
- :func:`plot_robustness`: one scheme under SNR-feedback quantisation and delay;
- :func:`plot_fraction`: accuracy vs training-data fraction;
- :func:`plot_distillation`: validation accuracy vs cumulative training time;
- :func:`plot_cost`: parameters, FLOPs and latency per scheme;
- :func:`plot_length_adaptation`: nested lengths: the length policy against every fixed length;
- :func:`plot_mismatch`: the fed-SNR x true-SNR matrix of ``adaptation.csv``;
- :func:`plot_pareto`: the architecture search's parameters against accuracy (``pareto.csv``);
- :func:`plot_genotype`: the searched cells of a ``genotype.json``.

The test condition of a results row is read from its typed columns (``channel``, ``csi``,
``variant``, ``snr_feedback_bits``, ``snr_feedback_delay_ms``, ``train_fraction``; see
:mod:`semcom_sim.results`). Figures are built with :class:`matplotlib.figure.Figure` directly, not
through pyplot, so plotting works headless and never opens a window or leaks figures; write them with
:func:`save_figure`. Importing this module selects the Agg backend only if no backend has been chosen
yet (no ``MPLBACKEND``, no backend in matplotlibrc, pyplot not imported), so notebooks keep their
inline backend. Every ``plot_*`` function raises ``ValueError`` with one line when it has nothing to
draw. Schemes keep one colour and marker in every figure.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator


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
from semcom_sim.results import condition_name, read_results, row_condition  # noqa: E402
from semcom_sim.results import finite_number as _finite  # noqa: E402
from semcom_sim.schemes import BUILTIN_NAMES, split_antenna_scheme  # noqa: E402

__all__ = ["plot_accuracy", "plot_condition_grid", "plot_robustness", "plot_fraction", "plot_distillation",
           "plot_cost", "plot_length_adaptation", "plot_mismatch", "plot_training_curves", "time_to_target",
           "save_figure"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
_X_LABELS = {"ebno_db": "Eb/N0 [dB]", "esno_db": "Es/N0 [dB]"}



def _group(rows: Sequence[dict],
           curves: Sequence[tuple[str, str]] | None) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((str(row["scheme"]), str(row["channel"])), []).append(row)
    # a comparison's file holds several test conditions of one channel (CSI, feedback, ...): one curve
    # per condition, named by it, instead of one curve through all of them
    split: dict[tuple[str, str], list[dict]] = {}
    for key, group in groups.items():
        if len({condition_name(r) for r in group}) > 1:
            for r in group:
                split.setdefault((key[0], condition_name(r)), []).append(r)
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


# -- test conditions from the typed columns -----------------------------------------------------------

_CSI_TEXT = {"perfect": "perfect CSI", "ls": "LS CSI"}
def _split_condition(label: str) -> tuple[str, str]:
    """``"CHANNEL/CSI"`` -> ``(channel, csi)``; anything else is a one-line ``ValueError``."""
    parts = label.split("/") if isinstance(label, str) else []
    if len(parts) != 2 or any(not p or p != p.strip() for p in parts):
        raise ValueError(f"{label!r} is not a test condition CHANNEL/CSI")
    return parts[0], parts[1]


def _condition_title(channel: str, csi: str) -> str:
    return f"{channel}, {_CSI_TEXT.get(csi, f'{csi} CSI')}"


# -- shared helpers --------------------------------------------------------------------------------

def _ordered(names: Iterable[str]) -> list[str]:
    """Known schemes in :data:`BUILTIN_NAMES` order, then the others in order of appearance."""
    seen = list(dict.fromkeys(str(n) for n in names))
    return [s for s in BUILTIN_NAMES if s in seen] + [s for s in seen if s not in BUILTIN_NAMES]


# references drawn in black: a standard chain dotted, the limit dashed, the label over a real code dash-dotted
_REFERENCES = ("pusch", "ideal-label", "label-polar")
_REFERENCE_LINES = {"pusch": ":", "ideal-label": "--", "label-polar": "-."}
_PAPER_A = tuple(n for n in BUILTIN_NAMES if not n.startswith("rkd-sc") and n not in _REFERENCES)
_PAPER_B = tuple(n for n in BUILTIN_NAMES if n.startswith("rkd-sc"))
# paper A's schemes: the ten tab10 colours; paper B's (RKD-SC): four dark colours and dashed lines; others after
_COLOURS_A = tuple(matplotlib.colormaps["tab10"].colors)
_COLOURS_B = ("#08306b", "#67000d", "#00441b", "#3f007d")
_COLOURS_OTHER = tuple(matplotlib.colormaps["Dark2"].colors)


def _style(scheme: str) -> dict:
    """One colour, marker and line style per scheme, the same in every figure: no two built-in schemes share a
    colour or a marker-and-colour pair; paper B's schemes (``rkd-sc*``) are drawn dashed in dark colours."""
    if scheme in _REFERENCES:
        return {"color": "black", "marker": _MARKERS[(7 + _REFERENCES.index(scheme)) % len(_MARKERS)],
                "linestyle": _REFERENCE_LINES[scheme]}
    if scheme in _PAPER_A:
        i = _PAPER_A.index(scheme)
        return {"color": _COLOURS_A[i % len(_COLOURS_A)], "marker": _MARKERS[i % len(_MARKERS)], "linestyle": "-"}
    if scheme in _PAPER_B:
        i = _PAPER_B.index(scheme)
        return {"color": _COLOURS_B[i % len(_COLOURS_B)], "marker": _MARKERS[(i + 5) % len(_MARKERS)],
                "linestyle": "--"}
    i = sum(map(ord, scheme))
    return {"color": _COLOURS_OTHER[i % len(_COLOURS_OTHER)], "marker": _MARKERS[(i // 7) % len(_MARKERS)],
            "linestyle": ":"}


def _num(value) -> float:
    return float(value) if _finite(value) else math.nan


def _curve(ax, rows: Sequence[dict], x_of, label: str, *, band: bool = True, **style):
    """Draws accuracy vs ``x_of(row)`` with the CI as a band (or error bars); None if no finite point."""
    pts = sorted(((float(x_of(r)), r) for r in rows if _finite(x_of(r)) and _finite(r.get("accuracy"))),
                 key=lambda p: p[0])
    if not pts:
        return None
    xs = np.array([p[0] for p in pts])
    acc = np.array([float(p[1]["accuracy"]) for p in pts])
    low = np.array([_num(p[1].get("ci_low")) for p in pts])
    high = np.array([_num(p[1].get("ci_high")) for p in pts])
    style.setdefault("markersize", 5)
    if band:
        (line,) = ax.plot(xs, acc, label=label, **style)
        if np.isfinite(low).any() and np.isfinite(high).any():
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.18, linewidth=0)
        return line
    yerr = np.vstack([np.clip(acc - low, 0, None), np.clip(high - acc, 0, None)])
    yerr = np.where(np.isfinite(yerr), yerr, 0.0)
    (line,) = ax.plot(xs, acc, label=label, **style)
    ax.errorbar(xs, acc, yerr=yerr, fmt="none", ecolor=line.get_color(), elinewidth=1.0, capsize=0, alpha=0.8)
    return line


def _grid(ax):
    ax.grid(True, which="major", alpha=0.5)
    ax.grid(True, which="minor", alpha=0.2)


def _seconds(t: float) -> str:
    if t < 600:
        return f"{t:.3g} s"
    if t < 36000:
        return f"{t / 60:.3g} min"
    return f"{t / 3600:.3g} h"


def _count(v: float) -> str:
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def _parsed_rows(rows: Iterable[dict]) -> list[tuple[dict, dict]]:
    out = []
    for row in rows:
        cond = row_condition(row)
        if cond is not None:
            out.append((row, cond))
    return out


# -- 1. accuracy vs Eb/N0 per condition ------------------------------------------------------------

def plot_condition_grid(rows: Iterable[dict], schemes: Sequence[str] | None = None,
                        conditions: Sequence[str] | None = None, ncols: int = 4) -> Figure:
    """Accuracy vs Eb/N0, one subplot per test condition (channel x CSI) and one curve (with CI band) per
    scheme; only the rows of the plain evaluation (``variant`` empty) are drawn.

    :param rows: rows of ``results.csv`` (:func:`semcom_sim.results.read_results`); rows without a
        ``csi`` are left out.
    :param schemes: schemes to draw, in legend order (default: all, known schemes in their
        canonical order); schemes without rows are left out of the figure and its legend.
    :param conditions: ``"CHANNEL/CSI"`` labels, one subplot each in this order (default: all,
        sorted by channel then CSI); a condition without rows gets a "no data" subplot.
    :param ncols: subplots per row.
    :returns: a figure with exactly one axes per condition (shared y axis [0, 1]), one line (and
        CI band) per scheme with data there, and one figure legend.
    :raises ValueError: when no selected scheme has a row under any selected condition, or a
        condition is not ``"CHANNEL/CSI"``.
    """
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols!r}")
    by_cond: dict[str, dict[str, list[dict]]] = {}
    for row, cond in _parsed_rows(rows):
        if cond["variant"] == "":
            label = cond["label"]
            by_cond.setdefault(label, {}).setdefault(str(row["scheme"]), []).append(row)
    if not by_cond:
        raise ValueError("no rows of the plain evaluation (variant '') to plot")
    available = ", ".join(sorted(by_cond))
    if conditions is None:
        order = sorted(by_cond, key=_split_condition)
    else:
        order = list(dict.fromkeys(conditions))
        if not order:
            raise ValueError("no conditions to plot (empty 'conditions')")
        for c in order:
            _split_condition(c)
        if not any(c in by_cond for c in order):
            raise ValueError(f"no rows for condition(s) {', '.join(order)}; conditions in the results: {available}")
    present = _ordered(s for c in order for s in by_cond.get(c, {}))
    if schemes is None:
        scheme_list = present
    else:
        scheme_list = list(dict.fromkeys(str(s) for s in schemes))
        if not any(s in present for s in scheme_list):
            raise ValueError(f"no rows of the plain evaluation for scheme(s) {', '.join(scheme_list) or '(none)'}; "
                             f"schemes in the results: {', '.join(present)}")

    n = len(order)
    nc = min(ncols, n)
    nr = math.ceil(n / nc)
    fig = Figure(figsize=(3.3 * nc + 0.5, 2.8 * nr + 0.8), layout="constrained")
    first = None
    handles: dict[str, object] = {}
    for i, label in enumerate(order):
        ax = fig.add_subplot(nr, nc, i + 1, sharey=first)
        first = first or ax
        drawn = 0
        for scheme in scheme_list:
            group = by_cond.get(label, {}).get(scheme)
            line = _curve(ax, group, lambda r: r.get("ebno_db"), scheme, **_style(scheme)) if group else None
            if line is not None:
                handles.setdefault(scheme, line)
                drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_title(_condition_title(*_split_condition(label)), fontsize=10)
        ax.set_ylim(0.0, 1.0)
        ax.minorticks_on()
        _grid(ax)
        if i % nc == 0:
            ax.set_ylabel("Task accuracy")
        else:
            ax.tick_params(labelleft=False)
        if i + nc >= n:  # nothing below it
            ax.set_xlabel("Eb/N0 [dB]")
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), 4),
                   frameon=False)
    return fig


# -- 2. robustness to SNR-feedback errors ----------------------------------------------------------

def plot_robustness(rows: Iterable[dict], scheme: str = "proposed", base: str | None = None) -> Figure:
    """Accuracy vs Eb/N0 of one scheme under SNR-feedback quantization and feedback delay.

    Two panels: the ``feedback-<b>bit`` variants and the ``stale-<d>ms`` variants, each with the
    base condition's curve (dashed, black) for reference. A panel without variants says so.

    :param rows: rows of ``results.csv`` (:func:`semcom_sim.results.read_results`).
    :param scheme: the scheme to draw.
    :param base: the base condition ``"CHANNEL/CSI"`` of the variants (default: the only one the
        scheme's variant rows name; ``ValueError`` if they name several).
    :returns: a figure with two axes (shared y axis [0, 1]).
    """
    variants: dict[str, dict[str, dict[float, list[dict]]]] = {}
    main: dict[str, list[dict]] = {}
    for row, cond in _parsed_rows(rows):
        if str(row["scheme"]) != scheme:
            continue
        label = cond["label"]
        if cond["variant"] == "":
            main.setdefault(label, []).append(row)
        elif cond["variant"] in ("feedback", "stale"):
            (variants.setdefault(label, {"feedback": {}, "stale": {}})[cond["variant"]]
             .setdefault(cond["value"], []).append(row))
    if base is None:
        if not variants:
            raise ValueError(f"no feedback or stale rows for scheme {scheme!r}")
        if len(variants) > 1:
            raise ValueError(f"scheme {scheme!r} has robustness rows for several base conditions "
                             f"({', '.join(sorted(variants))}); pass base=")
        base = next(iter(variants))
    else:
        _split_condition(base)
    if base not in variants:
        raise ValueError(f"no feedback or stale rows for scheme {scheme!r} under {base!r}")
    channel, csi = _split_condition(base)
    cmap = matplotlib.colormaps["viridis"]
    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    panels = (("feedback", "SNR feedback quantization", lambda v: f"{v:g}-bit feedback"),
              ("stale", "SNR feedback delay", lambda v: f"{v:g} ms delay"))
    for ax, (variant, title, text) in zip(axes, panels):
        if main.get(base):
            _curve(ax, main[base], lambda r: r.get("ebno_db"), "base condition", color="k", linestyle="--",
                   marker="o")
        values = sorted(variants[base][variant])
        for k, value in enumerate(values):
            color = cmap(0.15 + 0.7 * k / max(len(values) - 1, 1))
            _curve(ax, variants[base][variant][value], lambda r: r.get("ebno_db"), text(value), color=color,
                   marker=_MARKERS[(k + 1) % len(_MARKERS)])
        if not values:
            ax.text(0.5, 0.5, f"no {variant} variants in the results", transform=ax.transAxes, ha="center",
                    va="center", color="0.4")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("Eb/N0 [dB]")
        ax.set_ylim(0.0, 1.0)
        ax.minorticks_on()
        _grid(ax)
        if ax.lines:
            ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel("Task accuracy")
    fig.suptitle(f"{scheme}: robustness to SNR feedback errors ({_condition_title(channel, csi)})",
                 fontsize=11)
    return fig


# -- 3. training-data fraction ---------------------------------------------------------------------

def plot_fraction(rows: Iterable[dict], schemes: Sequence[str] | None = ("proposed", "no-kd")) -> Figure:
    """Accuracy vs training-data fraction, one line (with CI error bars) per scheme and Eb/N0 point.

    :param rows: rows of ``results.csv`` (:func:`semcom_sim.results.read_results`); only
        ``fraction-<f>`` rows are drawn.
    :param schemes: schemes to draw (``None``: all); schemes without fraction rows are left out,
        and ``ValueError`` is raised when none of them has any.
    :returns: a figure with one axes; the x axis is logarithmic when the fractions span a factor
        of 5 or more, with a tick at every fraction. Colour is the scheme, line style the Eb/N0 point.
    """
    wanted = None if schemes is None else {str(s) for s in schemes}
    groups: dict[tuple[str, str, float], list[dict]] = {}
    found: set[str] = set()
    for row, cond in _parsed_rows(rows):
        if cond["variant"] != "fraction":
            continue
        scheme = str(row["scheme"])
        found.add(scheme)
        if (wanted is not None and scheme not in wanted) or not _finite(row.get("ebno_db")):
            continue
        row = dict(row, _fraction=cond["value"])
        key = (scheme, cond["label"], float(row["ebno_db"]) + 0.0)
        groups.setdefault(key, []).append(row)
    if not groups:
        which = "any scheme" if wanted is None else f"scheme(s) {', '.join(schemes)}"
        raise ValueError(f"no fraction rows for {which}; schemes with such rows: "
                         f"{', '.join(_ordered(found)) or 'none'}")
    bases = {k[1] for k in groups}
    ebnos = sorted({k[2] for k in groups})
    fractions = sorted({r["_fraction"] for g in groups.values() for r in g})
    styles = ("-", "--", ":", "-.")
    fig = Figure(figsize=(6.6, 4.6), layout="constrained")
    ax = fig.add_subplot()
    for scheme in _ordered(k[0] for k in groups):
        for key in sorted((k for k in groups if k[0] == scheme), key=lambda k: (k[1], k[2])):
            label = f"{scheme}, {key[2]:g} dB"
            if len(bases) > 1:
                label += f", {_condition_title(*_split_condition(key[1]))}"
            j = ebnos.index(key[2])
            style = _style(scheme)
            _curve(ax, groups[key], lambda r: r["_fraction"], label, band=False, color=style["color"],
                   marker=_MARKERS[j % len(_MARKERS)], linestyle=styles[j % len(styles)])
    if fractions[0] > 0 and fractions[-1] / fractions[0] >= 5:
        ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(fractions))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{f:g}" for f in fractions]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("Training-data fraction")
    ax.set_ylabel("Task accuracy")
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(0.0, lo), min(1.0, hi) if hi > max(0.0, lo) else 1.0)
    ax.grid(True, alpha=0.5)
    ax.legend(loc="best", fontsize=8)
    if len(bases) == 1:
        ax.set_title(f"Data requirement ({_condition_title(*_split_condition(next(iter(bases))))})", fontsize=10)
    return fig


# -- 4. distillation cost --------------------------------------------------------------------------

def _by_scheme(rows: Iterable[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row["scheme"]), []).append(row)
    for group in groups.values():
        group.sort(key=lambda r: (r["epoch"] if r.get("epoch") is not None else math.inf))
    return groups


def time_to_target(rows: Iterable[dict]) -> dict[str, float | None]:
    """Training time each scheme took to reach its target validation accuracy.

    :param rows: rows of ``distillation.csv`` (:func:`read_distillation`).
    :returns: ``{scheme: wall_s}`` of the first epoch (lowest ``epoch``) whose ``val_accuracy``
        is at least its ``target_accuracy``; ``None`` when no epoch reaches it (or there is no
        target). Schemes in order of first appearance; ``{}`` for no rows.
    """
    result: dict[str, float | None] = {}
    for scheme, group in _by_scheme(rows).items():
        result[scheme] = None
        for row in group:
            target, acc = row.get("target_accuracy"), row.get("val_accuracy")
            if _finite(target) and _finite(acc) and _finite(row.get("wall_s")) and float(acc) >= float(target):
                result[scheme] = float(row["wall_s"])
                break
    return result


_DISTILLATION_TEXT = {"none": "no KD", "cached": "cached KD", "online": "online KD"}


def plot_distillation(rows: Iterable[dict]) -> Figure:
    """Validation accuracy vs cumulative training time, one line per scheme (a marker per epoch).

    A dashed horizontal line marks each distinct target accuracy; the legend and an annotation
    give each scheme's time to target (:func:`time_to_target`).

    :param rows: rows of ``distillation.csv`` (:func:`read_distillation`).
    :returns: a figure with one axes: ``len(schemes) + len(targets)`` lines.
    """
    rows = list(rows)
    groups = _by_scheme(rows)
    ttt = time_to_target(rows)
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    for scheme in _ordered(groups):
        pts = [r for r in groups[scheme] if _finite(r.get("wall_s")) and _finite(r.get("val_accuracy"))]
        if not pts:
            continue
        kind = pts[0].get("distillation")
        label = f"{scheme} ({_DISTILLATION_TEXT.get(kind, kind)})" if kind else scheme
        t = ttt.get(scheme)
        label += f": target in {_seconds(t)}" if t is not None else ": target not reached"
        style = _style(scheme)
        ax.plot([float(r["wall_s"]) for r in pts], [float(r["val_accuracy"]) for r in pts], label=label,
                markersize=5, **style)
        drawn += 1
        if t is not None:
            acc = next(float(r["val_accuracy"]) for r in pts if float(r["wall_s"]) == t)
            ax.annotate(_seconds(t), xy=(t, acc), xytext=(t, 0.03), textcoords=ax.get_xaxis_transform(),
                        rotation=90, ha="right", va="bottom", fontsize=8, color=style["color"],
                        arrowprops={"arrowstyle": "-", "linestyle": ":", "color": style["color"], "shrinkA": 0})
    if not drawn:
        raise ValueError("no distillation rows (scheme, epoch, wall_s, val_accuracy) to plot")
    targets: dict[float, set] = {}
    for r in rows:
        if _finite(r.get("target_accuracy")):
            targets.setdefault(float(r["target_accuracy"]), set()).add(
                float(r["target_ebno_db"]) if _finite(r.get("target_ebno_db")) else None)
    for target, ebnos in sorted(targets.items()):
        where = f" at {next(iter(ebnos)):g} dB" if len(ebnos) == 1 and None not in ebnos else ""
        ax.axhline(target, color="0.3", linestyle="--", linewidth=1.0, label=f"target {target:g}{where}")
    ebnos = {float(r["target_ebno_db"]) for r in rows if _finite(r.get("target_ebno_db"))}
    ylabel = "Held-out accuracy (training rows not trained on)"
    if len(ebnos) == 1:
        ylabel += f" at Eb/N0 = {next(iter(ebnos)):g} dB"
    ax.set_xlabel("Cumulative training time [s]")
    ax.set_ylabel(ylabel)
    ax.set_xlim(left=0.0)
    ax.minorticks_on()
    _grid(ax)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    ax.set_title("Distillation cost: accuracy vs training time", fontsize=10)
    return fig


# -- 5. model cost ---------------------------------------------------------------------------------

def plot_cost(rows: Iterable[dict]) -> Figure:
    """Parameters, FLOPs per sample and latency per (scheme, component), as log-scale horizontal bars.

    :param rows: rows of ``cost.csv`` (:func:`read_cost`). Missing, zero or negative values have
        no bar and read "n/a"; the latency panel marks ``latency_p90_ms`` with a black tick. Rows are
        labelled ``"scheme: component"`` (just the component when it starts with the scheme's name),
        with the device when rows name several.
    :returns: a figure with three axes (parameters, FLOPs per sample, latency [ms]) that share
        the y axis (one row per (scheme, component), first at the top), a bar per available value.
    """
    rows = list(rows)
    order = _ordered(str(r["scheme"]) for r in rows)
    rows = sorted(rows, key=lambda r: order.index(str(r["scheme"])))  # stable: file order within a scheme
    metrics = (("parameters", "Parameters"), ("flops_per_sample", "FLOPs per sample"), ("latency_ms", "Latency [ms]"))
    if not rows or not any(_finite(r.get(m)) and float(r[m]) > 0 for r in rows for m, _ in metrics):
        raise ValueError("no cost rows with parameters, flops_per_sample or latency_ms to plot")
    devices = list(dict.fromkeys(str(r["device"]) for r in rows if r.get("device")))
    labels = [str(r["component"]) if str(r["component"]).startswith(str(r["scheme"]))
              else f"{r['scheme']}: {r['component']}" for r in rows]
    if len(devices) > 1:
        labels = [f"{lab} ({r['device']})" if r.get("device") else lab for lab, r in zip(labels, rows)]
    y = np.arange(len(rows))
    colors = [_style(str(r["scheme"]))["color"] for r in rows]
    fig = Figure(figsize=(13.0, 1.3 + 0.38 * len(rows)), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (key, title) in zip(axes, metrics):
        values = np.array([float(r[key]) if _finite(r.get(key)) and float(r[key]) > 0 else math.nan for r in rows])
        p90 = np.array([_num(r.get("latency_p90_ms")) if key == "latency_ms" else math.nan for r in rows])
        p90[~(p90 > 0)] = math.nan
        ends = np.fmax(values, p90)  # where a value's text goes: after the bar and its p90 tick
        ok = np.isfinite(values)
        ax.set_xscale("log")
        if ok.any():
            ax.barh(y[ok], values[ok], color=[c for c, keep in zip(colors, ok) if keep], height=0.65)
            ax.set_xlim(values[ok].min() / 3, np.nanmax(ends) * 8)
        for yi, v, end in zip(y, values, ends):
            if np.isfinite(v):
                ax.text(end * 1.05, yi, " " + (f"{v:.3g}" if key == "latency_ms" else _count(v)), va="center",
                        fontsize=7)
            else:
                ax.text(0.01, yi, "n/a", va="center", fontsize=7, color="0.4", transform=ax.get_yaxis_transform())
        if np.isfinite(p90).any():
            ax.plot(p90, y, linestyle="none", marker="|", color="k", markersize=9, label="p90")
            ax.legend(loc="best", fontsize=7)
        if key == "latency_ms" and len(devices) == 1:
            title += f" on {devices[0]}"
        ax.set_title(title, fontsize=10)
        ax.grid(True, axis="x", which="major", alpha=0.5)
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    return fig


# -- 6. channel adaptation (nested lengths) ----------------------------------------------------------

def plot_length_adaptation(rows: Iterable[dict], scheme: str = "adaptive-length", policy: dict | None = None,
                           base: str | None = None) -> Figure:
    """What a scheme with nested lengths sends and what it gets: the length policy against the SNR-blind
    reference (every fixed length at every Eb/N0).

    Panels: accuracy vs Eb/N0 and mean channel uses vs Eb/N0, the scheme as deployed (``variant`` empty,
    black) and each fixed length (``variant="length"``, one colour per length); with ``policy`` (the
    checkpoint's ``length_policy`` fit), a third panel with ``L*(q)`` and the raw per-level choice against
    the fed-back SNR level ``q``.

    :param rows: rows of ``results.csv``.
    :param base: the test condition ``"CHANNEL/CSI"`` (default: the only one with ``length`` rows).
    :raises ValueError: when the scheme has no ``length`` rows.
    """
    deployed: dict[str, list[dict]] = {}
    fixed: dict[str, dict[float, list[dict]]] = {}
    for row in rows:
        cond = row_condition(row)
        if cond is None or str(row["scheme"]) != scheme:
            continue
        if cond["variant"] == "":
            deployed.setdefault(cond["label"], []).append(row)
        elif cond["variant"] == "length":
            fixed.setdefault(cond["label"], {}).setdefault(cond["value"], []).append(row)
    if not fixed:
        raise ValueError(f"no length rows (fixed-length reference) for scheme {scheme!r}")
    if base is None:
        if len(fixed) > 1:
            raise ValueError(f"scheme {scheme!r} has length rows under several conditions "
                             f"({', '.join(sorted(fixed))}); "
                             "pass base=")
        base = next(iter(fixed))
    if base not in fixed:
        raise ValueError(f"no length rows for scheme {scheme!r} under {base!r}")
    channel, csi = _split_condition(base)
    panels = 3 if policy else 2
    fig = Figure(figsize=(5.0 * panels, 4.3), layout="constrained")
    axes = fig.subplots(1, panels)
    cmap = matplotlib.colormaps["viridis"]
    lengths = sorted(fixed[base])
    for k, length in enumerate(lengths):
        color = cmap(0.1 + 0.8 * k / max(len(lengths) - 1, 1))
        group = sorted(fixed[base][length], key=lambda r: float(r["ebno_db"]))
        _curve(axes[0], group, lambda r: r.get("ebno_db"), f"L = {length:g}", color=color, marker=".", linewidth=1)
        axes[1].plot([float(r["ebno_db"]) for r in group], [length] * len(group), color=color, linewidth=1)
    if deployed.get(base):
        group = sorted(deployed[base], key=lambda r: float(r["ebno_db"]))
        _curve(axes[0], group, lambda r: r.get("ebno_db"), "L*(q) (deployed)", color="k", marker="o", linewidth=2)
        axes[1].plot([float(r["ebno_db"]) for r in group], [_num(r.get("channel_uses")) for r in group], color="k",
                     marker="o", linewidth=2, label="L*(q) (deployed)")
    axes[0].set_ylabel("Task accuracy")
    axes[0].set_ylim(0.0, 1.0)
    axes[0].legend(loc="lower right", fontsize=7, ncols=2)
    axes[1].set_ylabel("Mean channel uses per sample")
    axes[1].set_yscale("log", base=2)
    axes[1].yaxis.set_major_locator(FixedLocator(lengths))
    axes[1].yaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in lengths]))
    axes[1].yaxis.set_minor_locator(NullLocator())
    if axes[1].lines:
        axes[1].legend(loc="upper right", fontsize=7)
    for ax in axes[:2]:
        ax.set_xlabel("Eb/N0 [dB]")
        _grid(ax)
    if policy:
        seen = [i for i, n in enumerate(policy.get("samples", [])) if n]
        levels = [policy["levels_db"][i] for i in seen]
        axes[2].step(levels, [policy["raw"][i] for i in seen], where="mid", color="0.6", linestyle="--",
                     label="raw (per level)")
        axes[2].step(levels, [policy["policy"][i] for i in seen], where="mid", color="k", label="L*(q)")
        axes[2].set_xlabel("Fed-back SNR level q [dB]")
        axes[2].set_ylabel("Channel uses sent")
        axes[2].set_yscale("log", base=2)
        axes[2].yaxis.set_major_locator(FixedLocator(policy["lengths"]))
        axes[2].yaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in policy["lengths"]]))
        axes[2].yaxis.set_minor_locator(NullLocator())
        axes[2].set_title(f"Length policy (tolerance {100 * policy['tolerance']:g} points)", fontsize=10)
        axes[2].legend(loc="upper right", fontsize=7)
        _grid(axes[2])
    fig.suptitle(f"{scheme}: length policy vs every fixed length ({_condition_title(channel, csi)})", fontsize=11)
    return fig


def plot_mismatch(rows: Iterable[dict], scheme: str = "adaptive-length") -> Figure:
    """The mismatch matrix of ``adaptation.csv``: accuracy and mean channel uses when the transmitter is
    told the SNR of Eb/N0 ``fed_ebno_db`` (rows) while the channel is at ``ebno_db`` (columns).

    Each cell shows its value and, off the diagonal, the paired difference to the matched cell of its
    column (accuracy in points, with ``*`` where McNemar's p < 0.05).

    :param rows: rows of ``adaptation.csv`` (:func:`semcom_sim.results.read_adaptation`).
    :raises ValueError: when the scheme has no ``mismatch`` rows.
    """
    cells = [r for r in rows if str(r["scheme"]) == scheme and r.get("study") == "mismatch"]
    if not cells:
        raise ValueError(f"no mismatch rows for scheme {scheme!r}")
    true = sorted({float(r["ebno_db"]) for r in cells})
    fed = sorted({float(r["fed_ebno_db"]) for r in cells})
    by = {(float(r["fed_ebno_db"]), float(r["ebno_db"])): r for r in cells}
    fig = Figure(figsize=(11.0, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, title, cmap in ((axes[0], "accuracy", "Task accuracy", "viridis"),
                                 (axes[1], "channel_uses", "Mean channel uses per sample", "magma")):
        grid = np.array([[_num(by.get((a, b), {}).get(key)) for b in true] for a in fed])
        image = ax.imshow(grid, origin="lower", cmap=cmap, aspect="auto")
        fig.colorbar(image, ax=ax, shrink=0.85)
        for i, a in enumerate(fed):
            for j, b in enumerate(true):
                r = by.get((a, b))
                if r is None:
                    continue
                text = f"{grid[i, j]:.3f}" if key == "accuracy" else f"{grid[i, j]:.1f}"
                if key == "accuracy" and a != b and _finite(r.get("difference")):
                    star = "*" if _finite(r.get("p_value")) and float(r["p_value"]) < 0.05 else ""
                    text += f"\n{100 * float(r['difference']):+.1f}{star}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="w" if grid[i, j] < np.nanmean(grid) else "k")
        ax.set_xticks(range(len(true)), [f"{v:g}" for v in true])
        ax.set_yticks(range(len(fed)), [f"{v:g}" for v in fed])
        ax.set_xlabel("True Eb/N0 of the channel [dB]")
        ax.set_ylabel("Eb/N0 whose SNR the transmitter is told [dB]")
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"{scheme}: fed SNR vs true SNR (paired; difference to the matched cell in points, "
                 "* McNemar p < 0.05)", fontsize=10)
    return fig


def plot_training_curves(histories: dict[str, list[dict]]) -> Figure:
    """The training curves of ``{scheme: history}`` (the per-epoch records of the checkpoints' JSON): the total
    loss, the training accuracy and, when recorded, the held-out monitor's accuracy against the epoch, one line
    per scheme in its colour; dotted vertical lines mark where a stage ends. The same values as the run
    directory's TensorBoard events."""
    histories = {s: h for s, h in histories.items() if h}
    if not histories:
        raise ValueError("no training history")
    panels = [("loss", "loss (training)"), ("train_accuracy", "training accuracy")]
    if any("val_accuracy" in r for h in histories.values() for r in h):
        panels.append(("val_accuracy", "held-out accuracy (monitor)"))
    fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        for scheme in _ordered(histories):
            pts = [(r["epoch"], r[key]) for r in histories[scheme] if _finite(r.get(key))]
            if pts:
                style = {k: v for k, v in _style(scheme).items() if k != "marker"}
                ax.plot(*zip(*pts), label=scheme, marker=".", **style)
            stages = [r.get("stage") for r in histories[scheme]]
            for i in range(1, len(stages)):
                if stages[i] != stages[i - 1]:
                    ax.axvline(histories[scheme][i - 1]["epoch"] + 0.5, color="0.6", linestyle=":", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        _grid(ax)
    axes[0][-1].legend(fontsize=7, loc="best")
    return fig


def plot_pareto(rows: Iterable[dict], title: str = "") -> Figure:
    """The architecture search's Pareto front (``pareto.csv`` of ``semcom-sim search``): encoder backbone
    parameters (log x) against test accuracy without a channel (95 % Wilson bars), one point per
    ``lambda`` (annotated) and the hand-designed encoder."""
    rows = [dict(r) for r in rows]
    if not rows:
        raise ValueError("no Pareto rows to plot")
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for kind, marker in (("searched", "o"), ("hand-designed", "s")):
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        x = [_num(r["parameters"]) for r in mine]
        y = [_num(r["accuracy"]) for r in mine]
        err = [[yy - _num(r["ci_low"]) for yy, r in zip(y, mine)], [_num(r["ci_high"]) - yy for yy, r in zip(y, mine)]]
        ax.errorbar(x, y, yerr=err, fmt=marker, capsize=3, label=kind)
        if kind == "searched":
            for xx, yy, r in zip(x, y, mine):
                ax.annotate(f"lambda = {_num(r['lambda']):g}", (xx, yy), textcoords="offset points", xytext=(4, 4),
                            fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("encoder backbone parameters")
    ax.set_ylabel("test accuracy, no channel (95 % Wilson)")
    if title:
        ax.set_title(title, fontsize=9)
    _grid(ax)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_genotype(genotype: dict) -> Figure:
    """The searched cells of a genotype (``genotype.json`` of ``semcom-sim search``): one panel per cell
    type; nodes ``c_{k-2}``, ``c_{k-1}`` (the two input nodes), ``0 .. nodes-1`` and the output; an arrow
    per kept edge, labelled with its operation."""
    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    for ax, kind in zip(axes, ("normal", "reduce")):
        pairs = genotype[kind]
        nodes = len(pairs) // 2
        pos = {0: (0.0, 0.75), 1: (0.0, 0.25)}
        for i in range(nodes):
            pos[2 + i] = (0.3 + 0.5 * i / max(1, nodes - 1), 0.5 + (0.3 if i % 2 == 0 else -0.3) * (i > 0))
        pos["out"] = (1.05, 0.5)
        names = {0: "c_{k-2}", 1: "c_{k-1}", "out": "c_{k}"}
        for k, (op, j) in enumerate(pairs):
            a, b = pos[int(j)], pos[2 + k // 2]
            ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "->", "color": "0.4"})
            ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + (0.04 if k % 2 else -0.04), op, fontsize=7,
                    ha="center", color="tab:blue")
        for i in range(nodes):
            ax.annotate("", xy=pos["out"], xytext=pos[2 + i], arrowprops={"arrowstyle": "->", "color": "0.8"})
        for key, (x, y) in pos.items():
            ax.text(x, y, names[key] if key in names else str(key - 2), ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.3"})
        ax.set_xlim(-0.15, 1.2)
        ax.set_ylim(0.0, 1.0)
        ax.set_axis_off()
        ax.set_title(f"{kind} cell", fontsize=9)
    fig.tight_layout()
    return fig


def plot_antenna_study(rows: Iterable[dict]) -> Figure:
    """Accuracy vs Eb/N0 of the schemes of :func:`semcom_sim.schemes.antenna_schemes`: one panel per base scheme
    (``proposed``, ``adaptive-length``, ...), one curve (with CI band) per antenna configuration, the same colour
    for a configuration in every panel; only the plain evaluation's rows (``variant`` empty) are drawn.

    :raises ValueError: when no row belongs to an antenna scheme (``<base>-<configuration>``).
    """
    panels: dict[str, dict[str, list[dict]]] = {}
    for row, cond in _parsed_rows(rows):
        split = split_antenna_scheme(str(row["scheme"]))
        if cond["variant"] == "" and split is not None:
            panels.setdefault(split[0], {}).setdefault(split[1], []).append(row)
    if not panels:
        raise ValueError("no rows of antenna schemes (named '<base>-<configuration>', semcom_sim.schemes."
                         "antenna_schemes) to plot")
    bases = _ordered(panels)
    configurations = list(dict.fromkeys(c for b in bases for c in panels[b]))
    colours = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, max(len(configurations), 2)))
    fig = Figure(figsize=(3.3 * len(bases) + 0.5, 3.4), layout="constrained")
    handles: dict[str, object] = {}
    first = None
    for i, base in enumerate(bases):
        ax = fig.add_subplot(1, len(bases), i + 1, sharey=first)
        first = first or ax
        for j, configuration in enumerate(configurations):
            group = panels[base].get(configuration)
            line = (_curve(ax, group, lambda r: r.get("ebno_db"), configuration,
                           color=matplotlib.colors.to_hex(colours[j]),
                           marker=_MARKERS[j % len(_MARKERS)], linestyle="-") if group else None)
            if line is not None:
                handles.setdefault(configuration, line)
        ax.set_title(base)
        ax.set_xlabel(_X_LABELS["ebno_db"])
        ax.set_ylim(0.0, 1.0)
        _grid(ax)
    first.set_ylabel("accuracy")
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), 6),
               title="antennas (UT x BS, streams)")
    return fig



# -- how far from the limit ----------------------------------------------------------------------------------

_FRACTION_MARKERS = ("o", "s", "D", "^", "v")


def plot_limit_gap(rows: Iterable[dict], schemes: Sequence[str], reference: str, teacher_accuracy: float,
                   conditions: Sequence[str] | None = None,
                   fractions: Sequence[float] = (0.8, 0.9, 0.95)) -> Figure:
    """The gap in dB of each scheme to ``reference`` at the Eb/N0 where it first reaches each fraction of
    ``teacher_accuracy`` (:func:`semcom_sim.report.gaps.first_reach`), one panel per condition, one row per scheme, one
    marker per fraction; the bars span ``[scheme's low - reference's high, scheme's high - reference's low]`` of the
    reaches' intervals where both ends exist. A scheme already there at the first point is drawn as a left-pointing
    triangle (its gap is at most that), a scheme that gets there when the reference already was at the first point as
    a right-pointing one (at least that), one that never gets there in the swept range as a cross at the panel's right
    edge; where both are there from the first point, or the reference never gets there, nothing is drawn.

    :param rows: rows of ``results.csv``; only the plain evaluation (``variant`` empty) is read.
    :param conditions: ``"CHANNEL/CSI"`` labels, one panel each (default: those with rows of ``reference``).
    :raises ValueError: when no condition has rows of ``reference``.
    """
    from semcom_sim.report.gaps import first_reach

    by_cond: dict[str, dict[str, list[dict]]] = {}
    for row, cond in _parsed_rows(rows):
        if cond["variant"] == "":
            by_cond.setdefault(cond["label"], {}).setdefault(str(row["scheme"]), []).append(row)
    shown = [c for c in (conditions if conditions is not None else sorted(by_cond)) if reference in by_cond.get(c, {})]
    if not shown:
        raise ValueError(f"no rows of the reference {reference!r} under any condition")
    fig = Figure(figsize=(max(7.5, 4.2 * len(shown) + 1.6), 0.45 * len(schemes) + 2.0), layout="constrained")
    axes = fig.subplots(1, len(shown), sharey=True, squeeze=False)[0]
    offsets = np.linspace(-0.25, 0.25, len(fractions)) if len(fractions) > 1 else np.zeros(1)
    for ax, condition in zip(axes, shown):
        curves = by_cond[condition]
        ref = {f: first_reach(curves[reference], f * teacher_accuracy) for f in fractions}
        gaps = []
        for i, scheme in enumerate(schemes):
            for j, f in enumerate(fractions):
                mine, theirs, y = first_reach(curves.get(scheme, ()), f * teacher_accuracy), ref[f], i + offsets[j]
                style = {"color": _style(scheme)["color"], "marker": _FRACTION_MARKERS[j % len(_FRACTION_MARKERS)]}
                if theirs is None:
                    continue
                if mine is None:
                    gaps.append((y, None, style))
                    continue
                if mine.ebno_db is None and theirs.ebno_db is None:
                    continue
                if theirs.ebno_db is None:  # the reference already there at the first point: at least this far
                    gaps.append((y, mine.ebno_db - theirs.below_db, dict(style, marker=">")))
                    continue
                if mine.ebno_db is None:
                    gaps.append((y, mine.below_db - theirs.ebno_db, dict(style, marker="<")))
                    continue
                gap = mine.ebno_db - theirs.ebno_db
                lo = None if mine.low_db is None or theirs.high_db is None else mine.low_db - theirs.high_db
                hi = None if mine.high_db is None or theirs.low_db is None else mine.high_db - theirs.low_db
                ax.errorbar([gap], [y], xerr=[[gap - lo if lo is not None else 0], [hi - gap if hi is not None else 0]],
                            capsize=2, linestyle="none", **style)
                gaps.append((y, gap, None))
        finite = [g for _, g, _ in gaps if g is not None]
        right = max(finite + [0.0]) + 2.0
        for y, gap, style in gaps:
            if style is None:
                continue
            if gap is None:
                ax.plot([right], [y], linestyle="none", **dict(style, marker="x"))
            else:
                ax.plot([gap], [y], linestyle="none", fillstyle="none", **style)
        if not gaps:
            unreached = [f"{f:.0%}" for f in fractions if ref[f] is None]
            ax.text(0.5, 0.5, f"{reference} does not reach {', '.join(unreached)} of the teacher in the swept range"
                    if unreached else "every curve there at the first point: no gap measured", transform=ax.transAxes,
                    ha="center", va="center", fontsize=8, wrap=True)
        ax.axvline(0.0, color="black", linestyle="--", linewidth=1)
        ax.set_xlim(min(finite + [0.0]) - 1.0, right + 1.0)
        ax.set_title(_condition_title(*_split_condition(condition)), fontsize=9)
        ax.set_xlabel(f"gap to {reference} [dB]")
        _grid(ax)
    axes[0].set_yticks(range(len(schemes)), list(schemes))
    axes[0].invert_yaxis()
    handles = [Line2D([], [], color="grey", linestyle="none",
                                       marker=_FRACTION_MARKERS[j % len(_FRACTION_MARKERS)],
                                       label=f"{f:.0%} of the teacher ({f * teacher_accuracy:.3f})")
               for j, f in enumerate(fractions)]
    handles += [Line2D([], [], color="grey", linestyle="none", marker="<", fillstyle="none",
                                        label="there at the first point (at most)"),
                Line2D([], [], color="grey", linestyle="none", marker=">", fillstyle="none",
                       label=f"{reference} there at the first point (at least)"),
                Line2D([], [], color="grey", linestyle="none", marker="x",
                                        label="not reached in the range")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8)
    return fig
