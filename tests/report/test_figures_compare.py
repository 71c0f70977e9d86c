"""Tests of the comparison figures: test conditions from typed columns, readers, time to target, each plot,
the notebook."""

from __future__ import annotations

import copy
import csv
import math
import os
import sys
from pathlib import Path

import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from semcom_sim.errors import ResultsFileError
from semcom_sim.report.figures import (
    plot_condition_grid,
    plot_cost,
    plot_distillation,
    plot_fraction,
    plot_length_adaptation,
    plot_mismatch,
    plot_robustness,
    save_figure,
    time_to_target,
)
from semcom_sim.results import (
    COST_COLUMNS,
    DISTILLATION_COLUMNS,
    RESULT_COLUMNS,
    condition_name,
    read_cost,
    read_distillation,
    read_results,
    row_condition,
)
from semcom_sim.sweep import wilson_interval

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
COMPARE_NB = NOTEBOOKS / "02_compare.ipynb"
KERNEL = "python3"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EBNO = (-4.0, 0.0, 4.0, 8.0)
CONDITIONS = ("AWGN/perfect", "TDL-A/ls", "CDL-C/ls")
BASE = "TDL-A/ls"
CSV_COLUMNS = RESULT_COLUMNS
_COLUMN = {"feedback": "snr_feedback_bits", "stale": "snr_feedback_delay_ms", "fraction": "train_fraction",
           "length": "fixed_length"}


# -- synthetic data --------------------------------------------------------------------------------

def _row(scheme, condition, ebno, acc, samples=2000, variant="", value=None):
    channel, csi = condition.split("/")
    correct = round(acc * samples)
    low, high = wilson_interval(correct, samples)
    row = dict(scheme=scheme, channel=channel, ebno_db=ebno, esno_db=ebno + 1.89,
               accuracy=correct / samples, ci_low=low, ci_high=high, samples=samples, correct=correct,
               no=10 ** (-(ebno + 1.89) / 10), stop="ci", runtime_s=0.5, model_id="m", csi=csi, variant=variant,
               snr_feedback_bits=4, snr_feedback_delay_ms=0.0, train_fraction=1.0)
    if variant:
        row[_COLUMN[variant]] = value
    return row


def _acc(ebno, offset=0.0, floor=0.1, top=0.9):
    return floor + (top - floor) / (1 + math.exp(-(ebno - offset) / 2.5))


def _results():
    """3 schemes x 3 conditions x 4 Eb/N0 (no digital under CDL-C/ls), robustness and fraction rows."""
    rows = []
    offsets = {"AWGN/perfect": -2.0, "TDL-A/ls": 1.0, "CDL-C/ls": 2.0}
    for scheme, shift in (("proposed", 0.0), ("no-adaptive", 1.0), ("digital", 3.0)):
        for condition in CONDITIONS:
            if scheme == "digital" and condition == "CDL-C/ls":
                continue
            rows += [_row(scheme, condition, e, _acc(e, offsets[condition] + shift)) for e in EBNO]
    for bits in (2, 4, 8):
        rows += [_row("proposed", BASE, e, _acc(e, 1 + 4 / bits), variant="feedback", value=bits) for e in EBNO]
    for delay in (0.5, 5.0):
        rows += [_row("proposed", BASE, e, _acc(e, 1 + delay / 2), variant="stale", value=delay) for e in EBNO]
    for scheme, top in (("proposed", 0.9), ("no-kd", 0.85)):
        for f in (0.1, 0.5, 1.0):
            for e in (0.0, 12.0):
                rows.append(_row(scheme, BASE, e, _acc(e, 1.0, top=top - 0.1 * (1 - f)), variant="fraction",
                                 value=f))
    return rows


