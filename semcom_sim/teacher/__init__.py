"""The teacher-cache stage.

``cache`` (h5py and numpy only) writes, validates and reads the compressed teacher outputs; training
reads nothing else. The modules that run a large model (and import torch/transformers) live beside
it and are imported only by the ``semcom-sim teacher`` commands. ``registry`` holds the teacher names
and kinds that a scenario may give (no imports).

The names below are loaded on first use, so that importing ``semcom_sim.teacher.registry`` (as the
scenario module does) does not import h5py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from semcom_sim.teacher.cache import (
        CacheError,
        FeatureProjection,
        TeacherCache,
        TeacherIdentity,
        compress_topk,
        draw_classes,
        fit_pca,
        rebuild_distribution,
        sampled_distribution,
        temperature_scale,
        write_cache,
    )

__all__ = ["CacheError", "FeatureProjection", "TeacherCache", "TeacherIdentity", "compress_topk", "draw_classes",
           "fit_pca", "rebuild_distribution", "sampled_distribution", "temperature_scale", "write_cache"]


def __getattr__(name: str):
    """The names of ``__all__``, from :mod:`semcom_sim.teacher.cache` on first use."""
    if name in __all__:
        from semcom_sim.teacher import cache

        value = getattr(cache, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
