"""Schemes as data: a scheme is a name plus a patch of scenario fields.

The built-in schemes are the table :data:`BUILTIN_SCHEMES`; a scenario file defines its own the same
way and names them in ``sweep.schemes`` / ``compare.schemes`` beside the built-in names::

    from semcom_sim import Scenario, Scheme, Sweep

    wide = Scheme("wide-decoder", {"model.decoder_units": (512, 512)}, description="a wider decoder")
    scenario = Scenario(name="...", schemes=(wide,), sweep=Sweep(schemes=("proposed", "wide-decoder")))

A patch maps ``"section.field"`` to a value, or to a :class:`Ref` that reads another field of the
scenario being patched (so ``adaptive-length`` nests ``model.auto_lengths`` of the scenario's own
``model.num_channel_uses``). A scenario's own scheme with a built-in name overrides that scheme: its
patch extends the built-in patch (``Scheme("fixed-snr", {"training.ebno_db_range": (6.0, 6.0)})``). A
``test_patch`` changes only the ``phy`` section, and only at evaluation (a test condition: the
trained weights are the same). Patches are validated when the scenario is built: an unknown field or
a bad value fails with one line naming the scheme and the field.

Adding a built-in scheme means adding one row to :data:`BUILTIN_SCHEMES` (and, if it needs a knob, a
field of the section it patches).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from semcom_sim.errors import ScenarioError, unknown_field

Scenario = Any  # a semcom_sim.scenario.Scenario; not imported, since scenario.py imports this module

__all__ = ["Ref", "Scheme", "BUILTIN_SCHEMES", "BUILTIN_NAMES", "scheme_table", "resolve_scheme",
           "resolve_test_scenario", "apply_patch", "cache_kind_schemes", "antenna_schemes",
           "split_antenna_scheme"]


@dataclass(frozen=True)
class Ref:
    """A patch value read from another field of the scenario being patched, ``"section.field"``;
    if that field is ``None``, from ``fallback`` (another ``"section.field"``) instead."""

    field: str
    fallback: str | None = None

    def value(self, scenario: Scenario, where: str) -> Any:
        out = _get(scenario, self.field, where)
        if out is None and self.fallback is not None:
            out = _get(scenario, self.fallback, where)
        return out

    def to_dict(self) -> dict:
        return {"ref": self.field, **({"fallback": self.fallback} if self.fallback else {})}


def _get(scenario: Scenario, key: str, where: str) -> Any:
    section, dot, name = key.partition(".")
    value = getattr(scenario, section, None) if dot else None
    if value is None or not dataclasses.is_dataclass(value) or not hasattr(value, name):
        raise ScenarioError(f"{where}: {key!r} is not a field of the scenario (section.field)")
    return getattr(value, name)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping) and set(value) <= {"ref", "fallback"} and "ref" in value:
        return Ref(value["ref"], value.get("fallback"))
    if isinstance(value, (list, tuple, range)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Ref):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Scheme:
    """A named variant of a scenario.

    :param name: the name used in ``sweep.schemes`` / ``compare.schemes`` and in every result row.
    :param patch: ``{"section.field": value}`` applied before training (values may be :class:`Ref`).
    :param test_patch: ``{"phy.field": value}`` applied on top of ``patch`` at evaluation only.
    :param description: one line for the docs and summaries.
    """

    name: str
    patch: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    test_patch: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or self.name != self.name.strip():
            raise ScenarioError(f"schemes: a scheme name must be a non-empty string without surrounding blanks, "
                                f"got {self.name!r}")
        for attr in ("patch", "test_patch"):
            value = getattr(self, attr)
            if not isinstance(value, Mapping):
                raise ScenarioError(f"scheme {self.name!r}: {attr} must be a mapping of 'section.field' to values, "
                                    f"got {type(value).__name__}")
            # frozen, ordered and hashable: a tuple of (key, value) pairs behind a read-only mapping view
            object.__setattr__(self, attr, _FrozenPatch((str(k), _freeze(v)) for k, v in value.items()))
        for key in self.test_patch:
            if not key.startswith("phy."):
                raise ScenarioError(f"scheme {self.name!r}: test_patch key {key!r}: a test patch changes only "
                                    "phy fields (the trained weights stay the same)")

    def extended_by(self, other: Scheme) -> Scheme:
        """This scheme with ``other``'s patch and test patch applied on top (``other``'s values win), and its
        description if it has one: how a scenario overrides a built-in scheme."""
        return Scheme(self.name, {**self.patch, **other.patch}, {**self.test_patch, **other.test_patch},
                      other.description or self.description)

    def to_dict(self) -> dict:
        return {"name": self.name, "patch": {k: _thaw(v) for k, v in self.patch.items()},
                "test_patch": {k: _thaw(v) for k, v in self.test_patch.items()}, "description": self.description}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scheme:
        if not isinstance(d, Mapping) or "name" not in d:
            raise ScenarioError(f"schemes: each scheme needs a name and a patch, got {d!r}")
        unknown = set(d) - {"name", "patch", "test_patch", "description"}
        if unknown:
            raise ScenarioError(f"schemes: unknown scheme field {sorted(unknown)[0]!r}; a scheme has name, patch, "
                                "test_patch, description")
        return cls(d["name"], d.get("patch", {}), d.get("test_patch", {}), d.get("description", ""))


class _FrozenPatch(Mapping):
    """An immutable, hashable, ordered mapping (a scheme's patch)."""

    def __init__(self, items):
        self._items = tuple(items)
        self._dict = dict(self._items)

    def __getitem__(self, key):
        return self._dict[key]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self):
        return len(self._dict)

    def __hash__(self):
        return hash(self._items)

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __repr__(self):
        return repr(self._dict)


