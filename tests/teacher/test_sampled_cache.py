"""The sampled teacher cache (random-sampling KD): classes drawn from the teacher's distribution, whose empirical
distribution is an unbiased estimate of it (top-K's rebuild is not), in the same HDF5 file with its own identity."""

from pathlib import Path

import numpy as np
import pytest

from semcom_sim import Data, Scenario, Teacher, Training
from semcom_sim.data import load_dataset
from semcom_sim.schemes import apply_patch, cache_kind_schemes
from semcom_sim.teacher import (
    CacheError,
    TeacherCache,
    TeacherIdentity,
    compress_topk,
    draw_classes,
    rebuild_distribution,
    sampled_distribution,
    temperature_scale,
    write_cache,
)
from semcom_sim.train import CachedTeacherTargets

TEACHER = TeacherIdentity(name="oracle", weights_sha256="cd" * 32)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_the_mean_of_sampled_targets_is_the_teacher_distribution_and_top_k_is_not():
    p = softmax(np.array([[3.0, 2.0, 1.5, 1.0, 0.0, -0.5, -1.0, -2.0, -2.0, -3.0]]))  # one sample, 10 classes
    draws = draw_classes(p, entries=3, draws=20_000, seed=0)[0]  # 20,000 independent caches of 3 classes
    mean = sampled_distribution(draws, 10).mean(axis=0)
    # each class's mean of 20,000 draws of m = 3: standard error sqrt(p (1 - p) / 60,000) <= 0.0021
    np.testing.assert_allclose(mean, p[0], atol=0.01)
    values, indices = compress_topk(p, 3)
    rebuilt = rebuild_distribution(values, indices, 10)[0]
    # the tail spread evenly: the 4th class gets 0.019 for 0.074, the 10th 0.019 for 0.001
    assert np.abs(rebuilt - p[0]).max() > 0.03
    assert np.abs(mean - p[0]).max() < np.abs(rebuilt - p[0]).max() / 3


def test_draws_are_the_seeds_own_and_each_a_distribution():
    p = softmax(np.random.default_rng(1).normal(size=(40, 2, 5)))
    a, b, c = draw_classes(p, 4, 3, seed=7), draw_classes(p, 4, 3, seed=7), draw_classes(p, 4, 3, seed=8)
    assert a.shape == (40, 2, 3, 4) and a.dtype == np.int16 and 0 <= a.min() and a.max() < 5
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    targets = sampled_distribution(a, 5)
    assert targets.shape == (40, 2, 3, 5)
    np.testing.assert_allclose(targets.sum(-1), 1.0, rtol=1e-6)
    assert set(np.unique(targets * 4)) <= {0.0, 1.0, 2.0, 3.0, 4.0}  # counts of m = 4 draws
    one_hot = np.eye(5)[[2]]  # a certain teacher: every draw is its class
    assert np.all(draw_classes(one_hot, 6, 2, seed=0) == 2)
    with pytest.raises(ValueError, match="entries >= 1"):
        draw_classes(p, 0, 1, seed=0)


def _sampled_cache(path, probs, entries=3, draws=2, seed=0, temperature=1.0, **kwargs):
    indices = draw_classes(temperature_scale(probs, temperature), entries, draws, seed)
    return write_cache(path, sampled_indices=indices, num_classes=probs.shape[-1], dataset_name="toy",
                       dataset_fingerprint="f" * 16, teacher=TEACHER,
                       sampling={"entries": entries, "draws": draws, "seed": seed, "temperature": temperature},
                       **kwargs)


def test_a_sampled_cache_round_trips_and_each_epoch_reads_its_draw(tmp_path):
    probs = softmax(np.random.default_rng(2).normal(scale=2.0, size=(30, 1, 10)))
    manifest = _sampled_cache(tmp_path / "s.h5", probs, entries=4, draws=3, seed=5)
    assert manifest["kind"] == "sampled" and "top_k" not in manifest
    assert manifest["sampling"] == {"entries": 4, "draws": 3, "seed": 5, "temperature": 1.0}
    cache = TeacherCache(tmp_path / "s.h5")
    assert cache.kind == "sampled" and cache.top_k is None and cache.num_samples == 30
    stored = draw_classes(probs, 4, 3, seed=5)
    rows = np.array([4, 0, 17])
    for epoch in (1, 2, 3, 4, 7):  # draw (epoch - 1) mod 3
        expected = sampled_distribution(stored[rows, 0, (epoch - 1) % 3], 10)
        np.testing.assert_array_equal(cache.targets(rows, epoch=epoch), expected)
    assert not np.array_equal(cache.targets(rows, epoch=1), cache.targets(rows, epoch=2))
    with pytest.raises(CacheError, match="drawn at temperature 1, but the training distils at 2"):
        cache.targets(rows, temperature=2.0)
    with pytest.raises(ValueError, match="sampled_indices"):
        write_cache(tmp_path / "bad.h5", sampled_indices=stored, num_classes=10, dataset_name="toy",
                    dataset_fingerprint="f" * 16, teacher=TEACHER,
                    sampling={"entries": 3, "draws": 3, "seed": 5, "temperature": 1.0})  # m does not match
    with pytest.raises(ValueError, match="either topk_probs"):
        write_cache(tmp_path / "bad.h5", num_classes=10, dataset_name="toy", dataset_fingerprint="f" * 16,
                    teacher=TEACHER)