def _distillation():
    rows = []
    for scheme, kind, walls, accs in (("proposed", "cached", (10, 20, 30, 40), (0.6, 0.8, 0.86, 0.88)),
                                      ("no-kd", "none", (8, 16, 24, 32), (0.5, 0.7, 0.8, 0.84)),
                                      ("online-kd", "online", (100, 200), (0.84, 0.9))):
        for epoch, (wall, acc) in enumerate(zip(walls, accs), start=1):
            rows.append(dict(scheme=scheme, distillation=kind, epoch=epoch, wall_s=float(wall), val_accuracy=acc,
                             target_accuracy=0.85, target_ebno_db=10.0))
    return rows


def _cost():
    return [
        dict(scheme="proposed", component="student", parameters=120_000, bytes=480_000, flops_per_sample=2.4e6,
             latency_ms=0.8, latency_p90_ms=1.1, device="cpu"),
        dict(scheme="online-kd", component="teacher", parameters=4_000_000, bytes=16_000_000,
             flops_per_sample=4.0e8, latency_ms=12.0, latency_p90_ms=15.0, device="cpu"),
        dict(scheme="teacher-over-channel", component="teacher+channel-encoder", parameters=4_100_000,
             bytes=16_400_000, flops_per_sample=4.1e8, latency_ms=13.0, latency_p90_ms=16.5, device="cpu"),
        dict(scheme="digital", component="digital student", parameters=110_000, bytes=440_000,
             flops_per_sample=2.2e6, latency_ms=None, latency_p90_ms=None, device="cpu"),
    ]


def _write_csv(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else (repr(row[c]) if isinstance(row[c], float) else row[c])
                             for c in columns})


def _write_compare_dir(out: Path, *, summary=True) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "results.csv", _results(), CSV_COLUMNS)
    _write_csv(out / "distillation.csv", _distillation(), DISTILLATION_COLUMNS)
    _write_csv(out / "cost.csv", _cost(), COST_COLUMNS)
    if summary:
        (out / "summary.md").write_text("# compare-synthetic\n\n| scheme | accuracy |\n|---|---:|\n"
                                        "| proposed | 0.9 |\n")
    return out


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


# -- test conditions from typed columns --------------------------------------------------------------

@pytest.mark.parametrize("variant, column, value, name", [
    ("", None, None, "TDL-A/ls"),
    ("feedback", "snr_feedback_bits", 2, "TDL-A/ls, 2-bit feedback"),
    ("stale", "snr_feedback_delay_ms", 0.5, "TDL-A/ls, feedback 0.5 ms old"),
    ("fraction", "train_fraction", 0.1, "TDL-A/ls, fraction 0.1"),
])
def test_row_condition_reads_the_typed_columns(variant, column, value, name):
    row = _row("proposed", BASE, 0.0, 0.5, variant=variant, value=value)
    cond = row_condition(row)
    assert (cond["label"], cond["channel"], cond["csi"], cond["variant"]) == ("TDL-A/ls", "TDL-A", "ls", variant)
    assert cond["value"] == (None if not variant else float(value))
    assert condition_name(row) == name


def test_row_condition_errors_and_rows_without_csi():
    row = _row("proposed", BASE, 0.0, 0.5)
    assert row_condition(dict(row, csi=None)) is None
    with pytest.raises(ValueError, match="unknown variant 'snr'"):
        row_condition(dict(row, variant="snr"))
    with pytest.raises(ValueError, match="a stale row needs a number in column 'snr_feedback_delay_ms'"):
        row_condition(dict(row, variant="stale", snr_feedback_delay_ms=None))


# -- readers ---------------------------------------------------------------------------------------

def test_results_csv_keeps_the_condition_columns_typed(tmp_path):
    out = _write_compare_dir(tmp_path / "cmp")
    rows = read_results(out / "results.csv")
    assert len(rows) == len(_results())
    assert (rows[0]["channel"], rows[0]["csi"], rows[0]["variant"]) == ("AWGN", "perfect", None)
    studies = {(r["variant"], r["snr_feedback_bits"], r["snr_feedback_delay_ms"], r["train_fraction"])
               for r in rows if r["variant"]}
    assert ("feedback", 2, 0.0, 1.0) in studies and ("stale", 4, 0.5, 1.0) in studies
    assert ("fraction", 4, 0.0, 0.1) in studies
    assert all(isinstance(r["snr_feedback_bits"], int) and isinstance(r["train_fraction"], float) for r in rows)


