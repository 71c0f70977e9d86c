"""Fast distillation: the IB loss against closed forms, and training from the teacher cache alone."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.data import load_dataset
from semcom_sim.data.splits import training_rows
from semcom_sim.losses import CrossEntropyRateLoss, InformationBottleneckKDLoss, make_loss
from semcom_sim.teacher import CacheError, TeacherIdentity, compress_topk, draw_classes, write_cache
from semcom_sim.train import CachedTeacherTargets, save_checkpoint, train_model

SMALL = dict(data=Data(dataset="synthetic", num_train=320, num_test=64),
             model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
             phy=Phy(channel="AWGN"), sweep=Sweep(schemes=("proposed",)))


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_ib_loss_matches_its_closed_form():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 5)).astype(np.float32)
    teacher = softmax(rng.normal(size=(6, 5))).astype(np.float32)
    labels = rng.integers(0, 5, size=6).astype(np.int32)
    kl = rng.uniform(10, 20, size=6).astype(np.float32)
    loss = InformationBottleneckKDLoss(temperature=2.0, ce_weight=0.3, beta=0.01)
    total, parts = loss({"logits": logits, "kl": kl}, labels, {"teacher_probs": teacher})
    student_t = softmax(logits / 2.0)
    kd = 4.0 * np.mean(np.sum(teacher * (np.log(teacher) - np.log(student_t)), axis=-1))
    ce = np.mean(-np.log(softmax(logits)[np.arange(6), labels]))
    np.testing.assert_allclose(float(parts["kd"]), kd, rtol=1e-5)
    np.testing.assert_allclose(float(parts["ce"]), ce, rtol=1e-5)
    np.testing.assert_allclose(float(total), kd + 0.3 * ce + 0.01 * kl.mean(), rtol=1e-5)


def test_ib_loss_is_zero_kd_when_the_student_equals_the_teacher_and_needs_targets():
    logits = np.log(np.array([[0.7, 0.2, 0.1]], np.float32))
    loss = InformationBottleneckKDLoss(temperature=1.0, ce_weight=0.0, beta=0.0)
    total, parts = loss({"logits": logits, "kl": np.zeros(1, np.float32)}, np.zeros(1, np.int32),
                        {"teacher_probs": softmax(logits)})
    assert abs(float(parts["kd"])) < 1e-6 and abs(float(total)) < 1e-6
    with pytest.raises(ValueError, match="teacher_probs"):
        loss({"logits": logits, "kl": np.zeros(1, np.float32)}, np.zeros(1, np.int32), {})


def test_make_loss_follows_the_distillation_field():
    assert isinstance(make_loss(Training()), CrossEntropyRateLoss)
    ib = make_loss(Training(distillation="cached", kd_temperature=3.0, kd_lambda=0.2, beta=0.0))
    assert isinstance(ib, InformationBottleneckKDLoss) and (ib.temperature, ib.ce_weight) == (3.0, 0.2)


def test_train_fraction_selects_a_stratified_subset():
    scenario = Scenario(name="f", training=Training(train_fraction=0.2), **SMALL)
    dataset = load_dataset(scenario.data)
    rows = training_rows(scenario, dataset)
    assert rows.size == 64
    counts = np.bincount(dataset.y_train[rows], minlength=10)
    expected = 0.2 * np.bincount(dataset.y_train, minlength=10)
    assert np.all(np.abs(counts - expected) <= 1)
    assert np.array_equal(rows, training_rows(scenario, dataset))


def oracle_cache(path, dataset, name="oracle", k=3):
    """A stand-in teacher: a confident, noisy softmax around the true label (what a good teacher gives)."""
    rng = np.random.default_rng(1)
    logits = 4.0 * np.eye(dataset.num_classes)[dataset.y_train] + rng.normal(size=(dataset.y_train.size, 10))
    values, indices = compress_topk(softmax(logits)[:, None, :], k)
    write_cache(path, topk_probs=values, topk_indices=indices, num_classes=10, dataset_name=dataset.name,
                dataset_fingerprint=dataset.fingerprint, teacher=TeacherIdentity(name, "0" * 64))


@pytest.mark.slow
def test_cached_distillation_trains_from_a_sampled_cache_with_a_fresh_draw_each_epoch(tmp_path, monkeypatch):
    # the top-k cache trains every cached scheme of the reduced comparisons; this is the sampled kind
    scenario = Scenario(name="kd", training=Training(jit_compile=False, epochs=2, batch_size=64, distillation="cached"),
                        teacher=Teacher(name="oracle", cache_path=str(tmp_path / "{dataset}-{name}-top{top_k}.h5"),
                                        cache_kind="sampled", sample_draws=2), **SMALL)
    dataset = load_dataset(scenario.data)
    rng = np.random.default_rng(1)
    logits = 4.0 * np.eye(dataset.num_classes)[dataset.y_train] + rng.normal(size=(dataset.y_train.size, 10))
    write_cache(scenario.teacher.resolved_cache_path(dataset.name),
                sampled_indices=draw_classes(softmax(logits)[:, None, :], 3, 2, 0), num_classes=10,
                sampling={"entries": 3, "draws": 2, "seed": 0, "temperature": 1.0}, dataset_name=dataset.name,
                dataset_fingerprint=dataset.fingerprint, teacher=TeacherIdentity("oracle", "0" * 64))
    epochs = []
    targets = CachedTeacherTargets.__call__

    def spy(self, rows, epoch=1):
        epochs.append(epoch)
        return targets(self, rows, epoch)

    monkeypatch.setattr(CachedTeacherTargets, "__call__", spy)
    _, history = train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    assert {"kd", "ce", "kl"} <= set(history[0])
    assert all(np.isfinite(h["loss"]) for h in history)
    assert history[-1]["kd"] < history[0]["kd"]
    assert sorted(set(epochs)) == [1, 2] and epochs == sorted(epochs)  # epoch 2 reads the second draw


def test_a_cache_for_other_data_or_another_teacher_is_refused(tmp_path):
    scenario = Scenario(name="kd", training=Training(jit_compile=False, epochs=1, batch_size=64, distillation="cached"),
                        teacher=Teacher(name="oracle", cache_path=str(tmp_path / "cache.h5")), **SMALL)
    dataset = load_dataset(scenario.data)
    other = load_dataset(Data(dataset="synthetic", num_train=320, num_test=64, seed=5))
    oracle_cache(tmp_path / "cache.h5", other)
    with pytest.raises(CacheError, match="built for dataset fingerprint"):
        train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    oracle_cache(tmp_path / "cache.h5", dataset, name="someone-else")
    with pytest.raises(CacheError, match="built by teacher 'someone-else'"):
        train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)


@pytest.mark.slow
def test_the_cached_training_path_never_imports_torch(tmp_path):
    code = f"""
