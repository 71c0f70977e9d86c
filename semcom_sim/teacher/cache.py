"""The teacher cache: what the teacher said about each training sample and view, in one HDF5 file.

Two kinds (``manifest["kind"]``):

- ``"top-k"``, paper A's pre-stored compression: run the teacher once, keep per training sample the K largest
  probabilities (fp16) and their class indices; at training time rebuild a full distribution with the
  stored values in place and the remaining mass ``1 - sum(top-K)`` spread evenly over the other
  ``C - K`` classes (:func:`rebuild_distribution`). The rebuilt distribution is a *biased* estimate of the
  teacher's: it moves mass from the classes the teacher ranks 2..K-th and from the tail onto an even spread.
- ``"sampled"``, random-sampling KD (Anshumann et al., "Sparse Logit Sampling: Accelerating Knowledge
  Distillation in LLMs", ACL 2025, arXiv 2503.16870): keep per sample ``m`` classes drawn independently from the
  teacher's distribution at the distillation temperature ``T`` (with replacement); at training time the target is
  their empirical distribution, ``count(c) / m`` (:func:`sampled_distribution`). Its expectation over the draws
  is the teacher's distribution at ``T`` exactly, so the cross-entropy (and its gradient) against it is an
  unbiased estimate of the full one. Drawing from the teacher's own distribution makes every importance weight
  ``p(c) / q(c)`` equal to one, so only the class indices are stored (2 bytes per entry, against 4 for top-K's
  value and index). The cache may hold ``D`` independent draws per sample; epoch ``e`` (1, 2, ...) of a training
  reads draw ``(e - 1) mod D``, so with ``D`` at least the number of epochs every epoch sees a fresh draw.

File layout (format version 1)::

    /topk_probs    float16 [num_samples, num_views, K]   kind top-k: descending per row
    /topk_indices  int16   [num_samples, num_views, K]   kind top-k: class indices of those values
    /sampled_indices int16 [num_samples, num_views, D, m] kind sampled: m classes drawn per draw
    /sample_ids    int64   [num_samples]                 position of each row in the training set
    /logits        float32 [num_samples, num_views, C]   optional
    /features      float16 [num_samples, num_views, D]   optional (feature-level KD)
    /feature_mean        float32 [D_teacher]       with a projection: the mean the features were centred on
    /feature_components  float32 [D_teacher, D]    with a projection: the principal axes (columns, by
                                                   decreasing variance); features = (f - mean) @ components
    attrs["manifest"]  JSON: format, kind, dataset name and fingerprint, teacher identity and weights hash,
                       K (top-k) or the sampling (m, D, seed, temperature), C, views, dtypes, creation
                       parameters, sha256 checksum of all datasets

A *view* is one fixed input to the teacher: view 0 is the plain image; further views, if any, are
deterministic augmentations named in the manifest (``views``). A cached output is only ever paired
with the view it was computed on. Reading needs h5py and numpy only.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from semcom_sim.errors import ScenarioError
from semcom_sim.io import atomic_path
from semcom_sim.teacher.registry import CACHE_KINDS  # noqa: F401  (the kinds this module reads and writes)

FORMAT = "semcom-sim/teacher-cache"
FORMAT_VERSION = 1
_DATASETS = ("topk_probs", "topk_indices", "sampled_indices", "sample_ids", "logits", "features", "feature_mean",
             "feature_components")


class CacheError(RuntimeError):
    """A teacher cache is missing, corrupt, truncated or does not match the experiment (one line)."""


@dataclass(frozen=True)
class TeacherIdentity:
    """What produced a cache: a name, the hash of its weights, and a human description."""

    name: str
    weights_sha256: str
    description: str = ""


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed in float64: [..., C] -> float32 [..., C]."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)


def compress_topk(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest probabilities of each row, descending, and their class indices.

    :param probs: [..., C] probabilities (rows sum to one).
    :return: ``(values float16 [..., k], indices int16 [..., k])``.
    """
    probs = np.asarray(probs, dtype=np.float32)
    num_classes = probs.shape[-1]
    if not 1 <= k <= num_classes:
        raise ScenarioError(f"teacher.top_k: must be in 1..{num_classes}, got {k}")
    order = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
    values = np.take_along_axis(probs, order, axis=-1)
    return values.astype(np.float16), order.astype(np.int16)


