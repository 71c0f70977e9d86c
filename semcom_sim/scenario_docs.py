"""Renders the scenario reference (docs/scenarios.md) from the dataclasses and their docstrings.

    python -m semcom_sim.scenario_docs > docs/scenarios.md
"""

from __future__ import annotations

import dataclasses
import re
import typing

from semcom_sim.constraints import describe
from semcom_sim.scenario import Compare, Data, Model, Output, Phy, Stage, Sweep, Teacher, Training, field_constraints
from semcom_sim.schemes import BUILTIN_SCHEMES, Ref

SECTIONS = (Data, Model, Phy, Training, Stage, Teacher, Sweep, Compare, Output)


def _type_text(tp) -> str:
    args = typing.get_args(tp)
    if type(None) in args:
        return " or ".join(_type_text(a) for a in args if a is not type(None)) + " or None"
    if typing.get_origin(tp) is tuple:
        inner = ", ".join("..." if a is Ellipsis else _type_text(a) for a in args)
        return f"tuple[{inner}]"
    return tp.__name__


def _params(doc: str) -> dict[str, str]:
    params, current = {}, None
    for line in doc.splitlines():
        match = re.match(r"\s*:param (\w+):\s*(.*)", line)
        if match:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current and line.strip() and not line.strip().startswith(":"):
            params[current] += " " + line.strip()
        else:
            current = None
    return params


def render() -> str:
    out = ["# Scenario reference", "",
           "Generated from `semcom_sim/scenario.py` by `python -m semcom_sim.scenario_docs`; a test keeps it "
           "in step.", "",
           "A scenario file binds `scenario = Scenario(name=..., data=Data(...), model=Model(...), phy=Phy(...), "
           "training=Training(...), teacher=Teacher(...), sweep=Sweep(...), compare=Compare(...), "
           "output=Output(...))`. Any field "
           "can be overridden from the command line with `--set section.field=value` (Python literals; "
           "`range(a, b, c)`, `none`, `true` and bare strings are accepted). The column *allowed* gives what "
           "each field accepts on its own (an optional field may also be `None`); rules that tie fields "
           "together (e.g. `data.image_shape` only for synthetic and image-folder data) are checked too, when the "
           "section and the scenario are built.", ""]
    for cls in SECTIONS:
        hints = typing.get_type_hints(cls)
        doc = cls.__doc__ or ""
        params = _params(doc)
        summary = doc.strip().split("\n\n")[0].strip().replace("``", "`")
        title = f"{cls._section}[i]" if cls is Stage else cls._section
        constraints = field_constraints(cls)
        out += [f"## `{title}`: {cls.__name__}", "", summary, "",
                "| field | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            text = params.get(f.name, "").replace("``", "`").replace("|", "\\|")
            allowed = describe(constraints[f.name]).replace("|", "\\|")
            out.append(f"| `{f.name}` | {_type_text(hints[f.name])} | `{default!r}` | {allowed} | {text} |")
        out.append("")
    out += ["## Schemes", "",
            "A scheme is a name plus a patch of scenario fields (`semcom_sim/schemes.py`). A scenario defines its "
            "own with `Scenario(..., schemes=(Scheme(\"name\", {\"section.field\": value}, "
            "test_patch={\"phy.field\": value}, description=\"...\"),))` and names them in `sweep.schemes` or "
            "`compare.schemes` like the built-in ones below. A value `Ref(\"section.field\")` reads another "
            "field of the scenario; a test patch changes only `phy` fields, at evaluation. A scheme of the "
            "scenario with a built-in name overrides that scheme: its patch extends the built-in one, so "
            "`Scheme(\"fixed-snr\", {\"training.ebno_db_range\": (6.0, 6.0)})` trains `fixed-snr` at 6 dB. "
            "Patches are checked when the scenario is built (a built-in scheme's, and its override's, when it is "
            "trained by default or when `compare` starts).", "",
            "| scheme | patch | meaning |", "|---|---|---|"]
    for scheme in BUILTIN_SCHEMES:
        patch = ", ".join(f"`{k}` = {_value_text(v)}" for k, v in scheme.patch.items()) or "(none)"
        out.append(f"| `{scheme.name}` | {patch} | {scheme.description} |")
    out.append("")
    return "\n".join(out)


def _value_text(value) -> str:
    if isinstance(value, Ref):
        return f"`{value.field}`" + (f" (else `{value.fallback}`)" if value.fallback else "")
    if isinstance(value, tuple):
        return "(" + ", ".join(_value_text(v) for v in value) + ")"
    return f"`{value!r}`"


if __name__ == "__main__":
    print(render(), end="")
