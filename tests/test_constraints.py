"""The declarative field constraints (``semcom_sim.constraints``): boundaries, one-line messages, ``None`` for
optional fields, and how a scenario section reads them from its annotations. Pure Python, no TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest

from semcom_sim.constraints import (
    NON_NEGATIVE,
    POSITIVE,
    All,
    Distinct,
    Each,
    Min,
    NonEmpty,
    OneOf,
    Ordered,
    Range,
    Satisfies,
    check,
    describe,
)
from semcom_sim.errors import ScenarioError
from semcom_sim.scenario import Compare, Data, Phy, Search, Sweep, Teacher, _Section, field_constraints


def _reason(constraint, value) -> str | None:
    return constraint.problem(value)


# -- each constraint: the boundary on both sides, its message and its reference text --------------------------

@pytest.mark.parametrize("constraint, ok, bad, message, text", [
    (POSITIVE, 1, 0, "must be > 0, got 0", "> 0"),
    (POSITIVE, 1e-9, -0.5, "must be > 0, got -0.5", "> 0"),
    (NON_NEGATIVE, 0, -1, "must be >= 0, got -1", ">= 0"),
    (NON_NEGATIVE, 0.0, -0.1, "must be >= 0, got -0.1", ">= 0"),
    (Min(3), 3, 2, "must be >= 3, got 2", ">= 3"),
    (Min(0.5, strict=True), 0.6, 0.5, "must be > 0.5, got 0.5", "> 0.5"),
])
def test_min(constraint, ok, bad, message, text):
    assert constraint.holds(ok) and _reason(constraint, ok) is None
    assert not constraint.holds(bad) and _reason(constraint, bad) == message
    assert constraint.describe() == text


@pytest.mark.parametrize("closed, text, low_ok, high_ok", [
    ("both", "[0, 1]", True, True),
    ("left", "[0, 1)", True, False),
    ("right", "(0, 1]", False, True),
    ("neither", "(0, 1)", False, False),
])
def test_range_ends(closed, text, low_ok, high_ok):
    r = Range(0.0, 1.0, closed=closed)
    assert r.describe() == text
    assert r.holds(0.5) and not r.holds(-0.01) and not r.holds(1.01)
    assert r.holds(0.0) is low_ok and r.holds(1.0) is high_ok
    if not high_ok:
        assert _reason(r, 1.0) == f"must be in {text}, got 1.0"


def test_an_integer_range_reads_low_dot_dot_high():
    r = Range(1, 16)
    assert r.describe() == "1..16"
    assert r.holds(1) and r.holds(16) and not r.holds(0) and not r.holds(17)
    assert _reason(r, 17) == "must be in 1..16, got 17"
    with pytest.raises(ValueError, match="closed must be one of"):
        Range(0, 1, closed="open")


def test_one_of():
    c = OneOf(("perfect", "ls"))
    assert c.holds("ls") and not c.holds("mmse") and not c.holds("LS")
    assert _reason(c, "mmse") == "'mmse' is not one of perfect, ls"
    assert c.describe() == "one of: perfect, ls"
    named = OneOf(("AWGN", "TDL-A"), text="AWGN, TDL-A..E")
    assert _reason(named, "TDL-Z") == "'TDL-Z' is not one of AWGN, TDL-A..E"
    assert OneOf((1, 2)).describe() == "one of: 1, 2"


def test_non_empty_and_distinct():
    assert NonEmpty().holds((1,)) and NonEmpty().holds("a")
    for blank in ((), "", "   "):
        assert _reason(NonEmpty(), blank) == "must not be empty"
    assert Distinct().holds((1.0, 2.0)) and Distinct().holds(())
    assert _reason(Distinct(), (1.0, 1.0)) == "has repeated values: (1.0, 1.0)"


def test_ordered_pairs():
    assert Ordered().holds((3.0, 3.0)) and not Ordered().holds((3.0, 1.0))
    assert _reason(Ordered(), (3.0, 1.0)) == "low must not exceed high, got (3.0, 1.0)"
    assert not Ordered(strict=True).holds((5.0, 5.0)) and Ordered(strict=True).holds((4.0, 5.0))
    assert _reason(Ordered(strict=True), (5.0, 5.0)) == "low must be below high, got (5.0, 5.0)"


def test_each_names_the_element_or_the_whole_value():
    assert Each(POSITIVE).holds(()) and Each(POSITIVE).holds((1, 2))
    assert _reason(Each(POSITIVE), (3, 0, -1)) == "must be > 0, got 0"  # the first element that fails
    assert _reason(Each(OneOf(("a", "b"))), ("a", "c")) == "'c' is not one of a, b"
    assert _reason(Each(Range(1, 16), message="each must be in 1..16, got {item!r}"), (4, 17)) == \
        "each must be in 1..16, got 17"
    assert _reason(Each(POSITIVE, message="all widths must be > 0, got {value!r}"), (32, 0)) == \
        "all widths must be > 0, got (32, 0)"
    assert Each(POSITIVE).describe() == "each > 0"


def test_all_and_satisfies():
    seeds = All(Each(NON_NEGATIVE), Distinct(), message="must be distinct integers >= 0, got {value!r}")
    assert seeds.holds(()) and seeds.holds((0, 3))
    assert _reason(seeds, (1, 1)) == "must be distinct integers >= 0, got (1, 1)"
    assert _reason(seeds, (-1,)) == "must be distinct integers >= 0, got (-1,)"
    assert _reason(All(NonEmpty(), Each(NON_NEGATIVE)), (2, -1)) == "must be >= 0, got -1"  # the part that fails
    assert seeds.describe() == "each >= 0, distinct"
    even = Satisfies(lambda v: v % 2 == 0, "even")
    assert even.holds(4) and _reason(even, 3) == "must be even, got 3" and even.describe() == "even"
    assert _reason(Satisfies(lambda v: False, "x", message="no: {value!r}"), 1) == "no: 1"


def test_check_raises_one_line_naming_the_field_and_passes_none():
    check(None, (POSITIVE, OneOf(("a",))), "probe.x")  # an unset optional field
    check(2, (POSITIVE, Range(1, 3)), "probe.x")
    with pytest.raises(ScenarioError, match=r"^probe\.x: must be in 1\.\.3, got 4$"):
        check(4, (POSITIVE, Range(1, 3)), "probe.x")
    with pytest.raises(ScenarioError, match=r"^probe\.x: must be > 0, got 0$"):  # the first that fails
        check(0, (POSITIVE, Range(1, 3)), "probe.x")
    assert describe((POSITIVE, Range(1, 3))) == "> 0; 1..3" and describe(()) == ""


# -- a section reads the constraints from its annotations ------------------------------------------------------

@dataclass(frozen=True)
class _Probe(_Section):
    _section = "probe"
    count: Annotated[int, POSITIVE] = 1
    inner_optional: Annotated[int | None, POSITIVE] = None
    outer_optional: Annotated[int, Range(1, 16)] | None = None
    elements: tuple[Annotated[int, Range(1, 3)], ...] = ()
    mode: Annotated[str, OneOf(("a", "b"))] = "a"


def test_a_section_checks_declared_constraints_after_coercion():
    assert _Probe(count=2.0).count == 2  # coerced first (a whole float is an int), then checked
    with pytest.raises(ScenarioError, match=r"^probe\.count: must be > 0, got 0$"):
        _Probe(count=0)
    with pytest.raises(ScenarioError, match=r"^probe\.count: expected an integer, got 'x'$"):  # the type first
        _Probe(count="x")
    with pytest.raises(ScenarioError, match=r"^probe\.mode: 'c' is not one of a, b$"):
        _Probe(mode="c")


@pytest.mark.parametrize("name", ["inner_optional", "outer_optional"])
def test_an_optional_field_is_checked_only_when_set(name):
    assert getattr(_Probe(**{name: None}), name) is None
    assert getattr(_Probe(**{name: 16}), name) == 16
    with pytest.raises(ScenarioError, match=rf"^probe\.{name}: must be (> 0|in 1\.\.16), got (0|17)$"):
        _Probe(**{name: 0 if name == "inner_optional" else 17})
    with pytest.raises(ScenarioError, match=rf"^probe\.{name}: expected an integer"):
        _Probe(**{name: "7"})


def test_an_element_constraint_names_the_element():
    assert _Probe(elements=[1, 3]).elements == (1, 3)
    with pytest.raises(ScenarioError, match=r"^probe\.elements\[1\]: must be in 1\.\.3, got 5$"):
        _Probe(elements=(1, 5))


def test_field_constraints_of_the_scenario_sections():
    assert describe(field_constraints(Phy)["csi"]) == "one of: perfect, ls"
    assert describe(field_constraints(Phy)["coderate"]) == "(0, 1]"
    assert describe(field_constraints(Teacher)["feature_dim"]) == "> 0"
    assert describe(field_constraints(Sweep)["ebno_db"]) == "not empty; distinct"
    assert describe(field_constraints(Compare)["feedback_bits"]) == "each 1..16"
    assert field_constraints(Data)["data_dir"] == ()
    assert field_constraints(_Probe)["outer_optional"][0].describe() == "1..16"


@pytest.mark.parametrize("make, message", [
    (lambda: Data(vocab_size=2), "data.vocab_size: must be >= 3 (pad, unknown and one word), got 2"),
    (lambda: Phy(snr_feedback_bits=17), "phy.snr_feedback_bits: must be None or 1..16, got 17"),
    (lambda: Phy(num_guard_carriers=(-1, 6)), "phy.num_guard_carriers: must be >= 0, got (-1, 6)"),
    (lambda: Teacher(max_length=1), "teacher.max_length: must be 2..512 word pieces ([CLS] and [SEP] included), "
                                    "got 1"),
    (lambda: Compare(conditions=("AWGN/mmse",)),
     "compare.conditions: 'AWGN/mmse' is not CHANNEL/CSI with CHANNEL one of AWGN, Rayleigh, TDL-A..E, CDL-A..E and "
     "CSI one of perfect, ls"),
    (lambda: Compare(data_fractions=(0.5, 0.0)), "compare.data_fractions: each must be in (0, 1], got 0.0"),
    (lambda: Search(stem_stride=3), "search.stem_stride: must be 1 or 2, got 3"),
    (lambda: Search(channels=15), "search.channels: must be even (a factorised reduction halves it), got 15"),
    (lambda: Search(ops=("none",)), "search.ops: must be 'none' and at least one of skip, max_pool_3x3, "
                                    "avg_pool_3x3, sep_conv_3x3, dil_conv_3x3, got ('none',)"),
])
def test_declared_constraints_keep_the_section_messages(make, message):
    with pytest.raises(ScenarioError) as info:
        make()
    assert str(info.value) == message
