"""The errors that mean bad input (no dependencies, so every module can raise them).

The command line turns an :class:`InputError` (and the data, cache and teacher errors, which say what
file to put where) into one line on stderr and exit code 2; anything else is a bug and shows its
traceback.
"""

__all__ = ["InputError", "ScenarioError", "ResultsFileError", "RENAMED_FIELDS", "MOVED_FIELDS", "unknown_field"]


class InputError(ValueError):
    """Bad input from the user: a scenario value, a file or a path. The message is one line."""


class ScenarioError(InputError):
    """A scenario field has a value that is not allowed. The message is one line: ``section.field: why``."""


class ResultsFileError(InputError):
    """A results, cost or distillation CSV that cannot be read as one: ``path: line N: why``."""


RENAMED_FIELDS = {"phy.bits_per_symbol": "phy.num_bits_per_symbol", "sweep.min_frames": "sweep.min_samples",
                  "sweep.max_frames": "sweep.max_samples", "compare.rkd_genotype": "search.genotype",
                  "compare.validation_samples": "compare.monitor_samples",
                  "phy.cdl_direction": "phy.direction"}
"""Scenario fields renamed since earlier versions: the old ``section.field`` -> the new one."""

MOVED_FIELDS = {
    "compare.fixed_ebno_db": "Scheme('fixed-snr', {'training.ebno_db_range': (E, E)})",
    "compare.digital_num_bits_per_symbol": "Scheme('digital', {'phy.num_bits_per_symbol': B})",
    "compare.digital_bits_per_symbol": "Scheme('digital', {'phy.num_bits_per_symbol': B})",
    "compare.digital_coderate": "Scheme('digital', {'phy.coderate': R})",
    "compare.digital_quant_bits": "Scheme('digital', {'model.quant_bits': Q})",
    "compare.online_kd_epochs": "Scheme('online-kd', {'training.epochs': E})",
    "compare.lengths": "Scheme('adaptive-length', {'model.lengths': (...)})",
    "compare.policy_validation_samples": "Scheme('adaptive-length', {'training.validation_samples': N})",
    "compare.rkd_feature_kd_weight": "Scheme('rkd-sc', {'training.feature_kd_weight': A})",
}
"""Fields that only one built-in scheme read, gone from their section: the old ``section.field`` -> the
override of that scheme that replaces it (a scenario's own ``Scheme`` with a built-in name extends its patch)."""


def unknown_field(section: str, name: str, known, where: str | None = None):
    """Raises the :class:`ScenarioError` for a field that ``section`` does not have: one line that names
    the new field if it was renamed (:data:`RENAMED_FIELDS`), else the section's fields."""
    key = f"{section}.{name}"
    if key in RENAMED_FIELDS:
        raise ScenarioError(f"{where or key}: renamed to {RENAMED_FIELDS[key]}")
    if key in MOVED_FIELDS:
        raise ScenarioError(f"{where or key}: now a patch of the scheme that reads it; give the scenario "
                            f"schemes=({MOVED_FIELDS[key]},) (and the same for every scheme that should use it)")
    raise ScenarioError(f"{where or key}: unknown field; {section} has {', '.join(sorted(known))}")
