"""The error raised for a bad scenario value (no dependencies, so every module can raise it)."""

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """A scenario field has a value that is not allowed. The message is one line: ``section.field: why``."""
