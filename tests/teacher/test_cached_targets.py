"""The teacher targets that cached distillation trains on (:class:`semcom_sim.train.CachedTeacherTargets`) equal the
targets computed from the teacher's own probabilities on the same training rows: paper A's top-K compression
(K probabilities kept in fp16, the remaining mass ``1 - sum`` spread evenly over the other ``C - K`` classes),
then the temperature ``p^(1/T)`` renormalised. The cache is written by the teacher stage
(:func:`semcom_sim.teacher.stage.build_cache`) around a hand-made teacher, so no network runs, and row ``i`` of the
cache must stay training row ``i``: across the teacher's chunks, for a training fraction with held-out rows,
for a ``data.num_train`` subset and with several views."""

from types import SimpleNamespace

import numpy as np
import pytest

from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.data import load_dataset, register_dataset
from semcom_sim.data.splits import training_rows
from semcom_sim.teacher import stage
from semcom_sim.teacher.cache import CacheError, TeacherCache, TeacherIdentity, compress_topk, write_cache
from semcom_sim.train import CachedTeacherTargets

NUM_CLASSES = 10
FEATURE_DIM = 6


def _weights(width: int, columns: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(width, columns)) / np.sqrt(width)


def teacher_logits(x: np.ndarray) -> np.ndarray:
    """A hand-made teacher: a fixed linear map of the pixels, different for every image."""
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    return 12.0 * (flat - 0.5) @ _weights(flat.shape[1], NUM_CLASSES, 7)


def teacher_features(x: np.ndarray) -> np.ndarray:
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    return (flat @ _weights(flat.shape[1], FEATURE_DIM, 8)).astype(np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def expected_targets(probs: np.ndarray, k: int, temperature: float) -> np.ndarray:
    """Paper A's Eq. 6, written out independently: the K largest probabilities as fp16 stores them at their
    classes, ``(1 - their sum) / (C - K)`` on every other class, renormalised; then ``p^(1/T)`` renormalised."""
    probs = np.asarray(probs, np.float32)  # what the teacher hands the stage
    num, classes = probs.shape
    order = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
    kept = np.take_along_axis(probs, order, axis=-1).astype(np.float16).astype(np.float64)
    full = np.empty((num, classes))
    full[:] = (np.clip(1.0 - kept.sum(axis=-1), 0.0, 1.0) / max(classes - k, 1))[:, None]
    if k == classes:
        full[:] = 0.0
    np.put_along_axis(full, order, kept, axis=-1)
    full /= full.sum(axis=-1, keepdims=True)
    scaled = full ** (1.0 / temperature)
    return scaled / scaled.sum(axis=-1, keepdims=True)


class HandMadeTeacher:
    """Stands in for :class:`semcom_sim.teacher.stage.LoadedTeacher`: the same ``predict`` contract (training-set
    positions -> probabilities float32 [B, C], features float32 [B, D]) on :func:`teacher_logits`."""

    def __init__(self, scenario, dataset):
        self.identity = TeacherIdentity(scenario.teacher.name, "0" * 64, "a fixed linear map of the pixels")
        self.kind = SimpleNamespace(creation=lambda scenario, model: {"resolution": None})
        self.model = None
        self.x_train = dataset.x_train
        self.calls: list[np.ndarray] = []

    def predict(self, rows, split="train"):
        assert split == "train"
        self.calls.append(np.asarray(rows))
        x = self.x_train[rows]
        return softmax(teacher_logits(x)).astype(np.float32), teacher_features(x)


def _scenario(tmp_path, *, dataset="synthetic", num_train=96, top_k=3, temperature=2.5, train_fraction=1.0,
              validation_samples=0, store_features=False, feature_kd_weight=0.0):
    return Scenario(
        name="cached-targets", data=Data(dataset=dataset, num_train=num_train, num_test=40),
        model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)), phy=Phy(channel="AWGN"),
        training=Training(jit_compile=False, epochs=1, batch_size=8, distillation="cached", kd_temperature=temperature,
                          train_fraction=train_fraction, validation_samples=validation_samples,
                          feature_kd_weight=feature_kd_weight),
        teacher=Teacher(top_k=top_k, store_features=store_features,
                        cache_path=str(tmp_path / "{dataset}-{name}-top{top_k}{features}.h5")),
        sweep=Sweep(schemes=("proposed",)))