def rebuild_distribution(topk_probs: np.ndarray, topk_indices: np.ndarray, num_classes: int) -> np.ndarray:
    """Paper A's Eq. 6: stored values at their classes, ``(1 - sum) / (C - K)`` on every other class.

    :param topk_probs: [..., K] stored probabilities; ``topk_indices``: [..., K] their classes.
    :return: float32 [..., C], rows summing to one (for ``K = C`` the stored row, renormalised
        against fp16 rounding).
    """
    values = np.asarray(topk_probs, dtype=np.float32)
    k = values.shape[-1]
    rest = np.clip(1.0 - values.sum(axis=-1, keepdims=True), 0.0, 1.0)
    if k < num_classes:
        full = np.broadcast_to(rest / (num_classes - k), values.shape[:-1] + (num_classes,)).copy()
    else:
        full = np.zeros(values.shape[:-1] + (num_classes,), np.float32)
    np.put_along_axis(full, np.asarray(topk_indices, dtype=np.int64), values, axis=-1)
    return full / full.sum(axis=-1, keepdims=True)


def draw_classes(probs: np.ndarray, entries: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` independent sets of ``entries`` classes per row, each drawn with replacement from the row's
    distribution (inverse-CDF sampling with NumPy's PCG64 seeded by ``seed``: the same arguments give the
    same classes).

    :param probs: [..., C] distributions (rows sum to one).
    :return: int16 [..., draws, entries].
    """
    probs = np.asarray(probs, dtype=np.float64)
    if int(entries) < 1 or int(draws) < 1:
        raise ValueError(f"draw_classes: need entries >= 1 and draws >= 1, got {entries} and {draws}")
    cdf = np.cumsum(probs, axis=-1)
    cdf /= cdf[..., -1:]
    u = np.random.default_rng(seed).random(probs.shape[:-1] + (int(draws), int(entries)))
    rows_cdf, rows_u = cdf.reshape(-1, cdf.shape[-1]), u.reshape(-1, int(draws) * int(entries))
    picked = np.stack([np.searchsorted(c, row, side="right") for c, row in zip(rows_cdf, rows_u)])
    picked = np.minimum(picked, probs.shape[-1] - 1)  # u == 1 cannot occur; a rounding edge stays in range
    return picked.reshape(u.shape).astype(np.int16)


def sampled_distribution(indices: np.ndarray, num_classes: int) -> np.ndarray:
    """The empirical distribution of drawn classes: ``count(c) / m`` per row.

    :param indices: [..., m] class indices.
    :return: float32 [..., num_classes], rows summing to one.
    """
    indices = np.asarray(indices, dtype=np.int64)
    m = indices.shape[-1]
    flat = indices.reshape(-1, m)
    counts = np.zeros((flat.shape[0], num_classes), np.float32)
    np.add.at(counts, (np.arange(flat.shape[0])[:, None], flat), 1.0)
    return (counts / m).reshape(indices.shape[:-1] + (num_classes,))


def temperature_scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``p^(1/T)`` renormalised: the distribution a softmax at temperature ``T`` of the same logits
    would give (exact for full distributions; applied to the rebuilt one for a top-K cache)."""
    if temperature <= 0:
        raise ScenarioError(f"training.kd_temperature: must be > 0, got {temperature}")
    if temperature == 1.0:
        return np.asarray(probs, dtype=np.float32)
    log_p = np.log(np.maximum(np.asarray(probs, dtype=np.float64), 1e-30)) / temperature
    log_p -= log_p.max(axis=-1, keepdims=True)
    scaled = np.exp(log_p)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def _checksum(handle: h5py.File) -> str:
    digest = hashlib.sha256()
    for name in _DATASETS:
        if name in handle:
            data = np.ascontiguousarray(handle[name][...])
            digest.update(f"{name}|{data.dtype.str}|{data.shape}".encode())
            digest.update(data.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class FeatureProjection:
    """A fixed linear projection of the teacher's features: ``(f - mean) @ components``.

    :param mean: float32 [D_teacher].
    :param components: float32 [D_teacher, D], orthonormal columns by decreasing variance.
    :param explained_variance: the fraction of the features' total variance the ``D`` columns keep.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Projects float [N, D_teacher] -> float32 [N, D]."""
        return ((np.asarray(features, np.float64) - self.mean) @ self.components).astype(np.float32)


def fit_pca(features: np.ndarray, dim: int, chunk: int = 8192) -> FeatureProjection:
    """The first ``dim`` principal components of ``features`` [N, D_teacher] (covariance accumulated in
    float64 over chunks of rows; each axis' sign is fixed so that its largest entry is positive)."""
    features = np.asarray(features)
    num, width = features.shape
    if not 0 < dim <= width:
        raise ValueError(f"teacher.feature_dim must be in 1..{width} (the teacher's feature size), got {dim}")
    mean = features.mean(axis=0, dtype=np.float64)
    cov = np.zeros((width, width))
    for begin in range(0, num, chunk):
        centred = features[begin:begin + chunk].astype(np.float64) - mean
        cov += centred.T @ centred
    values, vectors = np.linalg.eigh(cov / num)
    order = np.argsort(values)[::-1][:dim]
    axes = vectors[:, order]
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), np.arange(dim)] < 0, -1.0, 1.0)
    explained = float(np.clip(values[order], 0, None).sum() / max(np.clip(values, 0, None).sum(), 1e-30))
    return FeatureProjection(mean.astype(np.float32), axes.astype(np.float32), explained)


def write_cache(path: str | Path, *, topk_probs: np.ndarray | None = None, topk_indices: np.ndarray | None = None,
                num_classes: int, dataset_name: str, dataset_fingerprint: str, teacher: TeacherIdentity,
                sampled_indices: np.ndarray | None = None, sampling: dict[str, Any] | None = None,
                views: tuple[str, ...] = ("identity",), sample_ids: np.ndarray | None = None,
                logits: np.ndarray | None = None, features: np.ndarray | None = None,
                feature_projection: FeatureProjection | None = None,
                creation: dict[str, Any] | None = None) -> dict[str, Any]:
    """Writes a cache atomically (temporary file, then rename) and returns its manifest. A top-k cache takes
    ``topk_probs`` and ``topk_indices``; a sampled cache ``sampled_indices`` and ``sampling``.

    :param topk_probs: [num_samples, num_views, K] (any float dtype; stored as float16).
    :param topk_indices: [num_samples, num_views, K] class indices (stored as int16).
    :param sampled_indices: [num_samples, num_views, D, m] drawn classes (:func:`draw_classes`; int16).
    :param sampling: how they were drawn: ``{"entries": m, "draws": D, "seed": ..., "temperature": T}``.
    :param views: one name per view; view 0 must be ``"identity"`` (the un-augmented input).
    :param features: [num_samples, num_views, D] teacher features (already projected if
        ``feature_projection`` is given).
    :param feature_projection: the projection that ``features`` went through, stored with the cache.
    :param creation: free-form creation parameters (teacher resolution, batch size, command, ...).
    """
    if feature_projection is not None and features is None:
        raise ValueError("feature_projection needs the features it projected")
    if (sampled_indices is None) == (topk_probs is None):
        raise ValueError("write_cache: give either topk_probs and topk_indices or sampled_indices")
    if sampled_indices is None:
        topk_probs = np.asarray(topk_probs)
        topk_indices = np.asarray(topk_indices)
        if topk_probs.ndim != 3 or topk_probs.shape != topk_indices.shape:
            raise ValueError(f"topk_probs {topk_probs.shape} and topk_indices {topk_indices.shape} must both be "
                             "[num_samples, num_views, K]")
        num_samples, num_views, k = topk_probs.shape
        stored, kind = topk_indices, "top-k"
    else:
        sampled_indices = np.asarray(sampled_indices)
        keys = {"entries", "draws", "seed", "temperature"}
        if sampled_indices.ndim != 4 or sampling is None or set(sampling) != keys or \
                sampled_indices.shape[2:] != (sampling["draws"], sampling["entries"]):
            raise ValueError(f"sampled_indices {sampled_indices.shape} must be [num_samples, num_views, draws, "
                             f"entries] and sampling must give {sorted(keys)} that match it, got {sampling!r}")
        num_samples, num_views = sampled_indices.shape[:2]
        stored, kind = sampled_indices, "sampled"
    if len(views) != num_views or views[0] != "identity":
        raise ValueError(f"views must name the {num_views} views, the first 'identity', got {views!r}")
    if stored.min() < 0 or stored.max() >= num_classes:
        raise ValueError(f"{'topk' if kind == 'top-k' else 'sampled'}_indices must lie in 0..{num_classes - 1}")
    sample_ids = np.arange(num_samples, dtype=np.int64) if sample_ids is None else np.asarray(sample_ids, np.int64)
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "dataset": {"name": dataset_name, "fingerprint": dataset_fingerprint, "num_samples": int(num_samples)},
        "teacher": dataclasses.asdict(teacher), "kind": kind,
        **({"top_k": int(k)} if kind == "top-k" else
           {"sampling": {name: (float(v) if name == "temperature" else int(v)) for name, v in sampling.items()}}),
        "num_classes": int(num_classes), "views": list(views),
        "dtypes": {**({"topk_probs": "float16", "topk_indices": "int16"} if kind == "top-k" else
                      {"sampled_indices": "int16"}), "sample_ids": "int64",
                   **({"logits": "float32"} if logits is not None else {}),
                   **({"features": "float16"} if features is not None else {})},
        **({"feature_projection": {"method": "pca", "source_dim": int(feature_projection.components.shape[0]),
                                   "dim": int(feature_projection.components.shape[1]),
                                   "explained_variance": round(feature_projection.explained_variance, 6)}}
           if feature_projection is not None else {}),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "creation": creation or {},
    }
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            opts = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
            if kind == "top-k":
                f.create_dataset("topk_probs", data=topk_probs.astype(np.float16), **opts)
                f.create_dataset("topk_indices", data=topk_indices.astype(np.int16), **opts)
            else:
                f.create_dataset("sampled_indices", data=sampled_indices.astype(np.int16), **opts)
            f.create_dataset("sample_ids", data=sample_ids, **opts)
            if logits is not None:
                f.create_dataset("logits", data=np.asarray(logits, np.float32), **opts)
            if features is not None:
                f.create_dataset("features", data=np.asarray(features, np.float16), **opts)
            if feature_projection is not None:
                f.create_dataset("feature_mean", data=feature_projection.mean.astype(np.float32), **opts)
                f.create_dataset("feature_components", data=feature_projection.components.astype(np.float32),
                                 **opts)
            manifest["checksum"] = _checksum(f)
            f.attrs["manifest"] = json.dumps(manifest, sort_keys=True)
    return manifest


def cache_checksum(path: str | Path) -> str:
    """The checksum recorded in a cache's manifest ("" if the file is missing or unreadable)."""
    try:
        with h5py.File(path, "r") as f:
            return str(json.loads(f.attrs["manifest"]).get("checksum", ""))
    except (OSError, KeyError, ValueError):
        return ""


def cache_teacher_seconds(path: str | Path) -> float | None:
    """The one-off teacher pass that filled a cache, in seconds, from its manifest (``None`` if the file is
    missing or unreadable or does not record it)."""
    try:
        with h5py.File(path, "r") as f:
            seconds = json.loads(f.attrs["manifest"]).get("creation", {}).get("teacher_seconds")
    except (OSError, KeyError, ValueError):
        return None
    return None if seconds is None else float(seconds)


class TeacherCache:
    """A validated teacher cache, loaded into memory (it is small: N x views x K x 4 bytes).

    :param path: the HDF5 file.
    :param dataset_fingerprint: refuse a cache built for other data (``None``: do not check).
    :param teacher_name: refuse a cache built by another teacher (``None``: do not check).
    :param rebuild_hint: the command that rebuilds the cache, quoted in every error.
    """

    def __init__(self, path: str | Path, *, dataset_fingerprint: str | None = None,
                 teacher_name: str | None = None, rebuild_hint: str = "semcom-sim teacher cache SCENARIO.py"):
        self.path = Path(path)
        fix = f"rebuild it with {rebuild_hint}"
        if not self.path.is_file():
            raise CacheError(f"teacher cache {self.path} does not exist: build it with {rebuild_hint}")
        try:
            with h5py.File(self.path, "r") as f:
                manifest = json.loads(f.attrs["manifest"])
                checksum = _checksum(f)
                self.kind = manifest.get("kind", "top-k")  # files written before the sampled kind are top-k
                self.topk_probs = f["topk_probs"][...] if self.kind == "top-k" else None
                self.topk_indices = f["topk_indices"][...] if self.kind == "top-k" else None
                self.sampled_indices = f["sampled_indices"][...] if self.kind == "sampled" else None
                self.sample_ids = f["sample_ids"][...]
                self.logits = f["logits"][...] if "logits" in f else None
                self.features = f["features"][...] if "features" in f else None
                self.feature_projection = (
                    FeatureProjection(f["feature_mean"][...], f["feature_components"][...],
                                      float(manifest["feature_projection"]["explained_variance"]))
                    if "feature_components" in f else None)
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
            raise CacheError(f"teacher cache {self.path} is unreadable or truncated ({type(exc).__name__}); "
                             f"{fix}") from None
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise CacheError(f"teacher cache {self.path} has format {manifest.get('format')!r} "
                             f"v{manifest.get('format_version')!r}, expected {FORMAT} v{FORMAT_VERSION}; {fix}")
        if manifest.get("checksum") != checksum:
            raise CacheError(f"teacher cache {self.path} fails its checksum (corrupt); {fix}")
        found = manifest["dataset"]["fingerprint"]
        if dataset_fingerprint is not None and found != dataset_fingerprint:
            raise CacheError(f"teacher cache {self.path} was built for dataset fingerprint {found}, but the "
                             f"scenario's data is {dataset_fingerprint}; {fix}")
        if teacher_name is not None and manifest["teacher"]["name"] != teacher_name:
            raise CacheError(f"teacher cache {self.path} was built by teacher {manifest['teacher']['name']!r}, "
                             f"but the scenario names {teacher_name!r}; {fix}")
        self.manifest = manifest
        self.num_classes = int(manifest["num_classes"])
        self.top_k = int(manifest["top_k"]) if self.kind == "top-k" else None
        self.sampling = dict(manifest["sampling"]) if self.kind == "sampled" else None
        """``{"entries", "draws", "seed", "temperature"}`` of a sampled cache; ``None`` for top-k."""
        self.views = tuple(manifest["views"])

    @property
    def num_samples(self) -> int:
        return int(self.sample_ids.shape[0])

    def targets(self, rows: np.ndarray, view: int | np.ndarray = 0, temperature: float = 1.0,
                epoch: int = 1) -> np.ndarray:
        """Teacher distributions of cache ``rows`` (one view per row), at ``temperature``: top-k, the rebuilt
        distribution (temperature-scaled); sampled, the empirical distribution of draw ``(epoch - 1) mod D``,
        which must have been drawn at ``temperature``.

        :return: float32 [len(rows), num_classes].
        :raises CacheError: a sampled cache drawn at another temperature.
        """
        rows = np.asarray(rows)
        view = np.broadcast_to(np.asarray(view), rows.shape)
        if view.size and (view.min() < 0 or view.max() >= len(self.views)):
            raise ValueError(f"view must be in 0..{len(self.views) - 1}")
        if self.kind == "sampled":
            if not np.isclose(float(temperature), self.sampling["temperature"]):
                raise CacheError(f"teacher cache {self.path} holds classes drawn at temperature "
                                 f"{self.sampling['temperature']:g}, but the training distils at {temperature:g}; "
                                 "rebuild it with semcom-sim teacher cache SCENARIO.py")
            draw = (int(epoch) - 1) % int(self.sampling["draws"])
            return sampled_distribution(self.sampled_indices[rows, view, draw], self.num_classes)
        full = rebuild_distribution(self.topk_probs[rows, view], self.topk_indices[rows, view], self.num_classes)
        return temperature_scale(full, temperature)
