"""Figures of ``semcom-sim compare``: the four evaluation axes (matplotlib only, no TensorFlow).

``semcom-sim compare`` writes into its output directory:

- ``results.csv``: sweep rows (read with :func:`semcom_sim.sweep.read_results`) with two extra text
  columns, ``csi`` and ``condition``. ``condition`` is a label parsed by :func:`parse_condition`:
  ``"CHANNEL/CSI"`` for the accuracy-vs-Eb/N0 grid, ``"CHANNEL/CSI/feedback-<b>bit"`` and
  ``"CHANNEL/CSI/stale-<d>ms"`` for the robustness variants of the base condition, and
  ``"CHANNEL/CSI/fraction-<f>"`` for the training-data axis (numbers formatted with ``:g``);
- ``cost.csv``: size, FLOPs and latency per scheme and component (:func:`read_cost`);
- ``distillation.csv``: validation accuracy after every training epoch (:func:`read_distillation`).

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` (no pyplot; write it with
:func:`save_figure`) and raises ``ValueError`` with one line when it has nothing to draw. Backend
handling is that of :mod:`semcom_sim.plotting`. Schemes keep one colour and marker in every figure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import matplotlib
import numpy as np
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from semcom_sim.plotting import _MARKERS, Figure, _finite, save_figure
from semcom_sim.scenario import SCHEMES

__all__ = ["parse_condition", "condition_label", "time_to_target", "plot_condition_grid", "plot_robustness",
           "plot_fraction", "plot_distillation", "plot_cost", "save_figure"]

# -- condition labels ------------------------------------------------------------------------------

_VARIANTS = {"feedback": ("feedback-", "bit"), "stale": ("stale-", "ms"), "fraction": ("fraction-", "")}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LABEL_HELP = "expected CHANNEL/CSI, CHANNEL/CSI/feedback-<b>bit, CHANNEL/CSI/stale-<d>ms or CHANNEL/CSI/fraction-<f>"
_CSI_TEXT = {"perfect": "perfect CSI", "ls": "LS CSI"}


def _check_name(what: str, text) -> str:
    if not isinstance(text, str) or not text or "/" in text or text != text.strip():
        raise ValueError(f"{what} must be a non-empty string without '/' or surrounding spaces, got {text!r}")
    return text


def _check_value(variant: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"a {variant} condition needs a number, got {value!r}")
    value = float(value) + 0.0  # -0.0 -> 0.0
    if not math.isfinite(value):
        raise ValueError(f"a {variant} condition needs a finite number, got {value!r}")
    if variant == "feedback" and not (value >= 1 and value.is_integer()):
        raise ValueError(f"feedback bits must be a whole number >= 1, got {value!r}")
    if variant == "stale" and value < 0:
        raise ValueError(f"a feedback delay must be >= 0 ms, got {value!r}")
    if variant == "fraction" and not 0 < value <= 1:
        raise ValueError(f"a training-data fraction must be in (0, 1], got {value!r}")
    return value


def condition_label(channel: str, csi: str, variant: str = "", value: float | None = None) -> str:
    """The ``condition`` label of ``results.csv``: the inverse of :func:`parse_condition`.

    :param channel: channel model, e.g. ``"TDL-A"``.
    :param csi: CSI mode, e.g. ``"ls"``.
    :param variant: ``""`` (main grid), ``"feedback"`` (bits), ``"stale"`` (delay in ms) or
        ``"fraction"`` (training-data fraction).
    :param value: the variant's number (``None`` for the main grid), written with ``:g``, so
        ``parse_condition(condition_label(...))["value"]`` gives it back when it has at most six
        significant digits.
    :returns: e.g. ``"TDL-A/ls"``, ``"TDL-A/ls/feedback-4bit"``, ``"TDL-A/ls/stale-0.5ms"``,
        ``"TDL-A/ls/fraction-0.1"``.
    """
    base = f"{_check_name('channel', channel)}/{_check_name('csi', csi)}"
    if variant == "":
        if value is not None:
            raise ValueError(f"a main-grid condition takes no value, got {value!r}")
        return base
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be '', {', '.join(_VARIANTS)}; got {variant!r}")
    prefix, suffix = _VARIANTS[variant]
    return f"{base}/{prefix}{_check_value(variant, value):g}{suffix}"


def parse_condition(label: str) -> dict:
    """Splits a ``condition`` label of ``results.csv``; the inverse of :func:`condition_label`.

    :param label: ``"CHANNEL/CSI"`` or ``"CHANNEL/CSI/VARIANT"`` with VARIANT ``feedback-<b>bit``,
        ``stale-<d>ms`` or ``fraction-<f>``, numbers in their ``:g`` form (``stale-5ms``, not
        ``stale-5.0ms``).
    :returns: ``{"channel": str, "csi": str, "variant": "" | "feedback" | "stale" | "fraction",
        "value": float | None}``.
    :raises ValueError: (one line) on any other text, including a number not in its ``:g`` form.
    """
    if not isinstance(label, str):
        raise ValueError(f"a condition label must be a string, got {label!r}")
    parts = label.split("/")
    if len(parts) not in (2, 3) or any(not p or p != p.strip() for p in parts):
        raise ValueError(f"malformed condition {label!r}: {_LABEL_HELP}")
    channel, csi = parts[0], parts[1]
    if len(parts) == 2:
        return {"channel": channel, "csi": csi, "variant": "", "value": None}
    text = parts[2]
    for variant, (prefix, suffix) in _VARIANTS.items():
        if not (text.startswith(prefix) and text.endswith(suffix)):
            continue
        number = text[len(prefix):len(text) - len(suffix)]
        if not _NUMBER.fullmatch(number):
            raise ValueError(f"malformed condition {label!r}: {number!r} is not a number")
        try:
            value = _check_value(variant, float(number))
        except ValueError as exc:
            raise ValueError(f"malformed condition {label!r}: {exc}") from None
        canonical = condition_label(channel, csi, variant, value)
        if canonical != label:
            raise ValueError(f"malformed condition {label!r}: write it as {canonical!r}")
        return {"channel": channel, "csi": csi, "variant": variant, "value": value}
    raise ValueError(f"malformed condition {label!r}: unknown variant {text!r}; {_LABEL_HELP}")


def _condition_title(channel: str, csi: str) -> str:
    return f"{channel}, {_CSI_TEXT.get(csi, f'{csi} CSI')}"


def _row_condition(row: dict) -> dict | None:
    """The parsed condition of a results row (from ``channel``/``csi`` when ``condition`` is empty)."""
    label = row.get("condition")
    if label is None or str(label).strip() == "":
        channel, csi = row.get("channel"), row.get("csi")
        if not channel or not csi:
            return None
        return parse_condition(condition_label(str(channel), str(csi)))
    return parse_condition(str(label).strip())


# -- shared helpers --------------------------------------------------------------------------------

def _ordered(names: Iterable[str]) -> list[str]:
    """Known schemes in :data:`SCHEMES` order, then the others in order of appearance."""
    seen = list(dict.fromkeys(str(n) for n in names))
    return [s for s in SCHEMES if s in seen] + [s for s in seen if s not in SCHEMES]


def _style(scheme: str) -> dict:
    """One colour and marker per scheme, the same in every figure."""
    i = SCHEMES.index(scheme) if scheme in SCHEMES else len(SCHEMES) + sum(map(ord, scheme))
    return {"color": f"C{i % 10}", "marker": _MARKERS[i % len(_MARKERS)]}


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
        cond = _row_condition(row)
        if cond is not None:
            out.append((row, cond))
    return out


# -- 1. accuracy vs Eb/N0 per condition ------------------------------------------------------------

def plot_condition_grid(rows: Iterable[dict], schemes: Sequence[str] | None = None,
                        conditions: Sequence[str] | None = None, ncols: int = 4) -> Figure:
    """Accuracy vs Eb/N0, one subplot per main-grid condition and one curve (with CI band) per scheme.

    :param rows: rows of ``results.csv`` (:func:`semcom_sim.sweep.read_results`); only rows whose
        ``condition`` is ``"CHANNEL/CSI"`` are drawn (rows without one use their ``channel`` and
        ``csi`` columns when both are set).
    :param schemes: schemes to draw, in legend order (default: all, known schemes in their
        canonical order); schemes without rows are left out of the figure and its legend.
    :param conditions: ``"CHANNEL/CSI"`` labels, one subplot each in this order (default: all,
        sorted by channel then CSI); a condition without rows gets a "no data" subplot.
    :param ncols: subplots per row.
    :returns: a figure with exactly one axes per condition (shared y axis [0, 1]), one line (and
        CI band) per scheme with data there, and one figure legend.
    :raises ValueError: when no selected scheme has a row under any selected condition, or a
        label is malformed or not a main-grid condition.
    """
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols!r}")
    by_cond: dict[str, dict[str, list[dict]]] = {}
    for row, cond in _parsed_rows(rows):
        if cond["variant"] == "":
            label = condition_label(cond["channel"], cond["csi"])
            by_cond.setdefault(label, {}).setdefault(str(row["scheme"]), []).append(row)
    if not by_cond:
        raise ValueError("no main-grid rows (condition CHANNEL/CSI) to plot")
    available = ", ".join(sorted(by_cond))
    if conditions is None:
        order = sorted(by_cond, key=lambda c: (parse_condition(c)["channel"], parse_condition(c)["csi"]))
    else:
        order = list(dict.fromkeys(conditions))
        if not order:
            raise ValueError("no conditions to plot (empty 'conditions')")
        for c in order:
            if parse_condition(c)["variant"]:
                raise ValueError(f"{c!r} is not a main-grid condition CHANNEL/CSI")
        if not any(c in by_cond for c in order):
            raise ValueError(f"no rows for condition(s) {', '.join(order)}; conditions in the results: {available}")
    present = _ordered(s for c in order for s in by_cond.get(c, {}))
    if schemes is None:
        scheme_list = present
    else:
        scheme_list = list(dict.fromkeys(str(s) for s in schemes))
        if not any(s in present for s in scheme_list):
            raise ValueError(f"no main-grid rows for scheme(s) {', '.join(scheme_list) or '(none)'}; "
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
        cond = parse_condition(label)
        ax.set_title(_condition_title(cond["channel"], cond["csi"]), fontsize=10)
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

    :param rows: rows of ``results.csv`` (:func:`semcom_sim.sweep.read_results`).
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
        label = condition_label(cond["channel"], cond["csi"])
        if cond["variant"] == "":
            main.setdefault(label, []).append(row)
        elif cond["variant"] in ("feedback", "stale"):
            (variants.setdefault(label, {"feedback": {}, "stale": {}})[cond["variant"]]
             .setdefault(cond["value"], []).append(row))
    if base is None:
        if not variants:
            raise ValueError(f"no feedback-<b>bit or stale-<d>ms rows for scheme {scheme!r}")
        if len(variants) > 1:
            raise ValueError(f"scheme {scheme!r} has robustness rows for several base conditions "
                             f"({', '.join(sorted(variants))}); pass base=")
        base = next(iter(variants))
    elif parse_condition(base)["variant"]:
        raise ValueError(f"base {base!r} is not a main-grid condition CHANNEL/CSI")
    if base not in variants:
        raise ValueError(f"no feedback-<b>bit or stale-<d>ms rows for scheme {scheme!r} under {base!r}")
    cond = parse_condition(base)
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
    fig.suptitle(f"{scheme}: robustness to SNR feedback errors ({_condition_title(cond['channel'], cond['csi'])})",
                 fontsize=11)
    return fig


# -- 3. training-data fraction ---------------------------------------------------------------------

def plot_fraction(rows: Iterable[dict], schemes: Sequence[str] | None = ("proposed", "no-kd")) -> Figure:
    """Accuracy vs training-data fraction, one line (with CI error bars) per scheme and Eb/N0 point.

    :param rows: rows of ``results.csv`` (:func:`semcom_sim.sweep.read_results`); only
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
        key = (scheme, condition_label(cond["channel"], cond["csi"]), float(row["ebno_db"]) + 0.0)
        groups.setdefault(key, []).append(row)
    if not groups:
        which = "any scheme" if wanted is None else f"scheme(s) {', '.join(schemes)}"
        raise ValueError(f"no fraction-<f> rows for {which}; schemes with such rows: "
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
                cond = parse_condition(key[1])
                label += f", {_condition_title(cond['channel'], cond['csi'])}"
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
        cond = parse_condition(next(iter(bases)))
        ax.set_title(f"Data requirement ({_condition_title(cond['channel'], cond['csi'])})", fontsize=10)
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
    ylabel = "Validation accuracy"
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
