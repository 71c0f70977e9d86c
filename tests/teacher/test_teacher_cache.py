"""The teacher cache: paper A's top-K compression and rebuild, the HDF5 file, and its refusals."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from semcom_sim.teacher import (
    CacheError,
    TeacherCache,
    TeacherIdentity,
    compress_topk,
    fit_pca,
    rebuild_distribution,
    temperature_scale,
    write_cache,
)

TEACHER = TeacherIdentity(name="test-teacher", weights_sha256="ab" * 32, description="softmax of random logits")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture
def probs():
    return softmax(np.random.default_rng(0).normal(scale=3.0, size=(50, 2, 10)))


def make_cache(path, probs, k=3, **kwargs):
    values, indices = compress_topk(probs, k)
    args = dict(topk_probs=values, topk_indices=indices, num_classes=probs.shape[-1], dataset_name="toy",
                dataset_fingerprint="f" * 16, teacher=TEACHER, views=("identity", "flip"))
    args.update(kwargs)
    return write_cache(path, **args)


def test_rebuild_follows_paper_a_eq_6():
    p = np.array([[0.5, 0.2, 0.1, 0.1, 0.05, 0.05]], np.float32)
    values, indices = compress_topk(p, 2)
    assert indices.tolist() == [[0, 1]]
    full = rebuild_distribution(values, indices, 6)
    # stored values kept; the remaining 0.3 spread evenly over the other C - K = 4 classes
    np.testing.assert_allclose(full, [[0.5, 0.2, 0.075, 0.075, 0.075, 0.075]], atol=1e-3)
    np.testing.assert_allclose(full.sum(axis=-1), 1.0, rtol=1e-6)


def test_rebuild_keeps_the_argmax_and_is_exact_for_full_k(probs):
    for k in (1, 3, 10):
        values, indices = compress_topk(probs, k)
        full = rebuild_distribution(values, indices, 10)
        assert np.array_equal(full.argmax(-1), probs.argmax(-1))
        np.testing.assert_allclose(full.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(full, probs, atol=2e-3)  # k = C: only fp16 rounding


def test_temperature_scaling_equals_a_softmax_of_scaled_logits():
    logits = np.random.default_rng(1).normal(size=(4, 7))
    np.testing.assert_allclose(temperature_scale(softmax(logits), 4.0), softmax(logits / 4.0), rtol=1e-5)
    with pytest.raises(ValueError, match="kd_temperature"):
        temperature_scale(softmax(logits), 0.0)


def test_storage_shrinks_about_c_over_2k(tmp_path, probs):
    make_cache(tmp_path / "c.h5", probs, k=1)
    cache = TeacherCache(tmp_path / "c.h5")
    full_bytes = probs.astype(np.float32).nbytes
    topk_bytes = cache.topk_probs.nbytes + cache.topk_indices.nbytes
    assert topk_bytes == full_bytes // 10  # 2 + 2 bytes per class kept instead of 4 x C


def test_round_trip_manifest_and_targets(tmp_path, probs):
    path = tmp_path / "cache.h5"
    manifest = make_cache(path, probs, k=3, creation={"resolution": 96})
    cache = TeacherCache(path, dataset_fingerprint="f" * 16, teacher_name="test-teacher")
    assert cache.manifest == manifest
    assert cache.manifest["teacher"]["weights_sha256"] == "ab" * 32
    assert (cache.num_samples, cache.top_k, cache.num_classes, cache.views) == (50, 3, 10, ("identity", "flip"))
    rows = np.array([3, 7, 7])
    targets = cache.targets(rows, view=np.array([0, 0, 1]))
    assert targets.shape == (3, 10)
    assert np.array_equal(targets.argmax(-1), probs[rows, [0, 0, 1]].argmax(-1))
    assert not np.allclose(targets[1], targets[2])  # a view is paired with its own teacher output
    assert [p.name for p in tmp_path.iterdir()] == ["cache.h5"]  # nothing half-written left


def test_mismatched_dataset_or_teacher_is_refused_in_one_line(tmp_path, probs):
    make_cache(tmp_path / "c.h5", probs)
    with pytest.raises(CacheError) as err:
        TeacherCache(tmp_path / "c.h5", dataset_fingerprint="0" * 16)
    assert "built for dataset fingerprint ffffffffffffffff" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CacheError, match="built by teacher 'test-teacher'"):
        TeacherCache(tmp_path / "c.h5", teacher_name="other")
    with pytest.raises(CacheError, match="does not exist"):
        TeacherCache(tmp_path / "missing.h5")


def test_corrupt_or_truncated_cache_is_refused(tmp_path, probs):
    path = tmp_path / "c.h5"
    make_cache(path, probs)
    with h5py.File(path, "r+") as f:  # flip one stored probability
        f["topk_probs"][0, 0, 0] = np.float16(0.0)
    with pytest.raises(CacheError, match="fails its checksum"):
        TeacherCache(path)
    make_cache(path, probs)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match="unreadable or truncated"):
        TeacherCache(path)
    make_cache(path, probs)
    with h5py.File(path, "r+") as f:
        manifest = json.loads(f.attrs["manifest"])
        manifest["format_version"] = 99
        f.attrs["manifest"] = json.dumps(manifest)
    with pytest.raises(CacheError, match="expected semcom-sim/teacher-cache v1"):
        TeacherCache(path)


def test_bad_writes_are_rejected(tmp_path, probs):
    values, indices = compress_topk(probs, 3)
    with pytest.raises(ValueError, match="views"):
        write_cache(tmp_path / "x.h5", topk_probs=values, topk_indices=indices, num_classes=10,
                    dataset_name="toy", dataset_fingerprint="f", teacher=TEACHER, views=("flip", "identity"))
    with pytest.raises(ValueError, match="top_k"):
        compress_topk(probs, 11)
    assert not list(tmp_path.iterdir())


def test_reading_a_cache_does_not_import_torch_or_tensorflow():
    code = ("import sys, semcom_sim.teacher.cache; "
            "print([m for m in ('torch', 'transformers', 'tensorflow') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_pca_projection_matches_the_eigenvectors_of_the_covariance():
    # features with a known covariance: variances 9, 4, 1, 0.01 along a random orthonormal basis
    rng = np.random.default_rng(3)
    basis, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    feats = (rng.normal(size=(20000, 4)) * np.sqrt([9.0, 4.0, 1.0, 0.01])) @ basis.T + 5.0
    projection = fit_pca(feats.astype(np.float32), 2, chunk=3000)  # chunks do not change the sums
    assert projection.components.shape == (4, 2) and projection.mean.shape == (4,)
    np.testing.assert_allclose(projection.mean, 5.0, atol=0.05)
    # the axes are the two largest-variance directions (up to sign), orthonormal
    np.testing.assert_allclose(np.abs(projection.components.T @ basis[:, :2]), np.eye(2), atol=0.02)
    np.testing.assert_allclose(projection.components.T @ projection.components, np.eye(2), atol=1e-5)
    assert projection.explained_variance == pytest.approx(13 / 14.01, abs=0.01)
    out = projection(feats)
    np.testing.assert_allclose(out.var(axis=0), [9.0, 4.0], rtol=0.05)  # variances of the scores
    with pytest.raises(ValueError, match="teacher.feature_dim must be in 1..4"):
        fit_pca(feats, 5)


def test_a_projected_feature_cache_round_trips_its_projection(tmp_path, probs):
    feats = np.random.default_rng(1).normal(size=(50, 16)).astype(np.float32)
    projection = fit_pca(feats, 3)
    path = tmp_path / "c.h5"
    manifest = make_cache(path, probs, features=np.repeat(projection(feats)[:, None], 2, axis=1),
                          feature_projection=projection)
    assert manifest["feature_projection"]["source_dim"] == 16 and manifest["feature_projection"]["dim"] == 3
    cache = TeacherCache(path)
    np.testing.assert_allclose(cache.feature_projection.components, projection.components)
    np.testing.assert_allclose(cache.features[:, 0], projection(feats), atol=2e-2)  # float16 storage
    assert cache.feature_projection.explained_variance == pytest.approx(projection.explained_variance, abs=1e-6)
    with pytest.raises(ValueError, match="needs the features"):
        make_cache(tmp_path / "d.h5", probs, feature_projection=projection)