@pytest.mark.parametrize("old", ["frames", "condition"])
def test_a_results_file_of_the_old_schema_names_what_replaced_its_column(tmp_path, old):
    path = tmp_path / "results.csv"
    header = [old if c == ("samples" if old == "frames" else "variant") else c for c in RESULT_COLUMNS]
    path.write_text(",".join(header) + "\n")
    with pytest.raises(ResultsFileError, match=f"column '{old}' is now") as info:
        read_results(path)
    assert "\n" not in str(info.value)


def test_read_cost_and_distillation_are_typed(tmp_path):
    out = _write_compare_dir(tmp_path / "cmp")
    cost = read_cost(out / "cost.csv")
    assert [r["component"] for r in cost] == [r["component"] for r in _cost()]
    assert cost[0]["parameters"] == 120_000 and isinstance(cost[0]["parameters"], int)
    assert cost[0]["flops_per_sample"] == 2.4e6 and cost[0]["latency_p90_ms"] == 1.1
    assert cost[-1]["latency_ms"] is None and cost[-1]["device"] == "cpu"
    dist = read_distillation(out / "distillation.csv")
    assert len(dist) == 10
    assert dist[0] == dict(scheme="proposed", distillation="cached", epoch=1, wall_s=10.0, val_accuracy=0.6,
                           target_accuracy=0.85, target_ebno_db=10.0)
    assert time_to_target(dist) == {"proposed": 30.0, "no-kd": None, "online-kd": 200.0}


def test_readers_keep_unknown_columns_and_fill_missing_optional(tmp_path):
    path = tmp_path / "cost.csv"
    path.write_text("scheme,component,parameters,note\nproposed,student,1e5,fast\n")
    (row,) = read_cost(path)
    assert row["parameters"] == 100_000 and row["note"] == "fast"
    assert row["flops_per_sample"] is None and row["latency_ms"] is None and row["device"] is None
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert read_cost(empty) == [] and read_distillation(empty) == []


@pytest.mark.parametrize("text, match", [
    ("scheme,parameters\nproposed,1\n", "missing column.*component"),
    ("scheme,component,parameters\nproposed,student,many\n", "line 2: column 'parameters' is 'many'"),
    ("scheme,component,parameters\nproposed,student,1.5\n", "expected an integer"),
    ("scheme,component\n,student\n", "column 'scheme' is empty"),
    ("scheme,component\nproposed,student,extra\n", "line 2"),
])
def test_read_cost_errors_are_one_line(tmp_path, text, match):
    path = tmp_path / "cost.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_cost(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_distillation_errors(tmp_path):
    path = tmp_path / "distillation.csv"
    path.write_text("scheme,distillation,epoch,wall_s\nproposed,cached,1,3.0\n")
    with pytest.raises(ValueError, match="missing column.*val_accuracy"):
        read_distillation(path)
    path.write_text("scheme,distillation,epoch,wall_s,val_accuracy\nproposed,cached,one,3.0,0.5\n")
    with pytest.raises(ValueError, match="'epoch' is 'one'"):
        read_distillation(path)
    with pytest.raises(FileNotFoundError, match="no such distillation file"):
        read_distillation(tmp_path / "absent.csv")


# -- time to target --------------------------------------------------------------------------------

def _d(scheme, epoch, wall, acc, target=0.8):
    return dict(scheme=scheme, distillation="cached", epoch=epoch, wall_s=wall, val_accuracy=acc,
                target_accuracy=target, target_ebno_db=10.0)