def _scenario(tmp_path, **teacher):
    return Scenario(name="s", data=Data(dataset="synthetic", num_train=64, num_test=32),
                    training=Training(distillation="cached", kd_temperature=teacher.pop("temperature", 1.0)),
                    teacher=Teacher(name="oracle", cache_path=str(tmp_path / "{dataset}-{name}-top{top_k}.h5"),
                                    **teacher))


@pytest.mark.parametrize("built, scenario, message", [
    ({}, {"cache_kind": "sampled"}, "is a top-k cache, but teacher.cache_kind is 'sampled'"),
    ({"kind": "sampled"}, {"cache_kind": "sampled", "sample_seed": 1}, "drawn with seed 0, but teacher.sample_seed "
                                                                      "is 1"),
    ({"kind": "sampled"}, {"cache_kind": "sampled", "sampled_entries": 5}, "drawn with entries 3, but "
                                                                          "teacher.sampled_entries is 5"),
    ({"kind": "sampled"}, {"cache_kind": "sampled", "sample_draws": 2}, "drawn with draws 1, but "
                                                                       "teacher.sample_draws is 2"),
    ({"kind": "sampled"}, {"cache_kind": "sampled", "temperature": 2.0}, "drawn with temperature 1, but "
                                                                        "training.kd_temperature is 2"),
])
def test_a_cache_of_another_kind_or_draw_is_refused_in_one_line(tmp_path, built, scenario, message):
    wanted = _scenario(tmp_path, **scenario)
    dataset = load_dataset(wanted.data)
    path = wanted.teacher.resolved_cache_path(dataset.name)
    probs = softmax(4.0 * np.eye(10)[dataset.y_train])[:, None, :]
    common = dict(num_classes=10, dataset_name=dataset.name, dataset_fingerprint=dataset.fingerprint, teacher=TEACHER)
    if built.get("kind") == "sampled":
        write_cache(path, sampled_indices=draw_classes(probs, 3, 1, 0),
                    sampling={"entries": 3, "draws": 1, "seed": 0, "temperature": 1.0}, **common)
    else:
        values, indices = compress_topk(probs, 3)
        write_cache(path, topk_probs=values, topk_indices=indices, **common)
    with pytest.raises(CacheError, match=message) as info:
        CachedTeacherTargets(wanted, dataset)
    assert "\n" not in str(info.value)


def test_the_kind_and_its_draws_name_the_file_and_enter_the_fingerprint_only_when_sampled(tmp_path):
    top_k = _scenario(tmp_path)
    assert top_k.teacher.resolved_cache_path("d").name == "d-oracle-top3.h5"
    assert _scenario(tmp_path, sample_seed=4, sampled_entries=9).fingerprint() == top_k.fingerprint()
    sampled = _scenario(tmp_path, cache_kind="sampled")
    assert sampled.teacher.resolved_cache_path("d").name == "d-oracle-sampled3.h5"
    assert _scenario(tmp_path, cache_kind="sampled", sample_draws=4, sample_seed=2).teacher.resolved_cache_path(
        "d").name == "d-oracle-sampled3-draws4-seed2.h5"
    assert sampled.fingerprint() != top_k.fingerprint()
    assert _scenario(tmp_path, cache_kind="sampled", top_k=7).fingerprint() == sampled.fingerprint()
    assert _scenario(tmp_path, cache_kind="sampled", sample_seed=1).fingerprint() != sampled.fingerprint()
    with pytest.raises(Exception, match="teacher.cache_kind"):
        Teacher(cache_kind="random")


def test_the_equal_bytes_schemes_pair_each_top_k_with_twice_as_many_drawn_classes():
    schemes = cache_kind_schemes((1, 3), num_classes=26)
    assert [s.name for s in schemes] == ["top1", "sampled2", "top3", "sampled6", "full"]
    patches = {s.name: dict(s.patch) for s in schemes}
    assert patches["sampled6"] == {"teacher.cache_kind": "sampled", "teacher.sampled_entries": 6}
    assert patches["top3"] == {"teacher.top_k": 3} and patches["full"] == {"teacher.top_k": 26}
    scenario = _scenario(Path("/tmp"))
    for k in (1, 3):  # bytes per sample: 4 per top-K entry (fp16 value, int16 index), 2 per drawn class (int16)
        top, drawn = (apply_patch(scenario, patches[name], name).teacher for name in (f"top{k}", f"sampled{2 * k}"))
        assert 4 * top.top_k == 2 * drawn.sampled_entries
