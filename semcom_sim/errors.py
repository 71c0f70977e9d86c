"""The errors that mean bad input (no dependencies, so every module can raise them).

The command line turns an :class:`InputError` (and the data, cache and teacher errors, which say what
file to put where) into one line on stderr and exit code 2; anything else is a bug and shows its
traceback.
"""

__all__ = ["InputError", "ScenarioError", "ResultsFileError"]


class InputError(ValueError):
    """Bad input from the user: a scenario value, a file or a path. The message is one line."""


class ScenarioError(InputError):
    """A scenario field has a value that is not allowed. The message is one line: ``section.field: why``."""


class ResultsFileError(InputError):
    """A results, cost or distillation CSV that cannot be read as one: ``path: line N: why``."""