@pytest.fixture
def hand_made_teacher(monkeypatch):
    """The teacher stage runs :class:`HandMadeTeacher`; returns the teachers it made."""
    made = []

    def make(scenario, dataset):
        made.append(HandMadeTeacher(scenario, dataset))
        return made[-1]

    monkeypatch.setattr(stage, "LoadedTeacher", make)
    return made


def _cached(scenario):
    dataset = load_dataset(scenario.data)
    stage.build_cache(scenario, dataset, log=lambda s: None)
    return dataset, CachedTeacherTargets(scenario, dataset)


def test_cached_targets_equal_the_teachers_probabilities_compressed_and_tempered(tmp_path, hand_made_teacher):
    scenario = _scenario(tmp_path, top_k=3, temperature=2.5)
    dataset, targets = _cached(scenario)
    rows = np.random.default_rng(0).permutation(dataset.x_train.shape[0])[:40]  # a shuffled batch
    got = targets(rows)["teacher_probs"]
    assert got.dtype == np.float32 and got.shape == (40, NUM_CLASSES)
    want = expected_targets(softmax(teacher_logits(dataset.x_train[rows])), 3, 2.5)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    # and the temperature flattened them: the largest target is below the largest rebuilt probability
    assert np.all(got.max(axis=-1) < expected_targets(softmax(teacher_logits(dataset.x_train[rows])), 3, 1.0)
                  .max(axis=-1))


def test_each_cache_row_is_the_training_row_of_the_same_position(tmp_path, hand_made_teacher):
    scenario = _scenario(tmp_path, top_k=2, temperature=1.0)
    dataset, targets = _cached(scenario)
    want = expected_targets(softmax(teacher_logits(dataset.x_train)), 2, 1.0)
    for i in (0, 1, 47, dataset.x_train.shape[0] - 1):
        np.testing.assert_allclose(targets(np.array([i]))["teacher_probs"][0], want[i], rtol=0, atol=2e-6)
    # the rows differ from each other, so a shifted or shuffled cache would not pass
    assert np.abs(want[:-1] - want[1:]).max(axis=-1).min() > 1e-3
    cache = TeacherCache(scenario.teacher.resolved_cache_path(dataset.name))
    np.testing.assert_array_equal(cache.sample_ids, np.arange(dataset.x_train.shape[0]))


def test_a_cache_of_every_class_gives_the_teachers_softmax_at_the_temperature(tmp_path, hand_made_teacher):
    """With K = C nothing is spread: the target is the teacher's softmax(logits / T), to fp16 precision."""
    scenario = _scenario(tmp_path, top_k=NUM_CLASSES, temperature=4.0)
    dataset, targets = _cached(scenario)
    rows = np.arange(0, dataset.x_train.shape[0], 3)
    got = targets(rows)["teacher_probs"]
    np.testing.assert_allclose(got, softmax(teacher_logits(dataset.x_train[rows]) / 4.0), rtol=0, atol=1e-3)
    np.testing.assert_allclose(got, expected_targets(softmax(teacher_logits(dataset.x_train[rows])), NUM_CLASSES,
                                                     4.0), rtol=0, atol=2e-6)


def test_cache_rows_follow_the_training_set_across_the_teachers_chunks(tmp_path, hand_made_teacher):
    # the stage runs the teacher on chunks of 2048 rows: 2100 rows take two
    scenario = _scenario(tmp_path, num_train=2100, top_k=3, temperature=2.0)
    dataset, targets = _cached(scenario)
    [teacher] = hand_made_teacher
    assert [(int(c[0]), int(c[-1])) for c in teacher.calls] == [(0, 2047), (2048, 2099)]
    rows = np.array([2099, 2048, 2047, 0, 1500])
    want = expected_targets(softmax(teacher_logits(dataset.x_train[rows])), 3, 2.0)
    np.testing.assert_allclose(targets(rows)["teacher_probs"], want, rtol=0, atol=2e-6)


def test_a_training_fraction_beside_held_out_rows_reads_its_own_cache_rows(tmp_path, hand_made_teacher):
    scenario = _scenario(tmp_path, num_train=120, train_fraction=0.5, validation_samples=20, temperature=3.0)
    dataset, targets = _cached(scenario)
    rows = training_rows(scenario, dataset)
    assert rows.size == 50 and not np.array_equal(rows, np.arange(rows.size))
    want = expected_targets(softmax(teacher_logits(dataset.x_train[rows])), 3, 3.0)
    np.testing.assert_allclose(targets(rows)["teacher_probs"], want, rtol=0, atol=2e-6)


