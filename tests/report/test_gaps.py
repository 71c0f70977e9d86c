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
