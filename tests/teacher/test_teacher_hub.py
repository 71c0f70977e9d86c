"""semcom_sim.teacher.hub: offline loading of tiny Hugging Face models built from configs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from semcom_sim.teacher.hub import (  # noqa: E402
    KINDS,
    HubTeacher,
    TeacherError,
    hub_cache_dir,
    load_hub_model,
    weights_sha256,
)

TINY = dict(image_size=16, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=37)
WORDS = ["the", "a", "dog", "cat", "barked", "sat", "on", "mat", "night", "all", "animal", "small", "of", "."]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    # belt and braces: the code itself passes local_files_only=True everywhere
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)


@pytest.fixture(scope="module")
def vit_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-vit")
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(transformers.ViTConfig(**TINY, num_labels=3))
    model.save_pretrained(d)
    transformers.ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-clip")
    torch.manual_seed(0)
    transformers.CLIPVisionModelWithProjection(
        transformers.CLIPVisionConfig(**TINY, projection_dim=24)).save_pretrained(d)
    transformers.CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}
                                    ).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-bert")
    vocab = d / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tok = transformers.BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=37, max_position_embeddings=64)
    transformers.BertModel(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _images(n, shape=(28, 28, 1), seed=0):
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def test_image_classification_by_directory(vit_dir):
    t = load_hub_model(vit_dir, "image-classification")
    assert isinstance(t, HubTeacher) and t.kind == "image-classification"
    assert t.num_classes == 3 and t.feature_dim == 32
    assert t.identity.name == vit_dir.name and len(t.identity.weights_sha256) == 64
    probs, feats = t.predict(_images(5), batch_size=2)
    assert probs.shape == (5, 3) and feats.shape == (5, 32)
    assert probs.dtype == np.float32 and feats.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # the same images as uint8 RGB give the same outputs; features() agrees with predict()
    rgb = np.repeat(np.rint(_images(5) * 255).astype(np.uint8), 3, axis=-1)
    probs2, feats2 = t.predict(rgb, batch_size=5)
    np.testing.assert_allclose(probs2, probs, atol=1e-5)
    np.testing.assert_allclose(t.features(rgb), feats, atol=1e-5)
    # the features are the input of the classifier
    w, b = t.model.classifier.weight.detach().numpy(), t.model.classifier.bias.detach().numpy()
    logits = feats @ w.T + b
    ref = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(ref / ref.sum(1, keepdims=True), probs, atol=1e-5)
    with pytest.raises(TeacherError, match="classifies 3 classes"):
        load_hub_model(vit_dir, "image-classification", num_classes=10)


def test_clip_vision_with_fresh_head(clip_dir):
    t = load_hub_model(str(clip_dir), "clip-vision", num_classes=4)
    assert t.num_classes == 4 and t.feature_dim == 24 and t.head.out_features == 4
    probs, feats = t.predict(_images(3, (20, 20, 3)), batch_size=8)
    assert probs.shape == (3, 4) and feats.shape == (3, 24)
    np.testing.assert_allclose(probs, 0.25, atol=1e-6)  # zero-initialised head: uniform until fitted
    enc = load_hub_model(clip_dir, "clip-vision")
    assert enc.num_classes is None and enc.head is None
    np.testing.assert_allclose(enc.features(_images(3, (20, 20, 3))), feats, atol=1e-5)
    with pytest.raises(TeacherError, match="no classification head"):
        enc.predict(_images(1))


def test_text_encoder_mean_pooling(bert_dir):
    t = load_hub_model(bert_dir, "text-encoder")
    assert t.num_classes is None and t.feature_dim == 32
    texts = ["the dog barked all night .", "a cat", "the small cat sat on the mat", "zebra"]
    feats = t.features(texts, batch_size=2)
    assert feats.shape == (4, 32) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    # order and batching do not matter (length-sorted batches are put back in order)
    np.testing.assert_allclose(t.features(texts[::-1], batch_size=3)[::-1], feats, atol=1e-5)
    single = np.concatenate([t.features([s]) for s in texts])
    np.testing.assert_allclose(single, feats, atol=1e-5)
    with pytest.raises(TypeError):
        t.features("a single string")


def test_weights_sha256_stable_and_content_based(vit_dir, bert_dir):
    a = load_hub_model(vit_dir, "image-classification").identity.weights_sha256
    b = load_hub_model(vit_dir, "image-classification").identity.weights_sha256
    assert a == b == weights_sha256(vit_dir)
    assert weights_sha256(bert_dir) != a


def test_hub_id_found_in_cache(vit_dir, tmp_path):
    # a hand-made cache entry in the hub layout: models--org--name/{refs/main, snapshots/<rev>/...}
    cache = tmp_path / "cache"
    repo = cache / "models--tiny-org--tiny-vit"
    rev = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(rev)
    snap = repo / "snapshots" / rev
    snap.mkdir(parents=True)
    for f in vit_dir.iterdir():
        (snap / f.name).symlink_to(f)
    t = load_hub_model("tiny-org/tiny-vit", "image-classification", cache_dir=cache)
    assert t.identity.name == "tiny-org/tiny-vit"
    assert t.identity.weights_sha256 == weights_sha256(vit_dir)
    assert t.predict(_images(2))[0].shape == (2, 3)


def test_missing_hub_id_is_one_line_naming_where_to_put_it(tmp_path):
    with pytest.raises(TeacherError) as err:
        load_hub_model("no-such-org/no-such-model", "image-classification")
    msg = str(err.value)
    assert "\n" not in msg
    assert "no-such-org/no-such-model" in msg and "local directory" in msg
    expected = tmp_path / "hf_home" / "hub"
    assert str(expected / "models--no-such-org--no-such-model") in msg
    assert hub_cache_dir() == expected
    with pytest.raises(TeacherError) as err:
        load_hub_model("org/model", "text-encoder", cache_dir=tmp_path / "elsewhere")
    assert str(tmp_path / "elsewhere" / "models--org--model") in str(err.value)


def test_missing_or_bad_directory(tmp_path):
    with pytest.raises(TeacherError, match="does not exist") as err:
        load_hub_model(str(tmp_path / "nope" / "model"), "text-encoder")
    assert "\n" not in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TeacherError, match="no config.json"):
        load_hub_model(tmp_path / "empty", "text-encoder")
    with pytest.raises(ValueError, match="kind"):
        load_hub_model(tmp_path, "audio")
    assert set(KINDS) == {"image-classification", "clip-vision", "text-encoder"}


def test_no_weights_is_teacher_error(vit_dir, tmp_path):
    d = tmp_path / "noweights"
    d.mkdir()
    (d / "config.json").write_text((vit_dir / "config.json").read_text())
    with pytest.raises(TeacherError, match="no weight files"):
        load_hub_model(d, "image-classification")


def test_clip_vision_from_full_clip_checkpoint(tmp_path):
    # openai/clip-* checkpoints are whole CLIPModels: the vision tower and projection are taken from them
    torch.manual_seed(0)
    text = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, vocab_size=50,
                bos_token_id=0, eos_token_id=1)
    full = transformers.CLIPModel(transformers.CLIPConfig(vision_config=TINY, text_config=text, projection_dim=24))
    full.save_pretrained(tmp_path)
    transformers.CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}
                                    ).save_pretrained(tmp_path)
    t = load_hub_model(tmp_path, "clip-vision", num_classes=2)
    assert t.feature_dim == 24
    x = _images(2)
    pixels = t.processor_or_tokenizer(images=[np.repeat(np.rint(i * 255).astype(np.uint8), 3, -1) for i in x],
                                      return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        ref = full.get_image_features(pixel_values=pixels)
    ref = ref if isinstance(ref, torch.Tensor) else ref.pooler_output
    np.testing.assert_allclose(t.features(x), ref.numpy(), atol=1e-5)
