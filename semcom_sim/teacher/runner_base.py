"""Shared by the teacher runners (the modules that import torch): the one error type they raise."""

from __future__ import annotations

__all__ = ["TeacherError"]


class TeacherError(RuntimeError):
    """A teacher cannot be built, loaded or run. The message is one line saying what to install or run."""
