"""Training in stages: each stage trains the parts it names, with its loss terms, epochs and Eb/N0 range."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Data, Model, Phy, Scenario, ScenarioError, Stage, Training, apply_overrides
from semcom_sim.checkpoints import Checkpoint
from semcom_sim.data import load_dataset
from semcom_sim.losses import CrossEntropyRateLoss, InformationBottleneckKDLoss, TermsLoss
from semcom_sim.train import save_checkpoint, train_model

QUIET = dict(show_progress=False, log=lambda s: None)
TINY = dict(data=Data(dataset="synthetic", num_train=256, num_test=64),
            model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(16,)),
            phy=Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                    pilot_ofdm_symbol_indices=(2,)))


def _weights(layer) -> list[np.ndarray]:
    return [w.numpy().copy() for w in layer.weights]


@pytest.mark.slow
def test_one_explicit_joint_stage_trains_exactly_like_the_default(tiny_trained):
    default = tiny_trained.scenario  # trained with the default stages
    explicit = dataclasses.replace(default, training=dataclasses.replace(default.training,
                                                                         stages=(Stage(name="joint"),)))
    assert default.training.stages != explicit.training.stages
    model, history = train_model(explicit, tiny_trained.scheme, tiny_trained.dataset, **QUIET)
    assert len(history) == default.training.epochs == 2
    assert [h["loss"] for h in history] == [h["loss"] for h in tiny_trained.history]
    for a, b in zip(_weights(tiny_trained.model), _weights(model), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_stage_updates_only_its_parts_and_the_history_spans_the_stages(tmp_path):
    stages = (Stage(name="all", epochs=1), Stage(name="decoder-only", epochs=2, trainable=("decoder",),
                                                  learning_rate=3e-3, ebno_db_range=(10.0, 10.0)))
    scenario = Scenario(name="s", training=Training(jit_compile=False, epochs=5, batch_size=64, stages=stages), **TINY)
    dataset = load_dataset(scenario.data)
    snapshots = {}

    def on_epoch_end(model, epoch):
        snapshots[epoch] = {name: _weights(layer) for name, layer in model.parts().items()}
        return {}

    model, history = train_model(scenario, "proposed", dataset, on_epoch_end=on_epoch_end, **QUIET)
    assert [(h["epoch"], h["stage"]) for h in history] == [(1, "all"), (2, "decoder-only"), (3, "decoder-only")]
    for name in ("encoder", "adaptive"):  # frozen in stage 2, batch-norm statistics included
        for before, after in zip(snapshots[1][name], snapshots[3][name]):
            np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(snapshots[1]["decoder"], snapshots[3]["decoder"]))
    assert all(layer.trainable for layer in model.parts().values())  # unfrozen when training ends
    checkpoint = Checkpoint.of(tmp_path, "proposed", scenario, dataset)
    save_checkpoint(model, checkpoint, scenario, dataset, history)
    meta = json.loads(checkpoint.meta_path.read_text())
    assert [(s["name"], s["epochs"], s["trainable"]) for s in meta["stages"]] == [
        ("all", 1, ["all"]), ("decoder-only", 2, ["decoder"])]
    assert meta["stages"][1]["learning_rate"] == 3e-3 and meta["stages"][0]["learning_rate"] == 1e-3


def test_loss_terms_add_up_to_the_single_stage_losses():
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(8, 5)), tf.float32)
    teacher = tf.nn.softmax(tf.constant(rng.normal(size=(8, 5)), tf.float32))
    outputs = {"logits": logits, "kl": tf.constant(rng.uniform(1, 5, size=8), tf.float32)}
    labels = tf.constant(rng.integers(0, 5, size=8), tf.int32)
    extras = {"teacher_probs": teacher}
    ce_rate, _ = CrossEntropyRateLoss(beta=0.01)(outputs, labels)
    terms, parts = TermsLoss(("ce", "rate"), beta=0.01)(outputs, labels)
    np.testing.assert_allclose(float(terms), float(ce_rate), rtol=1e-6)
    ib, _ = InformationBottleneckKDLoss(temperature=2.0, ce_weight=0.5, beta=0.01)(outputs, labels, extras)
    terms, parts = TermsLoss(("kd", "ce", "rate"), ce_weight=0.5, beta=0.01, temperature=2.0)(outputs, labels, extras)
    np.testing.assert_allclose(float(terms), float(ib), rtol=1e-6)
    assert set(parts) == {"kd", "ce", "kl"}
    with pytest.raises(ValueError, match="terms"):
        TermsLoss(())


def test_bad_stages_fail_at_load_naming_the_stage_and_field():
    def error(**training) -> str:
        with pytest.raises(ScenarioError) as info:
            Scenario.from_dict({"name": "x", "training": training})
        return str(info.value)

    assert error(stages=[{"name": "a"}, {"name": "b", "epochs": 0}]).startswith(
        "training.stages[1].epochs: must be > 0")
    assert error(stages=[{"trainable": ["codec"]}]).startswith(
        "training.stages[0].trainable: 'codec' is not one of all")
    assert error(stages=[{"epochz": 1}]).startswith("training.stages[0].epochz: unknown field")
    assert error(stages=[{"name": "a"}, {"name": "a"}]).startswith("training.stages[1].name: 'a' names two stages")
    assert error(stages=[{"loss_terms": ["kd"]}]).startswith("training.stages[0].loss_terms: kd needs the teacher")
    assert error(stages=[{"loss_terms": ["rate"]}]).startswith("training.stages[0].loss_terms: needs a task term")
    with pytest.raises(ScenarioError, match=r"training\.stages\[0\]\.trainable: 'adaptive' names a part"):
        Scenario(name="x", model=Model(adaptive=False), training=Training(stages=(Stage(trainable=("adaptive",)),)))
    # stages come from the command line too
    s = apply_overrides(Scenario(name="x"), ["training.stages=[{'name': 'a', 'epochs': 2}, {'name': 'b'}]"])
    assert [(st.name, st.epochs) for st in s.training.resolved_stages()] == [("a", 2), ("b", 5)]