_NO_KD = {"training.distillation": "none", "training.feature_kd_weight": 0.0}

#: RKD-SC's two-stage robust distillation (stage 1 in two steps, without a channel; stage 2 through the
#: link); epochs, learning rate and Eb/N0 range come from the ``training`` section.
RKD_STAGES = (
    {"name": "distil", "trainable": ("encoder", "feature_head"), "channel": False, "loss_terms": ("feature_kd",)},
    {"name": "classifier", "trainable": ("decoder",), "channel": False, "loss_terms": ("ce",)},
    {"name": "robust", "trainable": ("channel_encoder", "channel_decoder", "decoder"),
     "loss_terms": ("feature_kd", "ce")},
)
_RKD_SC = {"model.channel_codec": "cat", "model.adaptive": False, "model.stochastic": False,
           "model.lengths": Ref("model.auto_lengths"), "model.length_draw": "sandwich",
           "training.validation_samples": 2000, "training.distillation": "cached",
           "training.feature_kd_weight": 1.0, "training.stages": RKD_STAGES, "teacher.store_features": True}

#: The built-in schemes, in the order figures and tables list them.
BUILTIN_SCHEMES: tuple[Scheme, ...] = (
    Scheme("proposed", {}, description="the scenario as written (paper A: cached KD + IB loss + adaptive module)"),
    Scheme("no-adaptive", {"model.adaptive": False}, description="the adaptive module off"),
    Scheme("no-kd", _NO_KD, description="trained on the labels only (CE + rate term)"),
    Scheme("online-kd", {"training.distillation": "online", "training.feature_kd_weight": 0.0},
           description="the same loss with the teacher run on every batch"),
    Scheme("teacher-over-channel", {"model.source": "teacher-features", "model.backbone": None,
                                    "model.backbone_config": {}, **_NO_KD},
           description="the frozen teacher's features through a dense channel encoder, the same link and decoder"),
    Scheme("digital", {"model.transmission": "digital", "model.adaptive": False, "model.quant_bits": 4,
                       "phy.num_bits_per_symbol": 4, "phy.coderate": 0.5},
           description="features quantised (4 bits) -> 5G LDPC (rate 1/2) -> 16-QAM, the same OFDM chain"),
    Scheme("pusch", {"model.transmission": "pusch", "model.adaptive": False, "model.quant_bits": 4,
                     "phy.mcs_index": 13},
           description="features quantised (4 bits) -> 5G NR PUSCH (MCS 13: 16-QAM, rate 490/1024), the standard's "
                       "uplink chain"),
    Scheme("fixed-snr", {"model.adaptive": False, **_NO_KD, "training.ebno_db_range": (10.0, 10.0)},
           description="no KD, no adaptive module, trained at 10 dB only (DeepJSCC practice)"),
    Scheme("adaptive-length", {"model.lengths": Ref("model.auto_lengths"), "model.adaptive_conditioning": "film",
                               "model.length_draw": "sandwich", "training.validation_samples": 2000},
           description="proposed with nested lengths: sends L*(q) of model.lengths for the fed-back SNR level q"),
    Scheme("rkd-sc", {**_RKD_SC, "model.backbone": "semcom_sim>SearchedBackbone",
                      "model.backbone_config": Ref("search.backbone_config")},
           description="RKD-SC: the derived network of search.genotype (semcom-sim search) as the encoder, "
                       "two-stage robust KD, the CAT codec with nested lengths"),
    Scheme("rkd-sc-handcrafted", _RKD_SC,
           description="RKD-SC with today's encoder: feature KD and classifier without a channel, then the CAT "
                       "codec and classifier through the link (nested lengths, L*(q))"),
    Scheme("rkd-sc-one-stage", {**_RKD_SC, "training.stages": ({"name": "joint", "loss_terms": ("feature_kd", "ce")},)},
           description="rkd-sc-handcrafted trained in one joint stage through the link"),
    Scheme("rkd-sc-dense-codec", {**_RKD_SC, "model.channel_codec": "dense"},
           description="rkd-sc-handcrafted with a dense codec instead of the CAT"),
)
BUILTIN_NAMES: tuple[str, ...] = tuple(s.name for s in BUILTIN_SCHEMES)


