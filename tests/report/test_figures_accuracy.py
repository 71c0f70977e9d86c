"""Tests of the accuracy plots: curves, CI bands, labels, the Es/N0 axis, atomic PNG writes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from semcom_sim.report.figures import plot_accuracy, save_figure
from semcom_sim.results import ResultsStore, read_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rows(offsets=None):
    offsets = offsets or {"proposed": 3.0, "no-adaptive": 3.0}
    rows = []
    for scheme, off in offsets.items():
        for channel in ("AWGN", "TDL-A"):
            for e in (-4.0, 0.0, 4.0, 8.0):
                acc = 0.5 + 0.05 * e + (0.05 if scheme == "proposed" else 0.0)
                rows.append(dict(scheme=scheme, channel=channel, ebno_db=e, esno_db=e + off, accuracy=acc,
                                 ci_low=acc - 0.02, ci_high=acc + 0.02, samples=1000, correct=int(acc * 1000),
                                 no=1.0, stop="ci", runtime_s=0.1, model_id="m"))
    return rows


def _secondary_axes(ax):
    return [c for c in ax.child_axes if c is not ax]


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_one_curve_and_band_per_scheme_channel():
    fig = plot_accuracy(_rows(), title="AWGN vs TDL-A")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.lines) == 4 and len(_bands(ax)) == 4
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["proposed, AWGN", "proposed, TDL-A", "no-adaptive, AWGN", "no-adaptive, TDL-A"]
    assert all(ln.get_marker() not in (None, "None", "") for ln in ax.lines)
    assert ax.get_xlabel() == "Eb/N0 [dB]" and ax.get_ylabel() == "Task accuracy"
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_title() == "AWGN vs TDL-A"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == labels
    assert not _secondary_axes(ax)


def test_a_comparison_file_gets_one_curve_per_condition_of_a_channel():
    rows = [{**r, "csi": csi, "variant": ""} for r in _rows({"proposed": 3.0}) for csi in ("ls", "perfect")]
    (ax,) = plot_accuracy(rows).axes
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["proposed, AWGN/ls", "proposed, AWGN/perfect", "proposed, TDL-A/ls", "proposed, TDL-A/perfect"]
    assert all(len(ln.get_xdata()) == 4 for ln in ax.lines)  # not one zig-zag through both conditions
    # one condition per channel (an ordinary run): curves keep the channel's name
    single = [r for r in rows if r["csi"] == "ls"]
    assert [ln.get_label() for ln in plot_accuracy(single).axes[0].lines] == ["proposed, AWGN", "proposed, TDL-A"]
    # a study's rows (here 2-bit SNR feedback) are a condition of their own, named by what they vary
    study = single + [{**r, "variant": "feedback", "snr_feedback_bits": 2} for r in single]
    assert [ln.get_label() for ln in plot_accuracy(study).axes[0].lines] == [
        "proposed, AWGN/ls", "proposed, AWGN/ls, 2-bit feedback", "proposed, TDL-A/ls",
        "proposed, TDL-A/ls, 2-bit feedback"]


def test_curves_selection_and_esno_x():
    fig = plot_accuracy(_rows(), x="esno_db", curves=[("no-adaptive", "TDL-A"), ("proposed", "AWGN")])
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.lines] == ["no-adaptive, TDL-A", "proposed, AWGN"]
    assert ax.get_xlabel() == "Es/N0 [dB]"
    assert list(ax.lines[0].get_xdata()) == [-1.0, 3.0, 7.0, 11.0]
    with pytest.raises(ValueError, match="no rows for curve"):
        plot_accuracy(_rows(), curves=[("proposed", "CDL-C")])
    with pytest.raises(ValueError, match="x must be"):
        plot_accuracy(_rows(), x="snr")


def test_secondary_esno_axis():
    fig = plot_accuracy(_rows(), show_esno_axis=True)
    ax = fig.axes[0]
    (sec,) = _secondary_axes(ax)
    assert sec.get_xlabel() == "Es/N0 [dB]"
    fig.draw_without_rendering()
    lo, hi = ax.get_xlim()
    assert sec.get_xlim() == pytest.approx((lo + 3.0, hi + 3.0))
    # different offsets: the axis names the curve it was fitted from
    fig = plot_accuracy(_rows({"proposed": 3.0, "no-adaptive": 1.0}), show_esno_axis=True)
    (sec,) = _secondary_axes(fig.axes[0])
    assert sec.get_xlabel() == "Es/N0 [dB] (proposed, AWGN)"


def test_plot_from_path_into_given_axes(tmp_path):
    store = ResultsStore(tmp_path / "r.csv")
    for row in _rows():
        store.put(row)
    fig = Figure()
    ax = fig.add_subplot()
    assert isinstance(ax, Axes)
    out = plot_accuracy(tmp_path / "r.csv", ax=ax, show_esno_axis=True)
    assert out is fig and len(ax.lines) == 4 and len(_bands(ax)) == 4
    assert len(plot_accuracy(read_results(tmp_path / "r.csv")).axes[0].lines) == 4
    with pytest.raises(ValueError, match="no results"):
        plot_accuracy([])


def test_save_figure_png_atomic(tmp_path):
    fig = plot_accuracy(_rows(), show_esno_axis=True)
    path = tmp_path / "plots" / "accuracy.png"
    save_figure(fig, path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in path.parent.iterdir()) == ["accuracy.png"]
    save_figure(fig, path)  # overwrite
    assert sorted(p.name for p in path.parent.iterdir()) == ["accuracy.png"]


def test_backend_left_alone_when_chosen():
    code = "import matplotlib, semcom_sim.report.figures; print(matplotlib.get_backend())"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "MPLBACKEND": "svg"})
    assert out.stdout.strip().lower() == "svg"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().lower() == "agg"
