"""Images of any shape H x W x C through the data, the encoder, the link and the teacher's preprocessing."""

import numpy as np
import pytest

from semcom_sim import Data, Model, Phy, Scenario, ScenarioError, Sweep, Training
from semcom_sim.data import load_dataset
from semcom_sim.experiment import run
from semcom_sim.results import read_results

RGB = Data(dataset="synthetic", num_train=256, num_test=128, image_shape=(32, 32, 3))


def test_the_synthetic_set_comes_in_any_shape_and_the_default_is_unchanged():
    rgb = load_dataset(RGB)
    assert rgb.x_train.shape == (256, 32, 32, 3) and rgb.x_test.shape == (128, 32, 32, 3)
    assert rgb.x_train.dtype == np.float32 and 0.0 <= rgb.x_train.min() and rgb.x_train.max() <= 1.0
    # each channel is its own field, not a copy of one grey image
    assert np.abs(rgb.x_train[..., 0] - rgb.x_train[..., 1]).mean() > 0.05
    grey = load_dataset(Data(dataset="synthetic", num_train=256, num_test=128))
    explicit = load_dataset(Data(dataset="synthetic", num_train=256, num_test=128, image_shape=(28, 28, 1)))
    assert grey.x_train.shape == (256, 28, 28, 1) and explicit.fingerprint == grey.fingerprint != rgb.fingerprint
    with pytest.raises(ScenarioError, match=r"^data\.image_shape: sets the size of the synthetic images"):
        Data(dataset="fashion-mnist", image_shape=(32, 32, 3))
    with pytest.raises(ScenarioError, match=r"^data\.image_shape: needs height and width >= 6"):
        Data(dataset="synthetic", image_shape=(4, 32, 3))


@pytest.mark.slow
def test_rgb_images_train_and_sweep_through_the_link(tmp_path):
    scenario = Scenario(name="rgb", data=RGB,
                        model=Model(num_channel_uses=16, encoder_filters=(8, 16), decoder_units=(16,)),
                        phy=Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                                pilot_ofdm_symbol_indices=(2,)),
                        training=Training(jit_compile=False, epochs=1, batch_size=64),
                        sweep=Sweep(ebno_db=(10.0,), min_samples=128, max_samples=128, batch_size=128))
    experiment = run(scenario, tmp_path, show_progress=False, log=lambda s: None)
    model = experiment.models["proposed"]
    assert model.encoder.head.mu.kernel.shape == (8 * 8 * 16, 32)  # 32 x 32 halved twice, 16 filters
    rows = read_results(tmp_path / "results.csv")
    assert len(rows) == 1 and rows[0]["samples"] == 128


def test_the_image_teacher_reads_rgb_and_grey_images_alike():
    torch = pytest.importorskip("torch")
    from semcom_sim.teacher.efficientnet import preprocess

    grey = np.random.default_rng(0).uniform(size=(2, 32, 32, 1)).astype(np.float32)
    as_grey = preprocess(grey, 64)
    as_rgb = preprocess(np.repeat(grey, 3, axis=-1), 64)
    assert as_rgb.shape == (2, 3, 64, 64)
    torch.testing.assert_close(as_rgb, as_grey)
    white = preprocess(np.ones((1, 8, 8, 3), np.float32), 8)
    torch.testing.assert_close(white, torch.ones_like(white))  # (255 - 127) / 128 = 1
    with pytest.raises(ValueError, match="RGB"):
        preprocess(np.zeros((1, 8, 8, 2), np.float32), 8)