def cache_kind_schemes(top_k: tuple[int, ...], num_classes: int) -> tuple[Scheme, ...]:
    """The scenario's own student distilled from teacher caches of equal size: for each ``K`` of ``top_k``, a
    top-K cache (``top<K>``: 4 bytes per entry, an fp16 value and an int16 index) and a sampled one of the same
    bytes (``sampled<2K>``: 2 bytes per drawn class), then the full distribution (``full``: ``K = num_classes``)."""
    schemes = []
    for k in top_k:
        schemes += [Scheme(f"top{k}", {"teacher.top_k": k},
                           description=f"the {k} largest teacher probabilities ({4 * k} B per sample)"),
                    Scheme(f"sampled{2 * k}", {"teacher.cache_kind": "sampled", "teacher.sampled_entries": 2 * k},
                           description=f"{2 * k} classes drawn from the teacher's distribution ({4 * k} B per sample)")]
    return tuple(schemes) + (Scheme("full", {"teacher.top_k": num_classes},
                                    description="the teacher's whole distribution (K = C)"),)


def antenna_schemes(bases: tuple[str, ...], arrays: Mapping[str, Mapping[str, Any]]) -> tuple[Scheme, ...]:
    """Built-in schemes over several antenna configurations: for each named configuration of ``arrays`` (``phy``
    fields without the ``phy.`` prefix, e.g. ``{"num_bs_ant": 4, "direction": "uplink"}``) and each built-in
    scheme of ``bases``, the scheme ``<base>-<name>``: the built-in patch with those fields (each trained on its
    own link)."""
    builtin = {s.name: s for s in BUILTIN_SCHEMES}
    schemes = []
    for label, fields in arrays.items():
        for base in bases:
            if base not in builtin:
                raise ScenarioError(f"antenna_schemes: {base!r} is not a built-in scheme; one of {', '.join(builtin)}")
            scheme = builtin[base]
            patch = {**scheme.patch, **{f"phy.{name}": value for name, value in fields.items()}}
            schemes.append(Scheme(f"{base}-{label}", patch, scheme.test_patch,
                                  f"{base} over {label}" + (f" ({scheme.description})" if scheme.description else "")))
    return tuple(schemes)


def split_antenna_scheme(name: str) -> tuple[str, str] | None:
    """``(base, configuration)`` of a scheme named by :func:`antenna_schemes` (``"proposed-2x4-2"`` ->
    ``("proposed", "2x4-2")``, the longest built-in name first); ``None`` for any other name."""
    for base in sorted(BUILTIN_NAMES, key=len, reverse=True):
        if name.startswith(base + "-") and len(name) > len(base) + 1:
            return base, name[len(base) + 1:]
    return None


def scheme_table(scenario: Scenario) -> dict[str, Scheme]:
    """The schemes a scenario can name: the built-in ones, then the scenario's own; one with a built-in name
    overrides that scheme (:meth:`Scheme.extended_by`)."""
    table = {s.name: s for s in BUILTIN_SCHEMES}
    for own in scenario.schemes:
        table[own.name] = table[own.name].extended_by(own) if own.name in table else own
    return table


def _resolve_value(value: Any, scenario: Scenario, where: str) -> Any:
    if isinstance(value, Ref):
        return value.value(scenario, where)
    if isinstance(value, tuple):
        return tuple(_resolve_value(v, scenario, where) for v in value)
    return value


def _patched_sections(scenario: Scenario, patch: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The sections of ``scenario`` that ``patch`` changes, each rebuilt (and so validated) with its values."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in patch.items():
        section, dot, name = key.partition(".")
        current = getattr(scenario, section, None) if dot and section != "schemes" else None
        if not dataclasses.is_dataclass(current):
            raise ScenarioError(f"{where}: {key!r}: unknown section {section!r}; sections are "
                                f"{', '.join(f.name for f in dataclasses.fields(scenario)[1:] if f.name != 'schemes')}")
        known = {f.name for f in dataclasses.fields(current)}
        if name not in known:
            unknown_field(section, name, known, f"{where}: {key!r}")
        sections.setdefault(section, {})[name] = _resolve_value(value, scenario, f"{where}: {key!r}")
    try:
        return {s: dataclasses.replace(getattr(scenario, s), **fields) for s, fields in sections.items()}
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def apply_patch(scenario: Scenario, patch: Mapping[str, Any], where: str) -> Scenario:
    """``scenario`` with the ``"section.field"`` values of ``patch`` (refs read from ``scenario``) set;
    any bad key or value fails with one line that starts with ``where``."""
    if not patch:
        return scenario
    replaced = _patched_sections(scenario, patch, where)
    try:
        return scenario.patched(**replaced)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def resolve_scheme(scenario: Scenario, name: str) -> Scenario:
    """The scenario as scheme ``name`` trains it (its patch applied)."""
    table = scheme_table(scenario)
    if name not in table:
        raise ScenarioError(f"schemes: unknown scheme {name!r}; known: {', '.join(table)}")
    return apply_patch(scenario, table[name].patch, f"scheme {name!r}")


def resolve_test_scenario(scenario: Scenario, name: str) -> Scenario:
    """The scenario as scheme ``name`` is evaluated (its patch, then its test patch)."""
    scheme = scheme_table(scenario)[name]
    return apply_patch(resolve_scheme(scenario, name), scheme.test_patch, f"scheme {name!r} (test_patch)")
