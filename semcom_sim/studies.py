"""Studies are data: what a command trains and sweeps, declared once and run by one method
(:meth:`semcom_sim.experiment.Experiment.run_study`).

A :class:`Study` names its schemes, test conditions, study variants and Eb/N0 points, and whether it
trains models of its own. ``semcom-sim run`` runs :func:`run_studies` (the scenario's ``sweep`` section);
``semcom-sim compare`` runs :func:`compare_studies` (its ``compare`` section). The orchestrator resolves
every scheme x condition x variant of a study once into a :class:`Job`; everything downstream takes the
job's resolved scenarios as values.

A **variant** (:class:`Variant`) is a study's change to the scenario, a patch of scenario fields like a
scheme's: the SNR-feedback resolution or staleness and the forced length (patched at test time), the
training seed and the training-data fraction (patched at training time). Its rows carry the patched values
in typed columns (``variant``, ``snr_feedback_bits``, ``snr_feedback_delay_ms``, ``fixed_length``,
``training_seed``, ``train_fraction``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from semcom_sim.condition import Condition
from semcom_sim.results import LABEL_SCHEMES
from semcom_sim.scenario import Scenario
from semcom_sim.schemes import apply_patch

__all__ = ["Variant", "Study", "Job", "run_studies", "compare_studies"]


@dataclass(frozen=True)
class Variant:
    """A study's change to the scenario: ``kind`` (a :data:`semcom_sim.results.VARIANTS` name), the
    value it varies, and the patch of ``"section.field"`` values that makes it."""

    kind: str
    value: float
    patch: Mapping[str, Any]

    @property
    def retrains(self) -> bool:
        """Whether the variant changes what is trained (else it is applied at test time only)."""
        return any(key.startswith("training.") for key in self.patch)

    def apply(self, scenario: Scenario) -> Scenario:
        return apply_patch(scenario, self.patch, f"compare: {self.kind} variant {self.value:g}")

    @classmethod
    def feedback(cls, bits: int) -> Variant:
        """The fed-back SNR quantised to ``bits`` bits."""
        return cls("feedback", float(bits), {"phy.snr_feedback_bits": int(bits)})

    @classmethod
    def stale(cls, delay_ms: float) -> Variant:
        """The fed-back SNR ``delay_ms`` old."""
        return cls("stale", float(delay_ms), {"phy.snr_feedback_delay_ms": float(delay_ms)})

    @classmethod
    def length(cls, length: int) -> Variant:
        """Nested lengths: every sample sends ``length`` channel uses whatever the SNR (the SNR-blind
        reference)."""
        return cls("length", float(length), {"model.fixed_length": int(length)})

    @classmethod
    def seed(cls, seed: int) -> Variant:
        """Another training of the same scheme: ``training.seed`` replaced (the Monte Carlo draws stay)."""
        return cls("seed", float(seed), {"training.seed": int(seed)})

    @classmethod
    def fraction(cls, scenario: Scenario, fraction: float) -> Variant:
        """Training on ``fraction`` of the data for the same optimizer steps (``ceil(epochs / fraction)``)."""
        if fraction >= 1.0:
            return cls("fraction", float(fraction), {})
        epochs = math.ceil(scenario.training.epochs / fraction - 1e-9)
        return cls("fraction", float(fraction), {"training.train_fraction": float(fraction), "training.epochs": epochs})


@dataclass(frozen=True)
class Study:
    """What one study trains and sweeps.

    :param name: names the study in logs and in ``run.json``'s timings (``{name}_s``).
    :param schemes: the schemes it sweeps.
    :param conditions: the test conditions each scheme is swept under.
    :param ebno_db: the Eb/N0 points of every sweep.
    :param variants: the study's variants (``None``: the scenario as written).
    :param trains: whether the study trains the models it sweeps (a variant that patches ``training`` trains
        a model of its own). ``False``: it sweeps the models the first study trained, and skips a scheme that
        study does not train (with a line).
    :param per_condition: train every scheme under each test condition (else under the scenario's own ``phy``).
    :param each_length: one ``length`` variant per nested length of each scheme (``model.lengths``).
    :param validate: measure the held-out accuracy after every epoch (``compare``'s distillation axis).
    :param holds_out: every model the study trains (or, if it does not train, sweeps) holds out at least this many
        training rows from training (``training.validation_samples`` raised to it): the per-epoch monitor reads
        them, never the test split.
    :param reference: sweep a label baseline of each scheme's model instead of the model itself: ``"ideal"`` the
        finite-blocklength reference, ``"polar"`` the 5G polar label code (rows of the scheme
        ``LABEL_SCHEMES[reference]``); ``""``: the model.
    """

    name: str
    schemes: tuple[str, ...]
    conditions: tuple[Condition, ...]
    ebno_db: tuple[float, ...]
    variants: tuple[Variant | None, ...] = (None,)
    trains: bool = True
    per_condition: bool = False
    each_length: bool = False
    validate: bool = False
    holds_out: int = 0
    reference: str = ""

    def holding_out(self, trained: Scenario) -> Scenario:
        """``trained`` (a scenario as its scheme trains it) holding out the study's :attr:`holds_out` rows."""
        if trained.training.validation_samples >= self.holds_out:
            return trained
        return apply_patch(trained, {"training.validation_samples": self.holds_out},
                           f"{self.name}: the monitor's held-out rows")


@dataclass(frozen=True, eq=False)
class Job:
    """One scheme x condition x variant of a study, resolved once by the orchestrator.

    :param trained: the scenario as the scheme trains it (scheme patch, training variant, and the condition
        when the study trains per condition).
    :param tested: the scenario as the scheme is swept (scheme patch and test patch under the condition, then
        a test-time variant).
    """

    study: str
    scheme: str
    condition: Condition
    variant: Variant | None
    trained: Scenario
    tested: Scenario
    ebno_db: tuple[float, ...]
    reference: str = ""

    @property
    def row_scheme(self) -> str:
        """The ``scheme`` of the job's rows: the scheme, or its label baseline's (:data:`LABEL_SCHEMES`)."""
        return LABEL_SCHEMES[self.reference] if self.reference else self.scheme

    @property
    def kind(self) -> str:
        """The variant's kind, ``""`` for the scenario as written."""
        return self.variant.kind if self.variant is not None else ""

    def describe(self) -> str:
        """``", 2-bit SNR feedback"``: what the job changes, for the sweep's heading."""
        phy, tested = self.tested.phy, self.tested
        return {"feedback": f", {phy.snr_feedback_bits}-bit SNR feedback",
                "stale": f", SNR feedback {phy.snr_feedback_delay_ms:g} ms old",
                "fraction": f", trained on {tested.training.train_fraction:g} of the data",
                "length": f", every sample sending {tested.model.fixed_length} channel uses"}.get(self.kind, "")


def run_studies(scenario: Scenario) -> tuple[Study, ...]:
    """``semcom-sim run``: the schemes of ``sweep.schemes`` under the scenario's own ``phy`` and, with
    ``sweep.seeds``, once more per further training seed."""
    cfg = scenario.sweep
    own = (Condition.of(scenario),)
    studies = [Study("sweep", cfg.schemes, own, cfg.ebno_db)]
    if cfg.seeds:
        studies.append(Study("seeds", cfg.schemes, own, cfg.ebno_db, tuple(Variant.seed(s) for s in cfg.seeds)))
    return tuple(studies)


def compare_studies(scenario: Scenario) -> tuple[Study, ...]:
    """``semcom-sim compare`` (``docs/compare.md``): ``compare.schemes`` under every condition of
    ``compare.conditions``; further training seeds; the SNR-feedback robustness; the SNR-blind reference of
    the schemes with nested lengths; the training-data fraction (equal optimizer steps)."""
    cfg, ebno_db = scenario.compare, scenario.sweep.ebno_db
    conditions = tuple(Condition.parse(c) for c in cfg.conditions)
    own = (Condition.of(scenario),)
    held = cfg.monitor_samples  # every training of the comparison holds out the monitor's rows
    studies = [Study("sweep", cfg.schemes, conditions, ebno_db, per_condition=cfg.retrain_per_condition,
                     validate=True, holds_out=held)]
    if cfg.seeds:
        studies.append(Study("seeds", cfg.schemes, conditions, ebno_db, tuple(Variant.seed(s) for s in cfg.seeds),
                             holds_out=held))
    robustness = tuple(Variant.feedback(b) for b in cfg.feedback_bits) + tuple(
        Variant.stale(d) for d in cfg.feedback_delay_ms)
    if robustness:  # the studies that do not train sweep the first study's models, trained holding out alike
        studies.append(Study("robustness", cfg.robustness_schemes, own, ebno_db, robustness, trains=False,
                             holds_out=held))
    if cfg.length_schemes:
        studies.append(Study("length", cfg.length_schemes, own, ebno_db, trains=False, each_length=True,
                             holds_out=held))
    if cfg.data_fractions:
        studies.append(Study("fractions", cfg.fraction_schemes, own, cfg.fraction_ebno_db,
                             tuple(Variant.fraction(scenario, f) for f in cfg.data_fractions), holds_out=held))
    if cfg.limit_scheme:
        studies.append(Study("reference", (cfg.limit_scheme,), conditions, ebno_db, trains=False, holds_out=held,
                             reference="ideal"))
    if cfg.label_baseline:
        studies.append(Study("label-baseline", (cfg.limit_scheme,), conditions, ebno_db, trains=False,
                             holds_out=held, reference="polar"))
    return tuple(studies)
