"""The end-to-end model: gradients through the Sionna chain, outputs, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Model, Phy, Scenario, Training
from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.losses import CrossEntropyRateLoss
from semcom_sim.schemes import resolve_scheme
from semcom_sim.system import build_model, seed_everything
from semcom_sim.train import train_model

SMALL = dict(model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
             training=Training(jit_compile=False, epochs=1, batch_size=64))


MIMO_2X4 = dict(direction="uplink", num_ut_ant=2, num_bs_ant=4, num_streams=2)  # two streams, four receive antennas
SVD_4X2 = dict(num_ut_ant=2, num_bs_ant=4, num_streams=1, precoding="svd")  # one precoded stream on the downlink


@pytest.mark.parametrize("channel,csi,antennas", [("TDL-A", "ls", {}), ("CDL-C", "perfect", {}), ("Rayleigh", "ls", {}),
                                                  ("CDL-C", "ls", MIMO_2X4), ("TDL-C", "ls", SVD_4X2)])
def test_gradients_reach_the_first_encoder_weights_through_the_sionna_chain(channel, csi, antennas):
    seed_everything(0)
    scenario = Scenario(name="g", phy=Phy(channel=channel, csi=csi, **antennas), **SMALL)
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


def test_a_digital_model_over_two_streams_decodes_its_bits_through_the_mimo_detector():
    from semcom_sim.phy import MIMODigitalLink

    seed_everything(2)
    phy = Phy(channel="AWGN", direction="uplink", num_ut_ant=2, num_bs_ant=2, num_streams=2, detector="ep",
              num_bits_per_symbol=4, coderate=0.5)
    scenario = Scenario(name="d", phy=phy, model=Model(transmission="digital", adaptive=False, num_channel_uses=32,
                                                       encoder_filters=(8, 16), decoder_units=(32,)),
                        training=SMALL["training"])
    model = build_model(scenario, num_classes=10)
    assert isinstance(model.link, MIMODigitalLink)
    images = tf.random.uniform([64, 28, 28, 1])
    # evaluation: LDPC + 16-QAM over the two streams; the decoder sees the decoded bits only (no SNR), so every
    # Eb/N0 above the cliff gives the same logits, and one far below it others (bits lost)
    high, higher, low = (model((images, tf.constant(e)))["logits"].numpy() for e in (20.0, 30.0, -5.0))
    np.testing.assert_array_equal(high, higher)
    assert np.abs(low - high).max() > 1e-3


def test_a_pusch_model_decodes_its_bits_through_sionnas_pusch_chain():
    from semcom_sim.phy import PUSCHLink
    from semcom_sim.schemes import resolve_scheme

    seed_everything(3)
    scenario = resolve_scheme(Scenario(name="p", phy=Phy(channel="AWGN", direction="uplink", csi="ls"), **SMALL),
                              "pusch")
    model = build_model(scenario, num_classes=10)
    assert isinstance(model.link, PUSCHLink)
    # 32 channel uses of MCS 13 (16-QAM, rate 490/1024): 61 information bits, 15 features of 4 bits
    assert model.latent_dim == int(32 * 4 * 490 / 1024) // 4
    images = tf.random.uniform([64, 28, 28, 1])
    high, higher, low = (model((images, tf.constant(e)))["logits"].numpy() for e in (20.0, 30.0, -5.0))
    np.testing.assert_array_equal(high, higher)  # above the cliff: the same decoded bits, the same logits
    assert np.abs(low - high).max() > 1e-3


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
def test_training_again_from_the_same_seed_repeats_every_epochs_loss(tiny_trained):
    # tiny_trained trained the same scenario earlier in this pytest run; other tests may have run since
    _, history = train_model(tiny_trained.scenario, tiny_trained.scheme, tiny_trained.dataset, show_progress=False,
                             log=lambda s: None)
    assert len(history) == len(tiny_trained.history) == tiny_trained.scenario.training.epochs
    assert [h["loss"] for h in history] == pytest.approx([h["loss"] for h in tiny_trained.history], rel=1e-5)


@pytest.mark.slow
def test_a_saved_checkpoint_restores_the_trained_outputs_and_each_scheme_has_its_own(tiny_trained, tmp_path):
    scenario, dataset, checkpoint = tiny_trained.scenario, tiny_trained.dataset, tiny_trained.checkpoint
    assert checkpoint.exists()  # written by save_checkpoint
    assert [p.name for p in checkpoint.directory.iterdir() if ".tmp" in p.name] == []
    restored = load_model(checkpoint, scenario, dataset)
    x = tf.constant(dataset.x_test[:32])
    seed_everything(7)
    ref = tiny_trained.model((x, tf.constant(12.0)))["logits"].numpy()
    seed_everything(7)
    new = restored((x, tf.constant(12.0)))["logits"].numpy()
    np.testing.assert_allclose(new, ref, rtol=1e-4, atol=1e-5)
    other = Checkpoint.of(tmp_path, "no-adaptive", resolve_scheme(scenario, "no-adaptive"), dataset)
    assert other.fingerprint != checkpoint.fingerprint
