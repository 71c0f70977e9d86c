"""Declarative constraints on scenario fields, read by the scenario sections.

A section field declares what it accepts next to its type, with :data:`typing.Annotated`::

    fft_size: Annotated[int, POSITIVE] = 72
    coderate: Annotated[float, Range(0, 1, closed="right")] = 1.0
    csi: Annotated[str, OneOf(("perfect", "ls"))] = "perfect"
    decoder_units: Annotated[tuple[int, ...], Each(POSITIVE, message="all widths must be > 0, got {value!r}")]
    snr_feedback_bits: Annotated[int | None, Range(1, 16)] = None

The section coerces the value to the type first, then checks its constraints in order; the first that
fails raises :class:`~semcom_sim.errors.ScenarioError` with one line, ``section.field: why``. A field that
is ``None`` (an optional field left unset) is not checked. Checks that read several fields stay in the
section's ``_validate``.

Every constraint has a default reason (``must be > 0, got 0``) and takes ``message``, a template that
replaces it: ``{value!r}`` is the field's value and, in :class:`Each`, ``{item!r}`` the first element that
fails. :meth:`Constraint.describe` gives the short text of the scenario reference (``> 0``,
``one of: perfect, ls``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from semcom_sim.errors import ScenarioError

__all__ = ["Constraint", "Min", "Range", "OneOf", "NonEmpty", "Distinct", "Ordered", "Each", "All", "Satisfies",
           "POSITIVE", "NON_NEGATIVE", "check", "describe"]

_CLOSED = ("both", "left", "right", "neither")


def _number(x: float) -> str:
    """A bound as the messages write it: ``0`` for 0 and 0.0, ``0.5`` for 0.5."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


