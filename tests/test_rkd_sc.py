"""RKD-SC's two-stage robust distillation with a channel codec (CAT or dense) inside the link: what each
stage trains and freezes, the channel bypass of stage 1, feature KD on the decoded semantic vector,
the nested lengths and the length policy, and the scheme table."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Data, Model, Phy, Scenario, ScenarioError, Scheme, Sweep, Teacher, Training
from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.data import load_dataset
from semcom_sim.schemes import resolve_scheme
from semcom_sim.teacher import TeacherIdentity, compress_topk, write_cache
from semcom_sim.train import save_checkpoint, train_model

pytestmark = pytest.mark.slow  # every test here trains a model

PHY = Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7, pilot_ofdm_symbol_indices=(2,),
          snr_feedback_bits=4)

RKD_SC = ("rkd-sc", "rkd-sc-handcrafted", "rkd-sc-one-stage", "rkd-sc-dense-codec")
NESTED = {"model.lengths": (4, 8, 16), "model.policy_ebno_step_db": 3.0, "training.validation_samples": 128}

def _scenario(tmp_path, **training) -> Scenario:
    return Scenario(name="rkd", data=Data(dataset="synthetic", num_train=640, num_test=128),
                    model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(32,), semantic_dim=24,
                                cat_tokens=4, cat_width=16, cat_layers=1, cat_heads=2, dense_codec_units=(32,)),
                    phy=PHY, teacher=Teacher(name="oracle", cache_path=str(tmp_path / "c{features}.h5")),
                    training=Training(**{"epochs": 2, "batch_size": 64, "jit_compile": False,
                                         "ebno_db_range": (0.0, 12.0), "learning_rate": 3e-3, **training}),
                    sweep=Sweep(ebno_db=(6.0,)), schemes=tuple(Scheme(name, NESTED) for name in RKD_SC))


def _teacher_cache(path, dataset):
    """A stand-in teacher: class-clustered 12-d features and a confident distribution around the label."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(10, 12))[dataset.y_train] + 0.1 * rng.normal(size=(dataset.y_train.size, 12))
    logits = 4.0 * np.eye(10)[dataset.y_train]
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    values, indices = compress_topk(probs[:, None, :], 3)
    write_cache(path, topk_probs=values, topk_indices=indices, num_classes=10, dataset_name=dataset.name,
                dataset_fingerprint=dataset.fingerprint, teacher=TeacherIdentity("oracle", "0" * 64),
                features=features[:, None, :])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("rkd")
    scenario = _scenario(tmp_path)
    dataset = load_dataset(scenario.data)
    _teacher_cache(tmp_path / "c-features.h5", dataset)  # the RKD-SC schemes store features
    snapshots = {}

    def snapshot(model, epoch):  # the weights of each part after every epoch
        snapshots[epoch] = {name: [w.numpy().copy() for w in part.weights] for name, part in model.parts().items()}
        return {}

    model, history = train_model(resolve_scheme(scenario, "rkd-sc-handcrafted"), "rkd-sc-handcrafted", dataset,
                                 show_progress=False, log=lambda _: None,
                                 on_epoch_end=snapshot)
    return tmp_path, scenario, dataset, model, history, snapshots


def _changed(before, after, part):
    return any(np.abs(a - b).max() > 0 for a, b in zip(before[part], after[part]))


def test_each_stage_trains_only_its_parts(trained):
    _, _, _, model, history, snapshots = trained
    assert [h["stage"] for h in history] == ["distil"] * 2 + ["classifier"] * 2 + ["robust"] * 2
    assert set(model.parts()) == {"encoder", "channel_encoder", "channel_decoder", "decoder", "feature_head"}
    stage_parts = {"distil": {"encoder", "feature_head"}, "classifier": {"decoder"},
                   "robust": {"channel_encoder", "channel_decoder", "decoder"}}
    for epoch in (3, 5):  # the first epoch of the classifier and of the robust stage
        stage = history[epoch - 1]["stage"]
        for part in model.parts():
            moved = _changed(snapshots[epoch - 1], snapshots[epoch], part)
            if part == "encoder":  # batch-norm statistics are recomputed at the end of a stage: compare kernels
                moved = any(np.abs(a - b).max() > 0 for a, b, w in zip(snapshots[epoch - 1][part],
                                                                       snapshots[epoch][part], model.encoder.weights)
                            if w.trainable)
            assert moved == (part in stage_parts[stage]), (stage, part)


