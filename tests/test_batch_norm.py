"""Batch normalisation evaluates with statistics that match the trained weights, however short the training."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Data, Model, Phy, Scenario, Training
from semcom_sim.data import load_dataset
from semcom_sim.data.base import seeded_rng
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.scenario import ScenarioError
from semcom_sim.system import build_model
from semcom_sim.train import recompute_batch_norm_statistics, train_model

REAL_DIR = Path("/usr/share/datasets/fashion-mnist")
QUIET = dict(show_progress=False, log=lambda s: None)


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DIR.is_dir(), reason=f"{REAL_DIR} absent (install the Debian package "
                    "dataset-fashion-mnist)")
def test_a_short_training_evaluates_on_held_out_images_as_on_its_training_images():
    # A short training: 2 epochs on 6,000 images (94 optimizer steps), 16 channel uses, AWGN.
    # With Keras' moving averages it evaluated at 0.15-0.24 (chance 0.10) while training at 0.79.
    scenario = Scenario(name="short", data=Data(dataset="fashion-mnist", num_train=6000, num_test=2000),
                        model=Model(num_channel_uses=16), phy=Phy(channel="AWGN"),
                        training=Training(jit_compile=False, epochs=2))
    dataset = load_dataset(scenario.data)
    model, history = train_model(scenario, "proposed", dataset, **QUIET)
    n = 2000
    on_test = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 1000).accuracy(15.0, n, seed=3)
    on_train = AccuracyEvaluator(model, dataset.x_train[:n], dataset.y_train[:n], 1000).accuracy(15.0, n, seed=3)
    # Tolerance: 2.5 standard deviations of the difference of two 2,000-sample proportions near 0.8
    # (2.5 * sqrt(2 * 0.8 * 0.2 / 2000) = 0.032) plus 3 points of generalisation gap after 2 epochs.
    assert abs(on_test - on_train) < 0.062, (on_test, on_train)
    assert on_test > 0.5, on_test  # chance is 0.10
    # the evaluated model is the trained one: within a few points of the last epoch's training accuracy
    # (measured in training mode, with sampling noise and Eb/N0 drawn from -2..16 dB)
    assert on_test > history[-1]["train_accuracy"] - 0.05, (on_test, history[-1]["train_accuracy"])


def _small_model(seed=0):
    keras.utils.set_random_seed(seed)
    scenario = Scenario(name="bn", model=Model(num_channel_uses=8, encoder_filters=(4, 6), decoder_units=(8,)))
    return build_model(scenario, num_classes=10)


def test_recomputed_statistics_are_the_average_of_the_batch_moments():
    model = _small_model()
    x = np.random.default_rng(0).uniform(size=(100, 28, 28, 1)).astype(np.float32)
    rows = np.arange(10, 100)  # 90 rows -> 4 full batches of 20, 10 rows left out
    assert recompute_batch_norm_statistics(model, x, rows, batch_size=20, seed=5, jit_compile=False) == 2
    order = rows[seeded_rng(5, 211).permutation(rows.size)]  # the order train.py draws
    conv, norm = model.encoder.backbone.convs[0], model.encoder.backbone.norms[0]
    moments = [tf.nn.moments(conv(x[order[i * 20:(i + 1) * 20]]), axes=[0, 1, 2]) for i in range(4)]
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean([m.numpy() for m, _ in moments], 0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm.moving_variance.numpy(), np.mean([v.numpy() for _, v in moments], 0),
                               rtol=1e-5, atol=1e-6)
    assert norm.momentum == pytest.approx(0.99)  # restored
    # the second layer normalises what the first one normalised with the batch's own statistics
    assert not np.allclose(model.encoder.backbone.norms[1].moving_mean.numpy(), 0.0)


def test_evaluation_uses_the_recomputed_statistics_and_a_frozen_encoder_keeps_its_own():
    model = _small_model()
    x = np.random.default_rng(1).uniform(size=(64, 28, 28, 1)).astype(np.float32)
    before_mu = model.encoder(x[:8], training=False)[0].numpy()
    recompute_batch_norm_statistics(model, x, np.arange(64), batch_size=16, seed=0, jit_compile=False)
    after_mu = model.encoder(x[:8], training=False)[0].numpy()
    assert np.abs(after_mu - before_mu).max() > 1e-3  # initial statistics (0, 1) were replaced

    frozen = _small_model()
    frozen.encoder.trainable = False
    mean = frozen.encoder.backbone.norms[0].moving_mean.numpy().copy()
    assert recompute_batch_norm_statistics(frozen, x, np.arange(64), batch_size=16, seed=0, jit_compile=False) == 0
    np.testing.assert_array_equal(frozen.encoder.backbone.norms[0].moving_mean.numpy(), mean)


def test_batch_norm_statistics_field_is_validated():
    with pytest.raises(ScenarioError, match=r"training\.batch_norm_statistics: 'precise' is not one of recompute"):
        Training(batch_norm_statistics="precise")
    a = Scenario(name="a", training=Training(batch_norm_statistics="moving-average"))
    assert a.fingerprint() != Scenario(name="a").fingerprint()  # another experiment, another checkpoint