def test_time_to_target_hand_checked():
    rows = [
        _d("a", 1, 5.0, 0.5), _d("a", 2, 11.0, 0.8), _d("a", 3, 16.0, 0.9),  # equal counts: 11 s
        _d("b", 3, 30.0, 0.95), _d("b", 1, 10.0, 0.7), _d("b", 2, 20.0, 0.85),  # unsorted epochs: 20 s
        _d("c", 1, 4.0, 0.79), _d("c", 2, 8.0, 0.7999),  # never
        _d("d", 1, 2.0, 0.99, target=None),  # no target
        _d("e", 1, 3.0, 0.81), _d("e", 2, 6.0, 0.5),  # first epoch counts even if it drops later
    ]
    assert time_to_target(rows) == {"a": 11.0, "b": 20.0, "c": None, "d": None, "e": 3.0}
    assert list(time_to_target(rows)) == ["a", "b", "c", "d", "e"]
    assert time_to_target([]) == {}


# -- figures ---------------------------------------------------------------------------------------

def test_condition_grid_one_axes_per_condition_one_line_per_scheme(tmp_path):
    rows = _results()
    fig = plot_condition_grid(rows)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["AWGN, perfect CSI", "CDL-C, LS CSI", "TDL-A, LS CSI"]  # sorted by channel, csi
    per_axes = [[ln.get_label() for ln in ax.lines] for ax in fig.axes]
    assert per_axes == [["proposed", "no-adaptive", "digital"], ["proposed", "no-adaptive"],
                        ["proposed", "no-adaptive", "digital"]]
    assert [len(_bands(ax)) for ax in fig.axes] == [3, 2, 3]
    for ax in fig.axes:
        assert ax.get_ylim() == (0.0, 1.0)
        assert all(ln.get_marker() not in (None, "None", "") for ln in ax.lines)
        assert ax.get_legend() is None
        assert len(ax.lines[0].get_xdata()) == len(EBNO)
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["proposed", "no-adaptive", "digital"]
    # one colour per scheme across panels
    colors = {ln.get_label(): set() for ax in fig.axes for ln in ax.lines}
    for ax in fig.axes:
        for ln in ax.lines:
            colors[ln.get_label()].add(ln.get_color())
    assert all(len(c) == 1 for c in colors.values())
    assert fig.axes[0].get_ylabel() == "Task accuracy" and fig.axes[2].get_xlabel() == "Eb/N0 [dB]"
    save_figure(fig, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes().startswith(PNG_SIGNATURE)


def test_condition_grid_selection_order_and_layout():
    rows = _results()
    fig = plot_condition_grid(rows, schemes=["digital", "proposed"], conditions=["TDL-A/ls", "CDL-C/ls"], ncols=1)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["TDL-A, LS CSI", "CDL-C, LS CSI"]
    assert [[ln.get_label() for ln in ax.lines] for ax in fig.axes] == [["digital", "proposed"], ["proposed"]]
    assert fig.axes[0].get_subplotspec().get_geometry()[:2] == (2, 1)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["digital", "proposed"]
    # a condition or scheme without rows: an empty panel, a scheme left out (as for a partial comparison)
    fig = plot_condition_grid(rows, schemes=["proposed", "fixed-snr"], conditions=["Rayleigh/ls", "AWGN/perfect"])
    assert len(fig.axes) == 2 and not fig.axes[0].lines and fig.axes[0].texts[0].get_text() == "no data"
    assert [ln.get_label() for ln in fig.axes[1].lines] == ["proposed"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["proposed"]
    # more conditions than columns: rows of panels, x labels only where no panel is below
    five = rows + [_row("proposed", c, e, 0.5) for c in ("Rayleigh/perfect", "TDL-A/perfect") for e in EBNO]
    fig = plot_condition_grid(five, ncols=4)
    assert len(fig.axes) == 5 and fig.axes[0].get_subplotspec().get_geometry()[:2] == (2, 4)
    assert [bool(ax.get_xlabel()) for ax in fig.axes] == [False, True, True, True, True]
    assert [bool(ax.get_ylabel()) for ax in fig.axes] == [True, False, False, False, True]
    # the plain rows of one condition only
    bare = [r for r in rows if (r["channel"], r["csi"], r["variant"]) == ("AWGN", "perfect", "")]
    assert [ax.get_title() for ax in plot_condition_grid(bare).axes] == ["AWGN, perfect CSI"]


def test_condition_grid_errors():
    rows = _results()
    with pytest.raises(ValueError, match="no rows of the plain evaluation"):
        plot_condition_grid([])
    with pytest.raises(ValueError, match="no rows of the plain evaluation"):
        plot_condition_grid([r for r in rows if r["variant"] == "fraction"])
    with pytest.raises(ValueError, match="no rows for condition\\(s\\) Rayleigh/ls; conditions in the results: "
                                         "AWGN/perfect, CDL-C/ls, TDL-A/ls"):
        plot_condition_grid(rows, conditions=["Rayleigh/ls"])
    with pytest.raises(ValueError, match="not a test condition CHANNEL/CSI"):
        plot_condition_grid(rows, conditions=["TDL-A/ls/stale-5ms"])
    with pytest.raises(ValueError, match="no rows of the plain evaluation for scheme\\(s\\) fixed-snr; schemes in "
                                         "the results: proposed, no-adaptive, digital"):
        plot_condition_grid(rows, schemes=["fixed-snr"])
    with pytest.raises(ValueError, match="no rows of the plain evaluation for scheme"):
        plot_condition_grid(rows, schemes=["digital"], conditions=["CDL-C/ls"])
    with pytest.raises(ValueError, match="ncols"):
        plot_condition_grid(rows, ncols=0)
    with pytest.raises(ValueError, match="unknown variant"):
        plot_condition_grid(rows + [dict(rows[0], variant="stale-5ms")])


def test_robustness_two_panels(tmp_path):
    fig = plot_robustness(_results())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    feedback, stale = fig.axes
    assert [ln.get_label() for ln in feedback.lines] == ["base condition", "2-bit feedback", "4-bit feedback",
                                                         "8-bit feedback"]
    assert [ln.get_label() for ln in stale.lines] == ["base condition", "0.5 ms delay", "5 ms delay"]
    assert len(_bands(feedback)) == 4 and len(_bands(stale)) == 3
    assert feedback.get_ylim() == (0.0, 1.0) and feedback.get_xlabel() == "Eb/N0 [dB]"
    assert "TDL-A, LS CSI" in fig.get_suptitle()
    save_figure(fig, tmp_path / "robust.pdf")
    assert (tmp_path / "robust.pdf").read_bytes().startswith(b"%PDF")


def test_robustness_partial_and_errors():
    rows = _results()
    no_stale = [r for r in rows if r["variant"] != "stale"]
    fig = plot_robustness(no_stale, base=BASE)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 1  # base only, and a note
    assert any("no stale variants" in t.get_text() for t in fig.axes[1].texts)
    with pytest.raises(ValueError, match="no feedback or stale rows for scheme 'digital'"):
        plot_robustness(rows, scheme="digital")
    with pytest.raises(ValueError, match="under 'AWGN/perfect'"):
        plot_robustness(rows, base="AWGN/perfect")
    with pytest.raises(ValueError, match="not a test condition CHANNEL/CSI"):
        plot_robustness(rows, base="TDL-A/ls/stale-5ms")
    with pytest.raises(ValueError, match="several base conditions"):
        plot_robustness(rows + [_row("proposed", "AWGN/perfect", 0.0, 0.5, variant="feedback", value=2)])
    with pytest.raises(ValueError):
        plot_robustness([])


def test_fraction_lines_per_scheme_and_ebno(tmp_path):
    fig = plot_fraction(_results())
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [ln.get_label() for ln in ax.lines] == ["proposed, 0 dB", "proposed, 12 dB", "no-kd, 0 dB",
                                                   "no-kd, 12 dB"]
    assert all(len(ln.get_xdata()) == 3 for ln in ax.lines)
    assert list(ax.lines[0].get_xdata()) == [0.1, 0.5, 1.0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "0.5", "1"]
    assert ax.lines[0].get_color() == ax.lines[1].get_color() != ax.lines[2].get_color()
    assert ax.lines[0].get_linestyle() != ax.lines[1].get_linestyle()
    assert len(ax.collections) == 4  # one set of CI error bars per line
    save_figure(fig, tmp_path / "fraction.png")
    assert (tmp_path / "fraction.png").read_bytes().startswith(PNG_SIGNATURE)
    only = plot_fraction(_results(), schemes=["no-kd", "fixed-snr"])
    assert [ln.get_label() for ln in only.axes[0].lines] == ["no-kd, 0 dB", "no-kd, 12 dB"]
    narrow = [r for r in _results() if r["variant"] == "fraction" and r["train_fraction"] in (0.5, 1.0)]
    assert plot_fraction(narrow, schemes=None).axes[0].get_xscale() == "linear"


def test_fraction_errors():
    with pytest.raises(ValueError, match="no fraction rows for scheme\\(s\\) digital; schemes with such rows: "
                                         "proposed, no-kd"):
        plot_fraction(_results(), schemes=["digital"])
    with pytest.raises(ValueError, match="no fraction rows"):
        plot_fraction([r for r in _results() if r["variant"] != "fraction"])
    with pytest.raises(ValueError, match="no fraction rows"):
        plot_fraction([])


def test_distillation_lines_target_and_annotations(tmp_path):
    fig = plot_distillation(_distillation())
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["proposed (cached KD): target in 30 s", "no-kd (no KD): target not reached",
                      "online-kd (online KD): target in 200 s", "target 0.85 at 10 dB"]
    assert list(ax.lines[0].get_xdata()) == [10.0, 20.0, 30.0, 40.0]
    assert all(ln.get_marker() not in (None, "None", "") for ln in ax.lines[:3])
    target = ax.lines[3]
    assert target.get_linestyle() == "--" and list(target.get_ydata()) == [0.85, 0.85]
    assert sorted(t.get_text() for t in ax.texts) == ["200 s", "30 s"]
    assert ax.get_xlabel() == "Cumulative training time [s]" and "10 dB" in ax.get_ylabel()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == labels
    save_figure(fig, tmp_path / "dist.png")
    assert (tmp_path / "dist.png").read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="no distillation rows"):
        plot_distillation([])
    with pytest.raises(ValueError, match="no distillation rows"):
        plot_distillation([_d("a", 1, None, 0.5)])


def test_cost_three_log_panels(tmp_path):
    fig = plot_cost(_cost())
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    params, flops, latency = fig.axes
    assert [ax.get_xscale() for ax in fig.axes] == ["log"] * 3
    assert len(params.patches) == 4 and len(flops.patches) == 4
    assert len(latency.patches) == 3  # the digital student has no latency
    assert any(t.get_text() == "n/a" for t in latency.texts)
    assert [t.get_text() for t in params.get_yticklabels()] == [
        "proposed: student", "online-kd: teacher", "teacher-over-channel: teacher+channel-encoder",
        "digital student"]  # the scheme is left out where the component already names it
    assert params.patches[0].get_width() == 120_000
    assert "cpu" in latency.get_title()
    assert [ln.get_label() for ln in latency.lines] == ["p90"]
    save_figure(fig, tmp_path / "cost.png")
    assert (tmp_path / "cost.png").read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="no cost rows"):
        plot_cost([])
    with pytest.raises(ValueError, match="no cost rows"):
        plot_cost([dict(scheme="proposed", component="student")])


