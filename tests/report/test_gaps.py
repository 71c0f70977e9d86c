"""The gap to the finite-blocklength reference (semcom_sim.report.gaps): crossings interpolated between swept
points with their interval from the confidence bounds, 'at or below' and 'never in the range', gaps in dB."""

import pytest

from semcom_sim.report.gaps import Reach, first_reach, gap_table


def _row(scheme, ebno, acc, half=0.02, condition="AWGN/perfect"):
    return {"scheme": scheme, "ebno_db": ebno, "accuracy": acc, "ci_low": acc - half, "ci_high": acc + half,
            "condition": condition, "variant": ""}


def test_a_crossing_is_interpolated_with_its_interval_from_the_bounds():
    rows = [_row("s", 0.0, 0.50), _row("s", 10.0, 0.90)]
    reach = first_reach(rows, 0.70)
    # accuracy 0.7 halfway; the upper bound (0.52 -> 0.92) crosses at 4.5 dB, the lower (0.48 -> 0.88) at 5.5 dB
    assert reach == Reach(pytest.approx(5.0), pytest.approx(4.5), pytest.approx(5.5))
    assert reach.text() == "5.0 dB [4.5, 5.5]"
    assert first_reach(rows, 0.95) is None  # never in the range
    assert first_reach(rows, 0.40).text() == "<= 0 dB"  # already at the first point
    assert first_reach([_row("s", 0.0, 0.5), _row("s", 10.0, 0.895)], 0.88).high_db is None  # lower bound never


def test_the_first_crossing_counts_even_if_the_curve_dips_later():
    rows = [_row("s", 0.0, 0.5), _row("s", 5.0, 0.8), _row("s", 10.0, 0.7), _row("s", 15.0, 0.9)]
    assert first_reach(rows, 0.75).ebno_db == pytest.approx(5.0 * (0.25 / 0.3))


def test_the_gap_table_gives_each_schemes_distance_to_the_reference_in_db():
    rows = [_row("ideal-label", 0.0, 0.60), _row("ideal-label", 10.0, 0.90),
            _row("proposed", 0.0, 0.30), _row("proposed", 10.0, 0.70), _row("proposed", 20.0, 0.90),
            _row("digital", 0.0, 0.10), _row("digital", 10.0, 0.20), _row("digital", 20.0, 0.30),
            _row("proposed", 0.0, 0.99, condition="TDL-A/ls")]  # another condition: left out
    lines = gap_table(rows, "AWGN/perfect", ("proposed", "digital"), "ideal-label", 0.9, fractions=(0.8,))
    assert lines[0] == "| scheme | 80% (0.720) | gap |"
    by_scheme = {line.split(" | ")[0][2:]: line for line in lines[2:]}
    # 0.72: the reference at 4.0 dB, proposed at 11.0 dB (0.70 -> 0.90 over 10 dB): 7.0 dB further
    assert "| 4.0 dB [" in by_scheme["ideal-label"] and by_scheme["ideal-label"].endswith("| - |")
    assert "| 11.0 dB [" in by_scheme["proposed"] and by_scheme["proposed"].endswith("| +7.0 dB |")
    assert by_scheme["digital"].endswith("| never in the range | - |")


def _csv_row(scheme, ebno, acc, half=0.02, channel="AWGN", csi="perfect"):
    return {"scheme": scheme, "channel": channel, "csi": csi, "ebno_db": ebno, "accuracy": acc, "ci_low": acc - half,
            "ci_high": acc + half, "variant": "", "snr_feedback_bits": 4, "snr_feedback_delay_ms": 0.0,
            "train_fraction": 1.0, "fixed_length": None}


def test_the_gap_figure_puts_each_scheme_at_its_distance_to_the_reference():
    from semcom_sim.report.figures import plot_limit_gap

    rows = [_csv_row("ideal-label", 0.0, 0.60), _csv_row("ideal-label", 10.0, 0.90),
            _csv_row("proposed", 0.0, 0.30), _csv_row("proposed", 10.0, 0.70), _csv_row("proposed", 20.0, 0.90),
            _csv_row("digital", 0.0, 0.10), _csv_row("digital", 10.0, 0.20),
            _csv_row("fast", 0.0, 0.95), _csv_row("fast", 10.0, 0.95),
            _csv_row("proposed", 0.0, 0.5, channel="TDL-A", csi="ls")]  # no reference there: no panel
    fig = plot_limit_gap(rows, ("proposed", "digital", "fast"), "ideal-label", 0.9, fractions=(0.8,))
    (ax,) = fig.axes
    assert ax.get_title() == "AWGN, perfect CSI"
    points = {(round(float(line.get_xdata()[0]), 6), round(float(line.get_ydata()[0]), 6), line.get_marker())
              for line in ax.lines if line.get_marker() in ("o", "x", "<")}
    # 0.72: the reference at 4.0 dB, proposed at 11.0 dB (+7.0); digital never (a cross at the right edge, 2 dB
    # past the largest gap); fast already at 0 dB (at most 0 - 4 = -4 dB)
    assert points == {(7.0, 0.0, "o"), (9.0, 1.0, "x"), (-4.0, 2.0, "<")}
    # the bar: proposed's reach [10.0, 12.0] dB against the reference's [3.33, 4.67]: [+5.33, +8.67]
    bar = next(c for c in ax.collections if len(c.get_segments()) == 1).get_segments()[0]
    assert bar[:, 0] == pytest.approx([10.0 - 14 / 3, 12.0 - 10 / 3])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["proposed", "digital", "fast"]
    # the reference already there at 0 dB: a scheme reaching 0.72 at 5.5 dB is at least 5.5 dB further
    early = [_csv_row("ideal-label", 0.0, 0.80), _csv_row("ideal-label", 10.0, 0.90),
             _csv_row("proposed", 0.0, 0.50), _csv_row("proposed", 10.0, 0.90)]
    (ax,) = plot_limit_gap(early, ("proposed",), "ideal-label", 0.9, fractions=(0.8,)).axes
    drawn = [(float(line.get_xdata()[0]), line.get_marker()) for line in ax.lines if line.get_marker() != "None"]
    assert drawn == [(pytest.approx(5.5), ">")]
    with pytest.raises(ValueError, match="^no rows of the reference 'ideal-label' under any condition$"):
        plot_limit_gap(rows[2:], ("proposed",), "ideal-label", 0.9)