def test_stage_one_distils_features_without_a_channel_and_stage_two_learns_through_it(trained):
    _, _, _, _, history, _ = trained
    assert history[1]["feature_kd"] < history[0]["feature_kd"]  # the student moves towards the teacher
    assert set(history[0]) >= {"feature_kd"} and "ce" not in history[0]
    assert set(history[2]) >= {"ce"} and "feature_kd" not in history[2]
    assert set(history[4]) >= {"ce", "feature_kd"}  # a * MSE(decoded, teacher) + b * CE
    assert history[5]["loss"] < history[4]["loss"]


def test_the_bypass_feeds_the_encoder_output_to_the_decoder(trained):
    _, _, dataset, model, _, _ = trained
    x = tf.constant(dataset.x_test[:64])
    out = model((x, tf.constant(0.0)), training=False, bypass_channel=True)
    mu, _ = model.encoder(x, training=False)
    side = tf.concat([tf.zeros((64, 2)), tf.ones((64, 1))], axis=-1)  # no SNR; L / n = 1
    np.testing.assert_allclose(out["logits"].numpy(), model.decoder(mu, side).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["projected_features"].numpy(), model.feature_head(mu).numpy(), rtol=1e-4,
                               atol=1e-5)


def test_the_codec_sends_the_policy_length_and_round_trips_through_a_checkpoint(trained):
    tmp_path, scenario, dataset, model, history, _ = trained
    fit = model.length_policy_fit
    assert fit and set(fit["policy"]) <= {4, 8, 16}
    x = tf.constant(dataset.x_test[:64])
    tf.random.set_seed(1)
    low = model((x, tf.constant(0.0)), training=False)
    assert low["channel_uses"].shape == (64,) and set(np.unique(low["channel_uses"].numpy())) <= {4.0, 8.0, 16.0}
    checkpoint = Checkpoint.of(tmp_path / "run", "rkd-sc-handcrafted", resolve_scheme(scenario, "rkd-sc-handcrafted"),
                               dataset)
    save_checkpoint(model, checkpoint, resolve_scheme(scenario, "rkd-sc-handcrafted"), dataset, history)
    restored = load_model(checkpoint, resolve_scheme(scenario, "rkd-sc-handcrafted"), dataset)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    same = [model((x, tf.constant(6.0)), training=False, length=8.0, fed_snr_db=6.0) for model in (model, restored)]
    assert same[0]["logits"].shape == same[1]["logits"].shape == (64, 10)


@pytest.mark.parametrize("scheme", ["rkd-sc-one-stage", "rkd-sc-dense-codec"])
def test_the_ablations_train(tmp_path, scheme):
    scenario = _scenario(tmp_path, epochs=1)
    dataset = load_dataset(scenario.data)
    _teacher_cache(tmp_path / "c-features.h5", dataset)  # the RKD-SC schemes store features
    model, history = train_model(resolve_scheme(scenario, scheme), scheme, dataset, show_progress=False,
                                 log=lambda _: None)
    stages = {"rkd-sc-one-stage": ["joint"], "rkd-sc-dense-codec": ["distil", "classifier", "robust"]}[scheme]
    assert [h["stage"] for h in history] == stages
    kind = {"rkd-sc-one-stage": "CATEncoder", "rkd-sc-dense-codec": "DenseChannelEncoder"}[scheme]
    assert type(model.channel_encoder).__name__ == kind
    assert np.isfinite(history[-1]["loss"])


def test_codec_fields_fail_in_one_line():
    with pytest.raises(ScenarioError, match="model.channel_codec: the channel codec sees the SNR itself"):
        Model(channel_codec="cat")
    with pytest.raises(ScenarioError, match="model.cat_tokens: must divide model.num_channel_uses=64"):
        Model(channel_codec="cat", adaptive=False, cat_tokens=5)
    with pytest.raises(ScenarioError, match="model.channel_codec: 'transformer' is not one of"):
        Model(channel_codec="transformer")
    with pytest.raises(ScenarioError, match="'channel_encoder' and 'channel_decoder' exist only with a channel codec"):
        Scenario(name="x", training=Training(stages=({"name": "a", "trainable": ("channel_encoder",)},)))