def test_module_does_not_import_tensorflow():
    import subprocess

    code = ("import sys, semcom_sim.report.figures as m; "
            "assert 'tensorflow' not in sys.modules and 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                                os.environ.get("PYTHONPATH")]))))


# -- the notebook ----------------------------------------------------------------------------------

nbformat = pytest.importorskip("nbformat")


def test_compare_notebook_is_valid_and_only_draws():
    nb = nbformat.read(COMPARE_NB, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == KERNEL
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and sum(c.cell_type == "markdown" for c in nb.cells) >= 5
    assert not [o for c in code for o in c.outputs if o.get("name") == "stderr"]  # not kept (execute_notebooks)
    source = "\n".join(c.source for c in code)
    for needle in ("SEMCOM_NOTEBOOK_COMPARE_DIR", "../docs/results/compare_fashion_mnist", "summary.md",
                   "plot_condition_grid,", "plot_robustness,", "plot_fraction,", "plot_distillation,", "plot_cost,",
                   "read_results", "read_cost", "read_distillation"):
        assert needle in source, needle
    for forbidden in ("Experiment", "compare(", "subprocess", "semcom_sim.experiment"):
        assert forbidden not in source, forbidden  # it only loads and draws


def _execute(compare_dir: Path, kernel: str, monkeypatch):
    import nbclient

    monkeypatch.setenv("SEMCOM_NOTEBOOK_COMPARE_DIR", str(compare_dir))
    monkeypatch.delenv("SEMCOM_DEBUG", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(COMPARE_NB, as_version=4)
    original = copy.deepcopy(nb)
    client = nbclient.NotebookClient(nb, kernel_name=kernel, timeout=300, startup_timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    assert nbformat.read(COMPARE_NB, as_version=4) == original  # the file in the repository is untouched
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    markdown = [o.get("data", {}).get("text/markdown", "") for o in outputs]
    return text, images, markdown


@pytest.mark.slow
def test_compare_notebook_runs_on_synthetic_dir(tmp_path, monkeypatch, venv_kernel):
    compare_dir = _write_compare_dir(tmp_path / "compare")
    text, images, markdown = _execute(compare_dir, venv_kernel, monkeypatch)
    assert "skipped" not in text, text
    assert len(images) == 5  # grid, robustness of proposed, fraction, distillation, cost
    assert any("# compare-synthetic" in m for m in markdown), "no summary"
    assert any("| proposed | 30.0 |" in m and "| no-kd | not reached |" in m for m in markdown), "no time table"
    assert sorted(p.name for p in compare_dir.iterdir()) == ["cost.csv", "distillation.csv", "results.csv",
                                                              "summary.md"]  # it wrote nothing


@pytest.mark.slow
def test_compare_notebook_skips_missing_files(tmp_path, monkeypatch, venv_kernel):
    compare_dir = _write_compare_dir(tmp_path / "partial", summary=False)
    (compare_dir / "cost.csv").unlink()
    (compare_dir / "results.csv").write_text(",".join(CSV_COLUMNS) + "\n")  # a header only: nothing to draw
    text, images, _ = _execute(compare_dir, venv_kernel, monkeypatch)
    assert len(images) == 1  # distillation only
    assert "summary.md not found" in text and "cost.csv not found" in text
    assert "skipped the accuracy grid" in text and "skipped robustness" in text
    assert "skipped the data-requirement figure" in text
    text, images, _ = _execute(tmp_path / "absent", venv_kernel, monkeypatch)
    assert not images and "not found" in text


# -- 6. channel adaptation --------------------------------------------------------------------------

def _length_rows():
    rows = []
    for e in EBNO:
        deployed = _row("adaptive-length", BASE, e, _acc(e, 1.0))
        deployed["channel_uses"] = 64.0 if e < 4 else 16.0
        rows.append(deployed)
        for length in (4, 16, 64):
            row = _row("adaptive-length", BASE, e, _acc(e, 1.0 + 16 / length), variant="length", value=length)
            row["channel_uses"] = float(length)
            rows.append(row)
    return rows


def test_length_adaptation_draws_every_fixed_length_and_the_policy(tmp_path):
    policy = {"levels_db": [-2.0, 2.0, 6.0], "samples": [300, 0, 400], "raw": [64, 64, 16], "policy": [64, 64, 16],
              "lengths": [4, 16, 64], "tolerance": 0.005}
    fig = plot_length_adaptation(_length_rows(), policy=policy)
    accuracy, uses, table = fig.axes[:3]
    assert [ln.get_label() for ln in accuracy.lines] == ["L = 4", "L = 16", "L = 64", "L*(q) (deployed)"]
    assert list(uses.lines[-1].get_ydata()) == [64.0, 64.0, 16.0, 16.0]  # what the deployed policy sent
    assert list(table.lines[1].get_xdata()) == [-2.0, 6.0]  # only the levels that held-out samples reached
    assert len(plot_length_adaptation(_length_rows()).axes) == 2  # no policy: no third panel
    save_figure(fig, tmp_path / "length.png")
    assert (tmp_path / "length.png").read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="no length rows"):
        plot_length_adaptation(_results())


def test_mismatch_matrix_cells_and_errors():
    rows = []
    for a in (0.0, 12.0):
        for b in (0.0, 12.0):
            rows.append(dict(scheme="adaptive-length", study="mismatch", ebno_db=b, fed_ebno_db=a,
                             accuracy=0.5 + 0.02 * b - (0.1 if a > b else 0.0), channel_uses=64.0 if a == 0 else 16.0,
                             difference=0.0 if a == b else (-0.1 if a > b else 0.0), p_value=0.001 if a > b else 1.0))
    fig = plot_mismatch(rows)
    accuracy, uses = fig.axes[:2]  # two heatmaps (their colour bars follow)
    texts = [t.get_text() for t in accuracy.texts]
    assert "0.400\n-10.0*" in texts and "0.740\n+0.0" in texts and "0.500" in texts
    assert sorted(t.get_text() for t in uses.texts) == ["16.0", "16.0", "64.0", "64.0"]
    with pytest.raises(ValueError, match="no mismatch rows"):
        plot_mismatch([dict(r, study="shuffle") for r in rows])


def test_every_built_in_scheme_has_its_own_colour_and_papers_are_told_apart_by_line_style():
    from semcom_sim.report.figures import _style
    from semcom_sim.schemes import BUILTIN_NAMES

    styles = {name: _style(name) for name in BUILTIN_NAMES}
    assert len({s["color"] for s in styles.values()}) == len(BUILTIN_NAMES)  # no two share a colour
    assert {s["linestyle"] for n, s in styles.items() if n.startswith("rkd-sc")} == {"--"}
    assert {s["linestyle"] for n, s in styles.items() if not n.startswith("rkd-sc") and n != "pusch"} == {"-"}
    assert styles["pusch"]["linestyle"] == ":" and styles["pusch"]["color"] == "black"  # a standard chain: reference
    assert _style("my-scheme") == _style("my-scheme") and _style("my-scheme")["linestyle"] == ":"


def test_the_antenna_study_draws_one_panel_per_base_scheme_and_one_curve_per_configuration():
    from semcom_sim.report.figures import plot_antenna_study
    from semcom_sim.schemes import split_antenna_scheme

    assert split_antenna_scheme("adaptive-length-2x4-2") == ("adaptive-length", "2x4-2")
    assert split_antenna_scheme("rkd-sc-handcrafted-1x4") == ("rkd-sc-handcrafted", "1x4")  # the longest base
    assert split_antenna_scheme("proposed") is None and split_antenna_scheme("wide-decoder") is None
    configurations = {"1x1": 0.0, "1x4": -4.0, "2x4-2": 2.0}
    rows = [_row(f"{base}-{c}", "CDL-C/ls", e, _acc(e, offset)) for base in ("proposed", "pusch")
            for c, offset in configurations.items() for e in (-6.0, 0.0, 6.0, 12.0)]
    rows.append(_row("proposed", "CDL-C/ls", 0.0, 0.5))  # not an antenna scheme: left out
    rows.append(_row("proposed-1x4", "CDL-C/ls", 0.0, 0.5, variant="feedback", value=2))  # a study's row: left out
    fig = plot_antenna_study(rows)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["proposed", "pusch"]
    for ax in axes:
        assert len(ax.lines) == 3 and all(len(line.get_xdata()) == 4 for line in ax.lines)
    assert [line.get_color() for line in axes[0].lines] == [line.get_color() for line in axes[1].lines]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(configurations)
    with pytest.raises(ValueError, match="no rows of antenna schemes"):
        plot_antenna_study([_row("proposed", "CDL-C/ls", 0.0, 0.5)])

