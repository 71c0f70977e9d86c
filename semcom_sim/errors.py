"""The errors that mean bad input (no dependencies, so every module can raise them).

The command line turns an :class:`InputError` (and the data, cache and teacher errors, which say what
file to put where) into one line on stderr and exit code 2; anything else is a bug and shows its
traceback.
"""

__all__ = ["InputError", "ScenarioError", "ResultsFileError", "RENAMED_FIELDS", "unknown_field"]


class InputError(ValueError):
    """Bad input from the user: a scenario value, a file or a path. The message is one line."""


class ScenarioError(InputError):
    """A scenario field has a value that is not allowed. The message is one line: ``section.field: why``."""


class ResultsFileError(InputError):
    """A results, cost or distillation CSV that cannot be read as one: ``path: line N: why``."""


RENAMED_FIELDS = {"phy.bits_per_symbol": "phy.num_bits_per_symbol", "sweep.min_frames": "sweep.min_samples",
                  "sweep.max_frames": "sweep.max_samples",
                  "compare.digital_bits_per_symbol": "compare.digital_num_bits_per_symbol"}
"""Scenario fields renamed since earlier versions: the old ``section.field`` -> the new one."""


def unknown_field(section: str, name: str, known, where: str | None = None):
    """Raises the :class:`ScenarioError` for a field that ``section`` does not have: one line that names
    the new field if it was renamed (:data:`RENAMED_FIELDS`), else the section's fields."""
    key = f"{section}.{name}"
    if key in RENAMED_FIELDS:
        raise ScenarioError(f"{where or key}: renamed to {RENAMED_FIELDS[key]}")
    raise ScenarioError(f"{where or key}: unknown field; {section} has {', '.join(sorted(known))}")