import sys
import numpy as np
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.data import load_dataset
from semcom_sim.train import train_model
sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})
from test_distillation import SMALL, oracle_cache
scenario = Scenario(name="kd", training=Training(jit_compile=False, epochs=1, batch_size=64, distillation="cached"),
                    teacher=Teacher(name="oracle", cache_path={str(tmp_path / 'c.h5')!r}), **SMALL)
dataset = load_dataset(scenario.data)
oracle_cache({str(tmp_path / 'c.h5')!r}, dataset)
train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
print("loaded:", [m for m in ("torch", "transformers") if m in sys.modules])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "loaded: []" in out.stdout


def test_gradients_flow_from_the_kd_term(tmp_path):
    from semcom_sim.system import build_model

    scenario = Scenario(name="g", **SMALL)
    model = build_model(scenario, 10)
    images = tf.random.uniform([32, 28, 28, 1])
    teacher = tf.constant(softmax(np.random.default_rng(2).normal(size=(32, 10))).astype(np.float32))
    loss = InformationBottleneckKDLoss(temperature=4.0, ce_weight=0.0, beta=0.0)
    with tf.GradientTape() as tape:
        total, _ = loss(model((images, tf.constant(5.0)), training=True), tf.zeros([32], tf.int32),
                        {"teacher_probs": teacher})
    grad = tape.gradient(total, model.encoder.backbone.convs[0].kernel)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


@pytest.mark.slow
def test_feature_kd_pulls_the_projected_latent_towards_the_teacher_features(tmp_path):
    scenario = Scenario(name="fkd", training=Training(jit_compile=False, epochs=3, batch_size=64, distillation="cached",
                                                      feature_kd_weight=1.0),
                        teacher=Teacher(name="oracle", cache_path=str(tmp_path / "c.h5")), **SMALL)
    dataset = load_dataset(scenario.data)
    rng = np.random.default_rng(3)
    features = rng.normal(size=(10, 16))[dataset.y_train] + 0.1 * rng.normal(size=(dataset.y_train.size, 16))
    logits = 4.0 * np.eye(10)[dataset.y_train]
    values, indices = compress_topk(softmax(logits)[:, None, :], 3)
    write_cache(tmp_path / "c.h5", topk_probs=values, topk_indices=indices, num_classes=10,
                dataset_name=dataset.name, dataset_fingerprint=dataset.fingerprint,
                teacher=TeacherIdentity("oracle", "0" * 64), features=features[:, None, :])
    model, history = train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    assert model.feature_head is not None and model.feature_head.units == 16
    assert history[-1]["feature_kd"] < history[0]["feature_kd"]
    checkpoint = Checkpoint.of(tmp_path / "run", "proposed", scenario, dataset)
    save_checkpoint(model, checkpoint, scenario, dataset, history)
    restored = load_model(checkpoint, scenario, dataset)  # rebuilt with the feature head
    assert restored.feature_head is not None and restored.feature_head.units == 16
    oracle_cache(tmp_path / "c.h5", dataset)  # the same cache without features
    with pytest.raises(CacheError, match="store_features"):
        train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    with pytest.raises(Exception, match="feature_kd_weight"):
        Training(feature_kd_weight=1.0)
