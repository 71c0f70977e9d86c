"""The end-to-end model: gradients through the Sionna chain, outputs, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training
from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.data import load_dataset
from semcom_sim.losses import CrossEntropyRateLoss
from semcom_sim.schemes import resolve_scheme
from semcom_sim.system import build_model, seed_everything
from semcom_sim.train import save_checkpoint, train_model

SMALL = dict(model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
             training=Training(epochs=1, batch_size=64))


@pytest.mark.parametrize("channel,csi", [("TDL-A", "ls"), ("CDL-C", "perfect"), ("Rayleigh", "ls")])
def test_gradients_reach_the_first_encoder_weights_through_the_sionna_chain(channel, csi):
    seed_everything(0)
    scenario = Scenario(name="g", phy=Phy(channel=channel, csi=csi), **SMALL)
    model = build_model(scenario, num_classes=10)
    images = tf.random.uniform([64, 28, 28, 1])
    labels = tf.random.uniform([64], 0, 10, dtype=tf.int32)
    loss_fn = CrossEntropyRateLoss(beta=1e-3)
    with tf.GradientTape() as tape:
        loss, _ = loss_fn(model((images, tf.constant(5.0)), training=True), labels)
    first = model.encoder.backbone.convs[0].kernel
    grads = tape.gradient(loss, [first, *model.adaptive.trainable_variables])
    assert all(g is not None for g in grads)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert np.abs(grads[0].numpy()).sum() > 0
    assert np.abs(grads[1].numpy()).sum() > 0  # the adaptive module learns through the channel too


def test_model_outputs_and_the_snr_the_transmitter_knows():
    seed_everything(1)
    scenario = Scenario(name="o", phy=Phy(channel="AWGN", snr_feedback_bits=2), **SMALL)
    model = build_model(scenario, num_classes=10)
    out = model((tf.zeros([50, 28, 28, 1]), tf.constant(10.0)))
    assert out["logits"].shape == (50, 10)
    for key in ("kl", "snr_tx_db", "snr_hat_db", "snr_eff_db", "snr_true_db", "no"):
        assert out[key].shape == (50,), key
    assert len(np.unique(out["snr_tx_db"].numpy())) <= 4  # 2-bit feedback
    assert model.num_frames(50) == -(-50 // (model.link.ofdm.num_data_symbols // 32))


def test_no_adaptive_scheme_has_no_adaptive_module():
    scenario = Scenario(name="s", **SMALL)
    assert resolve_scheme(scenario, "no-adaptive").model.adaptive is False
    assert build_model(resolve_scheme(scenario, "no-adaptive"), 10).adaptive is None
    with pytest.raises(ValueError, match="unknown scheme"):
        resolve_scheme(scenario, "magic")


@pytest.mark.slow
def test_training_is_repeatable_and_checkpoints_round_trip(tmp_path):
    scenario = Scenario(name="t", data=Data(dataset="synthetic", num_train=256, num_test=64),
                        phy=Phy(channel="TDL-A", csi="ls"), sweep=Sweep(schemes=("proposed",)), **SMALL)
    dataset = load_dataset(scenario.data)
    model_a, history_a = train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    model_b, history_b = train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    assert history_a[0]["loss"] == pytest.approx(history_b[0]["loss"], rel=1e-5)
    checkpoint = Checkpoint.of(tmp_path, "proposed", scenario, dataset)
    save_checkpoint(model_a, checkpoint, scenario, dataset, history_a)
    assert checkpoint.exists()
    assert [p.name for p in checkpoint.directory.iterdir() if ".tmp" in p.name] == []
    restored = load_model(checkpoint, scenario, dataset)
    x = tf.constant(dataset.x_test[:32])
    seed_everything(7)
    ref = model_a((x, tf.constant(12.0)))["logits"].numpy()
    seed_everything(7)
    new = restored((x, tf.constant(12.0)))["logits"].numpy()
    np.testing.assert_allclose(new, ref, rtol=1e-4, atol=1e-5)
    other = Checkpoint.of(tmp_path, "no-adaptive", resolve_scheme(scenario, "no-adaptive"), dataset)
    assert other.fingerprint != checkpoint.fingerprint
