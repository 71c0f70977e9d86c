"""Hugging Face teachers, loaded strictly offline by hub id or local directory.

    from semcom_sim.teacher.hub import load_hub_model

    t = load_hub_model("/models/vit-fashion", "image-classification")
    probs, feats = t.predict(x_test, batch_size=64)     # [N, C], [N, D]
    t = load_hub_model("sentence-transformers/all-MiniLM-L6-v2", "text-encoder")
    emb = t.features(["a dog", "a cat"])                # [2, 384], unit-norm rows

Every ``from_pretrained`` call passes ``local_files_only=True``: nothing is ever downloaded. A hub id
is looked up in the Hugging Face cache (``cache_dir``, else ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``,
else ``~/.cache/huggingface/hub``); a model that is not there raises a one-line :class:`TeacherError`
that says where to put it. Any argument that names an existing directory is loaded from that
directory (a ``save_pretrained`` output, or a snapshot copied from the cache).

Kinds (:data:`KINDS`):

* ``"image-classification"``: ``AutoModelForImageClassification`` + ``AutoImageProcessor``; the
  features are the input of the classification layer (the last ``Linear`` with ``num_labels`` outputs).
  With ``new_head=True`` a checkpoint with another number of labels gets a freshly initialised
  ``num_classes`` classifier (transformers' ``ignore_mismatched_sizes``).
* ``"clip-vision"``: ``CLIPVisionModelWithProjection`` (``CLIPVisionModel`` when the checkpoint has no
  projection) + ``CLIPImageProcessor``; the features are the image embeddings (projected if possible,
  else the pooled output), not normalised; ``num_classes`` adds a fresh, zero-initialised
  ``torch.nn.Linear(feature_dim, num_classes)`` head (uniform predictions until a later fine-tune fits it).
* ``"text-encoder"``: ``AutoModel`` + ``AutoTokenizer``; the features are the mean of the last hidden
  states over the attention mask (sentence-transformers pooling), L2-normalised; ``num_classes`` adds a
  zero-initialised linear head on them, as for ``clip-vision``.

An image model's processor is read from its ``preprocessor_config.json`` (size, crop, resampling,
rescale factor, mean and standard deviation). A directory without one gets a plain processor built
from the model's ``config.json``: resize to ``image_size`` x ``image_size`` (224 if the config has
none), then ImageNet's mean and standard deviation (``image-classification``) or CLIP's own
(``clip-vision``: shortest edge to ``image_size``, centre crop); the teacher's description says so.

Image inputs are ``[N, H, W]`` or ``[N, H, W, C]`` arrays with ``C`` in {1, 3} (uint8 in 0..255 or
float in [0, 1], which is rounded to uint8 first: lossless for data that came from 8-bit images),
or a sequence of such ``[H, W(, C)]`` arrays / PIL images; grey images are repeated to RGB. The
processor then resizes and normalises them as the checkpoint expects.

This module imports torch and transformers (lazily, on :func:`load_hub_model`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semcom_sim.teacher.cache import TeacherIdentity, softmax
from semcom_sim.teacher.runner_base import TeacherError

__all__ = ["KINDS", "IMAGE_KINDS", "TeacherError", "HubTeacher", "load_hub_model", "resolve_model_dir",
           "weights_sha256", "hub_cache_dir", "linear_head"]

KINDS = ("image-classification", "clip-vision", "text-encoder")
IMAGE_KINDS = ("image-classification", "clip-vision")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
PROCESSOR_CONFIG = "preprocessor_config.json"




# -- locating a model ------------------------------------------------------------------------------------

def hub_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where hub ids are looked up: ``cache_dir``, else ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
    ``$XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub`` (huggingface_hub's order)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(xdg).expanduser() / "huggingface" / "hub"


def _looks_like_path(s: str) -> bool:
    return (os.path.isabs(s) or s.startswith((".", "~")) or s.count("/") > 1 or os.sep != "/" and os.sep in s)


def resolve_model_dir(id_or_dir: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None) -> Path:
    """The local directory holding ``id_or_dir``'s files, without touching the network.

    :raises TeacherError: (one line) a missing directory, or a hub id absent from the cache, naming
        the directory to pass instead or the cache location to put it in.
    """
    text = os.fspath(id_or_dir)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise TeacherError(f"teacher model directory {path} has no config.json: it must hold a "
                               "save_pretrained() output (config.json, weights, processor/tokenizer files)")
        return path.resolve()
    if _looks_like_path(text) or isinstance(id_or_dir, os.PathLike):
        raise TeacherError(f"teacher model directory {path} does not exist: put the model's files "
                           "(config.json, weights, processor/tokenizer files) there, or pass a hub id "
                           "that is in the Hugging Face cache")
    cache = hub_cache_dir(cache_dir)
    where = (f"teacher model {text!r} is not available offline (nothing is downloaded): copy its files "
             f"(config.json, weights, processor/tokenizer files) into a local directory and pass that "
             f"directory instead of the id, or put it in the Hugging Face cache at "
             f"{cache / ('models--' + text.replace('/', '--'))} (cache: cache_dir, else $HF_HUB_CACHE, "
             f"else $HF_HOME/hub, else ~/.cache/huggingface/hub), e.g. with "
             f"`hf download {text} --cache-dir {cache}` on a machine with network access")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError
    except ImportError as exc:  # pragma: no cover - transformers depends on huggingface_hub
        raise TeacherError(f"huggingface_hub is not installed ({exc}); pip install transformers") from None
    try:
        snapshot = Path(snapshot_download(text, cache_dir=str(cache), local_files_only=True))
    except HFValidationError:
        raise TeacherError(f"teacher model {text!r} is neither an existing directory nor a valid hub id "
                           "(owner/name)") from None
    except (OSError, ValueError):
        raise TeacherError(where) from None
    if not (snapshot / "config.json").is_file():
        raise TeacherError(where)
    return snapshot


def weights_sha256(model_dir: str | os.PathLike) -> str:
    """sha256 over the weight files of ``model_dir`` (``*.safetensors`` if any, else ``*.bin``; top level,
    sorted by name; each file's name and size go into the hash before its bytes)."""
    model_dir = Path(model_dir)
    for suffix in _WEIGHT_SUFFIXES:
        files = sorted(p for p in model_dir.iterdir() if p.name.endswith(suffix) and p.is_file())
        if files:
            break
    else:
        raise TeacherError(f"teacher model directory {model_dir} has no weight files (*.safetensors or "
                           "*.bin); copy the complete model there")
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.name}|{p.stat().st_size}|".encode())
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