BLOBS = "cached-targets-blobs"


@register_dataset(BLOBS)
def _blobs(data):
    """200 training and 40 test images of 8 x 8 pixels, each image a different random pattern."""
    rng = np.random.default_rng(11)
    x = rng.random((240, 8, 8, 1)).astype(np.float32)
    y = (np.arange(240) % NUM_CLASSES).astype(np.int32)
    return x[:200], y[:200], x[200:], y[200:]


def test_a_data_num_train_subset_is_cached_in_the_subsets_own_order(tmp_path, hand_made_teacher):
    scenario = _scenario(tmp_path, dataset=BLOBS, num_train=60, temperature=2.0)
    dataset, targets = _cached(scenario)
    full = _blobs(scenario.data)[0]
    assert dataset.x_train.shape[0] == 60 and not np.array_equal(dataset.x_train, full[:60])  # a stratified draw
    rows = np.arange(60)[::-1]
    want = expected_targets(softmax(teacher_logits(dataset.x_train[rows])), 3, 2.0)
    np.testing.assert_allclose(targets(rows)["teacher_probs"], want, rtol=0, atol=2e-6)
    # the first 60 rows of the full set are other images: their targets differ
    assert np.abs(expected_targets(softmax(teacher_logits(full[:60][rows])), 3, 2.0) - want).max() > 1e-2
    # and another subset is another training set: its rows would not match, so the cache is refused
    other = _scenario(tmp_path, dataset=BLOBS, num_train=80, temperature=2.0)
    with pytest.raises(CacheError, match="was built for dataset fingerprint"):
        CachedTeacherTargets(other, load_dataset(other.data))


def test_training_reads_view_0_of_a_cache_with_several_views(tmp_path):
    scenario = _scenario(tmp_path, top_k=3, temperature=2.0)
    dataset = load_dataset(scenario.data)
    plain = softmax(teacher_logits(dataset.x_train))
    flipped = softmax(teacher_logits(dataset.x_train[:, :, ::-1]))
    values, indices = compress_topk(np.stack([plain, flipped], axis=1), 3)
    write_cache(scenario.teacher.resolved_cache_path(dataset.name), topk_probs=values, topk_indices=indices,
                num_classes=NUM_CLASSES, dataset_name=dataset.name, dataset_fingerprint=dataset.fingerprint,
                teacher=TeacherIdentity(scenario.teacher.name, "0" * 64), views=("identity", "hflip"))
    targets = CachedTeacherTargets(scenario, dataset)
    rows = np.array([5, 0, 77, 31])
    got = targets(rows)["teacher_probs"]
    np.testing.assert_allclose(got, expected_targets(plain[rows], 3, 2.0), rtol=0, atol=2e-6)
    assert np.abs(got - expected_targets(flipped[rows], 3, 2.0)).max() > 1e-2
    np.testing.assert_allclose(targets.cache.targets(rows, view=1, temperature=2.0),
                               expected_targets(flipped[rows], 3, 2.0), rtol=0, atol=2e-6)


def test_cached_teacher_features_are_the_training_rows_features(tmp_path, hand_made_teacher):
    scenario = _scenario(tmp_path, top_k=3, store_features=True, feature_kd_weight=0.5)
    dataset, targets = _cached(scenario)
    rows = np.array([3, 90, 0, 41])
    out = targets(rows)
    assert targets.feature_dim == FEATURE_DIM
    np.testing.assert_allclose(out["teacher_features"], teacher_features(dataset.x_train[rows]).astype(np.float16),
                               rtol=0, atol=0)
    np.testing.assert_allclose(out["teacher_probs"], expected_targets(softmax(teacher_logits(dataset.x_train[rows])),
                                                                      3, 2.5), rtol=0, atol=2e-6)


def test_a_cache_of_another_top_k_is_refused(tmp_path, hand_made_teacher):
    scenario = _scenario(tmp_path, top_k=3)
    dataset = load_dataset(scenario.data)
    stage.build_cache(scenario, dataset, log=lambda s: None)
    other = _scenario(tmp_path, top_k=4)
    path = other.teacher.resolved_cache_path(dataset.name)
    path.write_bytes(scenario.teacher.resolved_cache_path(dataset.name).read_bytes())
    with pytest.raises(CacheError, match="keeps top-3, but teacher.top_k is 4"):
        CachedTeacherTargets(other, dataset)