class Constraint:
    """What a field's value must satisfy.

    Subclasses implement :meth:`holds`, :meth:`_reason` (the default one-line reason) and :meth:`describe`.

    :param message: replaces the default reason; a template with ``{value!r}`` (and ``{item!r}`` in
        :class:`Each`).
    """

    def __init__(self, *, message: str | None = None):
        self.message = message

    def holds(self, value: Any) -> bool:
        """Whether ``value`` (already coerced to the field's type, never ``None``) is allowed."""
        raise NotImplementedError

    def problem(self, value: Any) -> str | None:
        """The reason ``value`` is refused (the text after ``section.field: ``), or ``None`` if it is allowed."""
        if self.holds(value):
            return None
        return self.message.format(value=value) if self.message is not None else self._reason(value)

    def _reason(self, value: Any) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        """A short text of what is allowed, for the scenario reference."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()!r})"


class Min(Constraint):
    """A lower bound: ``value >= bound``, or ``value > bound`` when ``strict``.

    :param bound: the bound.
    :param strict: exclude the bound itself.
    """

    def __init__(self, bound: float, *, strict: bool = False, message: str | None = None):
        super().__init__(message=message)
        self.bound, self.strict = bound, strict

    def holds(self, value) -> bool:
        return value > self.bound if self.strict else value >= self.bound

    def _reason(self, value) -> str:
        return f"must be {self.describe()}, got {value!r}"

    def describe(self) -> str:
        return f"{'>' if self.strict else '>='} {_number(self.bound)}"


POSITIVE = Min(0, strict=True)
"""``> 0`` (``must be > 0, got 0``)."""

NON_NEGATIVE = Min(0)
"""``>= 0`` (``must be >= 0, got -1``)."""


class Range(Constraint):
    """An interval: ``low <= value <= high``, with ``closed`` saying which ends belong to it.

    Integer bounds of a closed interval read ``1..16``; other intervals read ``(0, 1]``.

    :param low: the lower end.
    :param high: the upper end.
    :param closed: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``: the ends that are allowed values.
    """

    def __init__(self, low: float, high: float, *, closed: str = "both", message: str | None = None):
        super().__init__(message=message)
        if closed not in _CLOSED:
            raise ValueError(f"closed must be one of {', '.join(_CLOSED)}, got {closed!r}")
        self.low, self.high, self.closed = low, high, closed

    def holds(self, value) -> bool:
        above = value >= self.low if self.closed in ("both", "left") else value > self.low
        below = value <= self.high if self.closed in ("both", "right") else value < self.high
        return above and below

    def _reason(self, value) -> str:
        return f"must be in {self.describe()}, got {value!r}"

    def describe(self) -> str:
        if self.closed == "both" and isinstance(self.low, int) and isinstance(self.high, int):
            return f"{self.low}..{self.high}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{left}{_number(self.low)}, {_number(self.high)}{right}"


class OneOf(Constraint):
    """One of a fixed set of values.

    :param choices: the allowed values, in the order the messages list them.
    :param text: how the messages and the reference list them (default: the choices, comma-separated).
    """

    def __init__(self, choices: Iterable, *, text: str | None = None, message: str | None = None):
        super().__init__(message=message)
        self.choices = tuple(choices)
        self.text = text if text is not None else ", ".join(map(str, self.choices))

    def holds(self, value) -> bool:
        return value in self.choices

    def _reason(self, value) -> str:
        return f"{value!r} is not one of {self.text}"

    def describe(self) -> str:
        return f"one of: {self.text}"


class NonEmpty(Constraint):
    """At least one element; a string that is not blank."""

    def holds(self, value) -> bool:
        return bool(value.strip()) if isinstance(value, str) else len(value) > 0

    def _reason(self, value) -> str:
        return "must not be empty"

    def describe(self) -> str:
        return "not empty"


class Distinct(Constraint):
    """No element twice."""

    def holds(self, value) -> bool:
        return len(set(value)) == len(value)

    def _reason(self, value) -> str:
        return f"has repeated values: {value!r}"

    def describe(self) -> str:
        return "distinct"


class Ordered(Constraint):
    """A ``(low, high)`` pair with ``low <= high``, or ``low < high`` when ``strict``."""

    def __init__(self, *, strict: bool = False, message: str | None = None):
        super().__init__(message=message)
        self.strict = strict

    def holds(self, value) -> bool:
        low, high = value
        return low < high if self.strict else low <= high

    def _reason(self, value) -> str:
        return f"low must {'be below' if self.strict else 'not exceed'} high, got {value!r}"

    def describe(self) -> str:
        return "low < high" if self.strict else "low <= high"


class Each(Constraint):
    """Every element of a sequence satisfies ``constraint``.

    The default reason is ``constraint``'s for the first element that fails; a ``message`` may name that
    element (``{item!r}``) or the whole value (``{value!r}``).
    """

    def __init__(self, constraint: Constraint, *, message: str | None = None):
        super().__init__(message=message)
        self.constraint = constraint

    def _failing(self, value: Sequence):
        return next((item for item in value if not self.constraint.holds(item)), _NONE)

    def holds(self, value) -> bool:
        return self._failing(value) is _NONE

    def problem(self, value) -> str | None:
        item = self._failing(value)
        if item is _NONE:
            return None
        if self.message is not None:
            return self.message.format(value=value, item=item)
        return self.constraint.problem(item)

    def describe(self) -> str:
        return f"each {self.constraint.describe()}"


class All(Constraint):
    """Every one of ``constraints``, checked in order; one ``message`` may stand for all of them."""

    def __init__(self, *constraints: Constraint, message: str | None = None):
        super().__init__(message=message)
        self.constraints = constraints

    def holds(self, value) -> bool:
        return all(c.holds(value) for c in self.constraints)

    def problem(self, value) -> str | None:
        for c in self.constraints:
            reason = c.problem(value)
            if reason is not None:
                return self.message.format(value=value) if self.message is not None else reason
        return None

    def describe(self) -> str:
        return ", ".join(c.describe() for c in self.constraints)


class Satisfies(Constraint):
    """A rule of one field that the classes above do not spell: ``predicate(value)`` must be true.

    :param predicate: the rule.
    :param doc: its short text for the reference; the default reason is ``must be <doc>, got <value>``.
    """

    def __init__(self, predicate: Callable[[Any], bool], doc: str, *, message: str | None = None):
        super().__init__(message=message)
        self.predicate, self.doc = predicate, doc

    def holds(self, value) -> bool:
        return bool(self.predicate(value))

    def _reason(self, value) -> str:
        return f"must be {self.doc}, got {value!r}"

    def describe(self) -> str:
        return self.doc


_NONE = object()  # no failing element


def check(value: Any, constraints: Iterable[Constraint], where: str) -> None:
    """Raises :class:`ScenarioError` (``where: why``) for the first of ``constraints`` that ``value`` fails;
    ``None`` passes."""
    if value is None:
        return
    for constraint in constraints:
        reason = constraint.problem(value)
        if reason is not None:
            raise ScenarioError(f"{where}: {reason}")


def describe(constraints: Iterable[Constraint]) -> str:
    """The reference text of a field's constraints (``""`` for none)."""
    return "; ".join(c.describe() for c in constraints)