# -- the teacher --------------------------------------------------------------------------------------

def _as_images(inputs: Any) -> list[np.ndarray | Any]:
    """Inputs -> a list of uint8 ``[H, W, 3]`` arrays (PIL images are passed through)."""
    if isinstance(inputs, np.ndarray):
        if inputs.ndim == 2 or inputs.ndim == 3 and inputs.shape[-1] in (1, 3):
            raise ValueError(f"images must be a batch [N, H, W(, C)], got one image of shape {inputs.shape}; "
                             "wrap it as x[None]")
        items = list(inputs)
    elif isinstance(inputs, Sequence) and not isinstance(inputs, (str, bytes)):
        items = list(inputs)
    else:
        raise TypeError(f"images must be an array [N, H, W(, C)] or a sequence of images, got {type(inputs).__name__}")
    out = []
    for x in items:
        if not isinstance(x, np.ndarray) and hasattr(x, "convert"):  # PIL image
            out.append(x.convert("RGB"))
            continue
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[..., None]
        if x.ndim != 3 or x.shape[-1] not in (1, 3):
            raise ValueError(f"each image must be [H, W], [H, W, 1] or [H, W, 3], got {x.shape}")
        if x.dtype != np.uint8:
            if np.issubdtype(x.dtype, np.floating):
                x = np.rint(np.clip(x, 0.0, 1.0) * 255.0)
            x = np.clip(x, 0, 255).astype(np.uint8)
        if x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        out.append(x)
    return out


def _as_texts(inputs: Any) -> list[str]:
    if isinstance(inputs, str):
        raise TypeError("texts must be a sequence of str, got a single str; wrap it in a list")
    texts = list(inputs)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"texts must be str, got {type(t).__name__}")
    return texts


