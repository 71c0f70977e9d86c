"""The teacher-cache stage.

``cache`` (h5py and numpy only) writes, validates and reads the compressed teacher outputs; training
reads nothing else. The modules that run a large model (and import torch/transformers) live beside
it and are imported only by the ``semcom-sim teacher`` commands.
"""

from semcom_sim.teacher.cache import (
    CacheError,
    FeatureProjection,
    TeacherCache,
    TeacherIdentity,
    compress_topk,
    fit_pca,
    rebuild_distribution,
    temperature_scale,
    write_cache,
)

__all__ = ["CacheError", "FeatureProjection", "TeacherCache", "TeacherIdentity", "compress_topk", "fit_pca",
           "rebuild_distribution", "temperature_scale", "write_cache"]