@dataclass(eq=False)
class HubTeacher:
    """A loaded Hugging Face teacher (torch module in eval mode, on the CPU unless moved).

    :param model: the transformers model.
    :param processor_or_tokenizer: its image processor or tokenizer.
    :param kind: one of :data:`KINDS`.
    :param identity: name (hub id or directory name), sha256 of the weight files, description.
    :param num_classes: classifier outputs; ``None`` for a pure encoder.
    :param feature_dim: width ``D`` of :meth:`features`.
    :param model_dir: the resolved local directory the files came from.
    :param head: the extra linear head of a ``clip-vision`` or ``text-encoder`` teacher (``None`` otherwise).
    :param report: a prepared teacher's fine-tuning report (see :mod:`semcom_sim.teacher.hub_teacher`).
    """

    model: Any
    processor_or_tokenizer: Any
    kind: str
    identity: TeacherIdentity
    num_classes: int | None
    feature_dim: int
    model_dir: Path | None = None
    head: Any = None
    _classifier: Any = field(default=None, repr=False)
    report: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def modules(self) -> Any:
        """The model and its extra head (if any) as one ``torch.nn.ModuleDict`` (for counting and saving)."""
        import torch

        return torch.nn.ModuleDict({"model": self.model, **({"head": self.head} if self.head is not None else {})})

    @property
    def classifier(self) -> Any:
        """The ``torch.nn.Linear`` that makes the logits: the extra head, or an image classifier's own
        classification layer; ``None`` for an encoder without a head."""
        return self.head if self.head is not None else self._classifier

    def forward_images(self, images: Any) -> tuple[Any, Any]:
        """One batch of images (as :meth:`predict` takes them) -> (features, logits or ``None``) torch
        tensors, with autograd as the caller sets it (for fine-tuning)."""
        return self._forward_images(_as_images(images))

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(height, width) of the pixels an image teacher's network sees for a square input (after
        resizing and cropping); ``None`` for a text encoder."""
        if self.kind == "text-encoder":
            return None
        pixels = self.processor_or_tokenizer(images=[np.zeros((32, 32, 3), np.uint8)], return_tensors="np")
        return tuple(int(v) for v in np.asarray(pixels["pixel_values"]).shape[-2:])

    def preprocessing(self) -> dict[str, Any]:
        """What an image teacher's processor does (JSON-able): size, resampling, rescale factor, mean,
        std; for a text encoder, the tokenizer's class and maximum length."""
        p = self.processor_or_tokenizer
        if self.kind == "text-encoder":
            return {"tokenizer": type(p).__name__, "model_max_length": int(min(p.model_max_length, 10**9))}

        def plain(value):
            if value is None or isinstance(value, (bool, int, float, str)):
                return value
            if dataclasses.is_dataclass(value):  # transformers' SizeDict
                value = dataclasses.asdict(value)
            if isinstance(value, dict) or hasattr(value, "items"):
                return {k: plain(v) for k, v in dict(value).items() if v is not None}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return str(value)

        keys = ("do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale", "rescale_factor",
                "do_normalize", "image_mean", "image_std")
        out = {"processor": type(p).__name__, "input_size": list(self.input_size),
               **{k: plain(getattr(p, k)) for k in keys if hasattr(p, k)}}
        if isinstance(out.get("resample"), int):  # a PIL resampling filter
            from PIL import Image

            out["resample"] = Image.Resampling(out["resample"]).name.lower()
        return out

    @property
    def num_parameters(self) -> int:
        """Parameters of the model and of the extra head."""
        n = sum(p.numel() for p in self.model.parameters())
        if self.head is not None:
            n += sum(p.numel() for p in self.head.parameters())
        return int(n)

    # one batch -> (features, logits or None), torch tensors
    def _forward_images(self, batch: list) -> tuple[Any, Any]:
        import torch

        pixels = self.processor_or_tokenizer(images=batch, return_tensors="pt")["pixel_values"]
        pixels = pixels.to(self.device)
        if self.kind == "clip-vision":
            out = self.model(pixel_values=pixels)
            feats = out.image_embeds if hasattr(out, "image_embeds") else out.pooler_output
            logits = self.head(feats) if self.head is not None else None
            return feats, logits
        captured: list[torch.Tensor] = []
        hook = self._classifier.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
        try:
            logits = self.model(pixel_values=pixels).logits
        finally:
            hook.remove()
        feats = captured[-1]
        if feats.ndim > 2:  # a head applied per token / position: average them
            feats = feats.flatten(1, -2).mean(dim=1)
        return feats, logits

    def _forward_texts(self, encoded: dict) -> Any:
        import torch

        encoded = {k: v.to(self.device) for k, v in encoded.items()}
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def _run(self, inputs: Any, batch_size: int, max_length: int, want_logits: bool) -> tuple[np.ndarray, Any]:
        import torch

        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        batch_size = int(batch_size)
        feats_out: list[np.ndarray] = []
        logits_out: list[np.ndarray] = []
        with torch.inference_mode():
            if self.kind == "text-encoder":
                texts = _as_texts(inputs)
                tok = self.processor_or_tokenizer
                # length-sorted batches: far less padding; the original order is restored below
                lengths = [len(ids) for ids in tok(texts, truncation=True, max_length=max_length)["input_ids"]]
                order = np.argsort(lengths, kind="stable")
                for i in range(0, len(texts), batch_size):
                    chunk = [texts[j] for j in order[i:i + batch_size]]
                    enc = tok(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
                    feats_out.append(self._forward_texts(dict(enc)).float().cpu().numpy())
                feats = np.concatenate(feats_out) if feats_out else np.zeros((0, self.feature_dim), np.float32)
                result = np.empty_like(feats)
                result[order] = feats
                if not want_logits:
                    return result.astype(np.float32), None
                head = self.head
                logits = head(torch.from_numpy(result).to(head.weight.device, head.weight.dtype))
                return result.astype(np.float32), logits.float().cpu().numpy()
            images = _as_images(inputs)
            for i in range(0, len(images), batch_size):
                feats, logits = self._forward_images(images[i:i + batch_size])
                feats_out.append(feats.float().cpu().numpy())
                if want_logits:
                    logits_out.append(logits.float().cpu().numpy())
        feats = np.concatenate(feats_out) if feats_out else np.zeros((0, self.feature_dim), np.float32)
        if not want_logits:
            return feats.astype(np.float32), None
        logits = np.concatenate(logits_out) if logits_out else np.zeros((0, self.num_classes), np.float32)
        return feats.astype(np.float32), logits.astype(np.float32)

    def features(self, inputs: Any, batch_size: int = 64, *, max_length: int = 128) -> np.ndarray:
        """Features of ``inputs`` (images, or texts for a text encoder): float32 ``[N, feature_dim]``.

        :param max_length: texts are truncated to this many tokens (text encoders only).
        """
        return self._run(inputs, batch_size, max_length, want_logits=False)[0]

    def cost(self, sample: Any, runs: int = 50, warmup: int = 10, component: str | None = None):
        """Size, FLOPs and batch-1 latency on one sample (:func:`semcom_sim.teacher.cost.hub_cost`)."""
        from semcom_sim.teacher.cost import hub_cost

        return hub_cost(self, sample, component or self.identity.name, runs, warmup)

    def predict(self, inputs: Any, batch_size: int = 64, *, max_length: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities float32 ``[N, num_classes]`` (softmax of the logits) and features
        ``[N, feature_dim]`` of ``inputs`` (images, or texts for a text encoder). Classifiers only
        (an image classifier, or a teacher loaded with ``num_classes``).

        :param max_length: texts are truncated to this many tokens (text encoders only).
        """
        if self.num_classes is None:
            raise TeacherError(f"teacher {self.identity.name!r} ({self.kind}) has no classification head; "
                               "use features(), or load it with num_classes")
        feats, logits = self._run(inputs, batch_size, max_length, want_logits=True)
        return softmax(logits), feats


def _last_linear(model, num_labels: int):
    import torch

    found = None
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and module.out_features == num_labels:
            found = module
    return found


def linear_head(feature_dim: int, num_classes: int):
    """A zero-initialised ``torch.nn.Linear(feature_dim, num_classes)`` in eval mode (uniform predictions)."""
    import torch

    head = torch.nn.Linear(int(feature_dim), int(num_classes))
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    return head.eval()


def _default_processor(tr, kind: str, config) -> tuple[Any, str]:
    """The processor of an image model whose directory has no ``preprocessor_config.json``."""
    from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

    size = int(getattr(config, "image_size", None) or 224)
    if kind == "clip-vision":
        return (tr.CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}),
                f"no {PROCESSOR_CONFIG}: CLIP's defaults at {size} px")
    return (tr.ViTImageProcessor(size={"height": size, "width": size}, image_mean=list(IMAGENET_DEFAULT_MEAN),
                                 image_std=list(IMAGENET_DEFAULT_STD)),
            f"no {PROCESSOR_CONFIG}: resized to {size} px, ImageNet mean/std")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def load_hub_model(id_or_dir: str | os.PathLike, kind: str, *, num_classes: int | None = None,
                   cache_dir: str | os.PathLike | None = None, new_head: bool = False,
                   class_names: Sequence[str] | None = None) -> HubTeacher:
    """Loads a Hugging Face model offline (``local_files_only=True`` everywhere); see the module docstring.

    :param id_or_dir: an existing directory, or a hub id (``owner/name``) in the Hugging Face cache.
    :param kind: one of :data:`KINDS`.
    :param num_classes: ``image-classification``: must match the checkpoint's labels if given (unless
        ``new_head``); ``clip-vision`` and ``text-encoder``: size of the fresh linear head (``None``: no head).
    :param cache_dir: the Hugging Face hub cache to look hub ids up in (default: see :func:`hub_cache_dir`).
    :param new_head: ``image-classification``: a checkpoint with another number of labels than
        ``num_classes`` gets a new, randomly initialised classifier (torch's global RNG) instead of an error.
    :param class_names: ``num_classes`` label names for that new classifier's config.
    :raises TeacherError: one line: the model is missing (saying where to put it), unreadable, or does
        not fit ``kind`` / ``num_classes``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if num_classes is not None and int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if class_names is not None and num_classes is not None and len(class_names) != int(num_classes):
        raise ValueError(f"{len(class_names)} class names for {num_classes} classes")
    model_dir = resolve_model_dir(id_or_dir, cache_dir=cache_dir)
    text = os.fspath(id_or_dir)
    name = model_dir.name if Path(text).expanduser().is_dir() else text
    sha = weights_sha256(model_dir)

    try:
        import torch  # noqa: F401 - checked here, so that a missing torch is one line
        import transformers as tr
    except ImportError as exc:
        raise TeacherError(f"hub teachers need torch and transformers ({exc}); pip install "
                           "'torch==2.13.0' transformers") from None

    common = {"local_files_only": True, "trust_remote_code": False}
    src = str(model_dir)
    head = None
    classifier = None
    notes = []
    has_processor = (model_dir / PROCESSOR_CONFIG).is_file()
    try:
        if kind == "image-classification":
            labels = int(tr.AutoConfig.from_pretrained(src, **common).num_labels)
            if new_head and num_classes is not None and int(num_classes) != labels:
                names = list(class_names) if class_names is not None else [f"class-{i}" for i in range(num_classes)]
                verbosity = tr.logging.get_verbosity()
                tr.logging.set_verbosity_error()  # the expected size mismatch of the classifier: no load report
                try:
                    model = tr.AutoModelForImageClassification.from_pretrained(
                        src, num_labels=int(num_classes), id2label=dict(enumerate(names)),
                        label2id={n: i for i, n in enumerate(names)}, ignore_mismatched_sizes=True, **common)
                finally:
                    tr.logging.set_verbosity(verbosity)
                notes.append(f"new {num_classes}-class classifier (the checkpoint had {labels} labels)")
            else:
                model = tr.AutoModelForImageClassification.from_pretrained(src, **common)
            labels = int(model.config.num_labels)
            if has_processor:
                processor = tr.AutoImageProcessor.from_pretrained(src, **common)
            else:
                processor, note = _default_processor(tr, kind, model.config)
                notes.append(note)
            if num_classes is not None and int(num_classes) != labels:
                raise TeacherError(f"teacher model {name!r} classifies {labels} classes, but the dataset has "
                                   f"{num_classes}: use a checkpoint fine-tuned for this task, or kind "
                                   "'clip-vision' with a fresh head")
            classifier = _last_linear(model, labels)
            if classifier is None:
                raise TeacherError(f"teacher model {name!r} ({type(model).__name__}) has no Linear layer with "
                                   f"{labels} outputs to take the features from")
            out_classes, feature_dim = labels, int(classifier.in_features)
        elif kind == "clip-vision":
            config = tr.AutoConfig.from_pretrained(src, **common)
            if getattr(config, "vision_config", None) is not None:  # a full CLIPModel checkpoint
                vision = config.vision_config
                vision.projection_dim = int(config.projection_dim)
                config = vision
            model, info = tr.CLIPVisionModelWithProjection.from_pretrained(
                src, config=config, output_loading_info=True, **common)
            if any("visual_projection" in k for k in info.get("missing_keys", ())):
                model = tr.CLIPVisionModel.from_pretrained(src, config=config, **common)
                feature_dim = int(model.config.hidden_size)
            else:
                feature_dim = int(model.config.projection_dim)
            if has_processor:
                processor = tr.CLIPImageProcessor.from_pretrained(src, **common)
            else:
                processor, note = _default_processor(tr, kind, model.config)
                notes.append(note)
        else:
            model = tr.AutoModel.from_pretrained(src, **common)
            processor = tr.AutoTokenizer.from_pretrained(src, **common)
            feature_dim = int(model.config.hidden_size)
        if kind != "image-classification":
            head = linear_head(feature_dim, num_classes) if num_classes is not None else None
            out_classes = None if num_classes is None else int(num_classes)
    except TeacherError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise TeacherError(f"teacher model {name!r} in {model_dir} could not be loaded as {kind} "
                           f"({_first_line(exc)})") from None
    model.eval()
    description = (f"{kind}: {type(model).__name__} from {model_dir}"
                   + (f" + zero-initialised Linear({feature_dim}, {out_classes}) head" if head is not None else "")
                   + "".join(f"; {n}" for n in notes))
    return HubTeacher(model=model, processor_or_tokenizer=processor, kind=kind,
                      identity=TeacherIdentity(name=name, weights_sha256=sha, description=description),
                      num_classes=out_classes, feature_dim=feature_dim, model_dir=model_dir, head=head,
                      _classifier=classifier)
