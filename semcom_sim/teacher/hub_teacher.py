"""A scenario's Hugging Face teacher (``teacher.kind``): prepared once, then run for caches and online KD.

    report = finetune_hub_teacher(dataset, kind="image-classification", model_dir="/models/vit",
                                  mode="full", out_path="teachers/my-vit-synthetic.teacher")
    teacher = load_prepared("teachers/my-vit-synthetic.teacher", kind="image-classification",
                            model_dir="/models/vit")        # a HubTeacher
    probs, features = teacher.predict(dataset.x_test)     # float32 [N, C], [N, D]

What ``semcom-sim teacher finetune`` does (``teacher.finetune_mode``), choices documented here once:

* ``"head"``: the model stays frozen; the training set's features (:class:`~semcom_sim.teacher.hub.HubTeacher`:
  an image classifier's classifier input, a CLIP image embedding, a text encoder's mean-pooled sentence
  embedding) are computed once and a multinomial logistic regression is fitted on them
  (:func:`semcom_sim.teacher.minilm.fit_head`: full-batch L-BFGS from zero, L2 1e-4, deterministic).
  The fitted weights become the image classifier's own classification layer, or the extra linear head
  of a CLIP vision tower or text encoder.
* ``"full"`` (images only): the same head fit first, then every layer fine-tuned with the EfficientNet
  teachers' loop (:func:`semcom_sim.teacher.training.finetune_loop`: AdamW, warm-up then cosine, plain
  cross-entropy, flips and +-2 px shifts of the dataset's images before the processor resizes them).
  Fitting the head first ("linear probe, then fine-tune") keeps a fresh random head from pushing large
  gradients into the pretrained layers in the first steps.
* ``"none"``: an image classifier whose labels already are the dataset's classes, used as it is (only
  its test accuracy, size and latency are measured).

An image classifier whose head has another number of labels than the dataset gets a new head
(``load_hub_model(..., new_head=True)``); images reach every model through its own processor
(grey copied to RGB, resized and normalised as its ``preprocessor_config.json`` says).

**File.** ``torch.save`` of ``{"format", "format_version", "kind", "finetune_mode", "model_dir",
"base_weights_sha256", "num_classes", "class_names", "dataset", "state_dict", "report"}`` written
atomically (loads with ``torch.load(weights_only=True)``). The state dict holds only what finetune
changed, named as in :attr:`HubTeacher.modules` (``model.*``, ``head.*``): every weight after ``"full"``,
the linear head after ``"head"``, nothing after ``"none"``; the model directory supplies the rest and must
still hold the weights it was prepared from (their sha256 is checked). The prepared teacher's
``weights_sha256`` hashes the base weights' hash and the stored state dict.

Imports torch and transformers (through :mod:`semcom_sim.teacher.hub`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semcom_sim.io import atomic_path
from semcom_sim.teacher.cache import TeacherIdentity
from semcom_sim.teacher.hub import IMAGE_KINDS, KINDS, HubTeacher, load_hub_model, weights_sha256
from semcom_sim.teacher.minilm import fit_head
from semcom_sim.teacher.registry import FINETUNE_MODES as MODES
from semcom_sim.teacher.runner_base import TeacherError
from semcom_sim.teacher.training import augment, finetune_loop, median_latency_ms, state_dict_sha256

__all__ = ["FORMAT", "FORMAT_VERSION", "MODES", "check_model_dir", "finetune_hub_teacher", "load_prepared"]

FORMAT = "semcom-sim/hub-teacher"
FORMAT_VERSION = 1
HEAD_L2 = 1e-4
HEAD_ITERATIONS = 200
_SHUFFLE_STREAM = 302
_FINETUNE_HINT = "run semcom-sim teacher finetune SCENARIO.py"


def check_model_dir(model_dir: str | os.PathLike, kind: str) -> Path:
    """``model_dir`` as an existing local directory with a ``config.json``.

    :raises TeacherError: one line naming ``teacher.model_dir`` and what to put there.
    """
    path = Path(model_dir).expanduser()
    files = ("config.json, the weights (*.safetensors or *.bin) and "
             + ("the tokenizer files" if kind == "text-encoder" else "preprocessor_config.json"))
    if not path.is_dir():
        raise TeacherError(f"teacher.model_dir: {path} does not exist: put the {kind} model there (the output of "
                           f"save_pretrained(): {files}); nothing is downloaded")
    if not (path / "config.json").is_file():
        raise TeacherError(f"teacher.model_dir: {path} has no config.json: it must hold the {kind} model as "
                           f"save_pretrained() writes it ({files})")
    return path


def _inputs(dataset: Any, split: str, kind: str) -> Any:
    if kind == "text-encoder":
        return list(getattr(dataset, f"texts_{split}"))
    return getattr(dataset, f"x_{split}")


def _named_state(teacher: HubTeacher, mode: str) -> dict[str, torch.Tensor]:
    """What ``mode`` changed, named as in ``teacher.modules`` (CPU tensors)."""
    modules = teacher.modules
    if mode == "full":
        state = modules.state_dict()
    elif mode == "head":
        prefix = next(name for name, m in modules.named_modules() if m is teacher.classifier)
        state = {f"{prefix}.{k}": v for k, v in teacher.classifier.state_dict().items()}
    else:
        state = {}
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _prepared_sha256(base_sha256: str, state: dict[str, torch.Tensor]) -> str:
    return hashlib.sha256(f"base:{base_sha256}|state:{state_dict_sha256(state)}".encode()).hexdigest()


def _description(kind: str, teacher: HubTeacher, mode: str, dataset_name: str, report: dict) -> str:
    accuracy = report.get("test_accuracy")
    acc = f"test accuracy {accuracy:.4f}" if isinstance(accuracy, float) else "test accuracy unknown"
    return (f"{kind}: {type(teacher.model).__name__} from {teacher.model_dir}, finetune_mode {mode} on "
            f"{dataset_name} ({teacher.num_classes} classes); {acc}")


def finetune_hub_teacher(dataset: Any, *, kind: str, model_dir: str | os.PathLike, mode: str,
                         out_path: str | Path, epochs: int = 3, batch_size: int = 128, lr: float = 1e-4,
                         weight_decay: float = 0.05, seed: int = 0, inference_batch_size: int = 256,
                         max_steps: int | None = None, device: str | None = None,
                         log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Prepares the Hugging Face teacher in ``model_dir`` for ``dataset`` (see the module docstring),
    writes it to ``out_path`` atomically and returns the report.

    :param dataset: a :class:`semcom_sim.data.Dataset` (images for the image kinds, texts for a text encoder).
    :param mode: one of :data:`MODES` of ``kind``.
    :param epochs, batch_size, lr, weight_decay, max_steps: the ``"full"`` fine-tuning (see
        :func:`~semcom_sim.teacher.training.finetune_loop`).
    :param device: ``None``: CUDA if available, else the CPU. The latency is measured on the CPU.
    :return: ``test_accuracy``, ``num_parameters`` (model and head), ``latency_ms_per_sample`` (one sample,
        batch 1, median of 20 warm calls of ``predict``: processor or tokenizer, network, head, softmax),
        ``train_seconds`` (feature pass, head fit and fine-tuning), ``weights_sha256``, the processor's
        settings (``preprocessing``) and the settings of the run.
    :raises TeacherError: one line: the model directory is missing or unreadable, the mode does not fit
        the model, or the fine-tuning diverged.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if mode not in MODES[kind]:
        raise TeacherError(f"teacher.finetune_mode: {mode!r} is not one of {', '.join(MODES[kind])} (for a {kind} "
                           "teacher)")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("inference_batch_size",
                                                                          inference_batch_size)):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    model_dir = check_model_dir(model_dir, kind)
    num_classes = int(dataset.num_classes)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)  # a new classifier's initialisation, dropout
    state_path = Path(out_path).with_name(Path(out_path).name + ".state")  # the full fine-tuning's, to resume from

    if mode == "none":
        teacher = load_hub_model(model_dir, kind)
        if teacher.num_classes != num_classes:
            raise TeacherError(f"teacher.finetune_mode: 'none' uses the classifier in {model_dir} as it is, but it "
                               f"has {teacher.num_classes} labels and {dataset.name} has {num_classes} classes: use "
                               "finetune_mode 'head' or 'full'")
    else:
        teacher = load_hub_model(model_dir, kind, num_classes=num_classes, new_head=True,
                                 class_names=dataset.class_names)
    teacher.modules.to(dev)
    log(f"[teacher] {kind} {type(teacher.model).__name__} from {model_dir}: {teacher.num_parameters:,} parameters, "
        f"features {teacher.feature_dim}, finetune_mode {mode}"
        + (f", input {teacher.input_size[0]}x{teacher.input_size[1]} px" if kind in IMAGE_KINDS else ""))
    x_train, y_train = _inputs(dataset, "train", kind), np.asarray(dataset.y_train)
    report: dict[str, Any] = {}
    t0 = time.perf_counter()
    if mode in ("head", "full"):
        features = teacher.features(x_train, batch_size=inference_batch_size)
        embed_seconds = time.perf_counter() - t0
        log(f"[teacher] {len(y_train)} training features in {embed_seconds:.1f} s; fitting the linear head "
            f"(L-BFGS, l2={HEAD_L2})")
        fitted = fit_head(features, y_train, num_classes, l2=HEAD_L2, epochs=HEAD_ITERATIONS)
        classifier = teacher.classifier
        with torch.no_grad():
            classifier.weight.copy_(torch.from_numpy(fitted["weight"]))
            classifier.bias.copy_(torch.from_numpy(fitted["bias"]))
        head_logits = features @ fitted["weight"].T + fitted["bias"]
        report.update(head={"solver": "L-BFGS (strong Wolfe), float64, zero init", "l2": HEAD_L2,
                            "iterations": HEAD_ITERATIONS,
                            "train_accuracy": float(np.mean(head_logits.argmax(1) == y_train))},
                      embed_seconds=embed_seconds, fit_seconds=time.perf_counter() - t0 - embed_seconds)
    if mode == "full":
        images = torch.tensor(np.asarray(x_train, np.float32)).permute(0, 3, 1, 2)

        def batch_logits(idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            batch = augment(images[idx], generator).permute(0, 2, 3, 1).numpy()
            return teacher.forward_images(batch)[1]

        header = (f"fine-tuning {teacher.identity.name} ({kind}) on {dataset.name}: {len(y_train)} images "
                  f"{'x'.join(map(str, x_train.shape[1:3]))} -> {'x'.join(map(str, teacher.input_size))}")
        run = finetune_loop(teacher.modules.parameters(), [teacher.modules], batch_logits,
                            torch.tensor(y_train, dtype=torch.long), name=teacher.identity.name, header=header,
                            epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                            shuffle_stream=_SHUFFLE_STREAM, max_steps=max_steps, device=dev, log=log,
                            state_path=state_path,
                            state_key=f"{kind}|{dataset.fingerprint}|{teacher.identity.weights_sha256}")
        report.update(fine_tuning={**run, "epochs_requested": int(epochs), "max_steps": max_steps, "lr": float(lr),
                                   "weight_decay": float(weight_decay),
                                   "augmentation": "hflip p=0.5, random crop pad 2px, before the processor"})
    teacher.modules.eval()
    train_seconds = time.perf_counter() - t0

    probs, _ = teacher.predict(_inputs(dataset, "test", kind), batch_size=inference_batch_size)
    test_accuracy = float(np.mean(probs.argmax(1) == np.asarray(dataset.y_test))) if len(probs) else 0.0
    teacher.modules.to("cpu")
    sample = _inputs(dataset, "test" if len(dataset.y_test) else "train", kind)[:1]
    latency = median_latency_ms(lambda: teacher.predict(sample, batch_size=1))

    base_sha = teacher.identity.weights_sha256
    state = _named_state(teacher, mode)
    report = {
        "kind": kind, "finetune_mode": mode, "model_dir": str(model_dir), "model_class": type(teacher.model).__name__,
        "base_weights_sha256": base_sha, "num_classes": num_classes, "feature_dim": teacher.feature_dim,
        "test_accuracy": test_accuracy, "num_test": len(dataset.y_test), "num_train": len(y_train),
        "num_parameters": teacher.num_parameters, "latency_ms_per_sample": latency, "train_seconds": train_seconds,
        **report, "preprocessing": teacher.preprocessing(), "seed": int(seed), "device": str(dev),
        "torch_version": str(torch.__version__), "transformers_version": _transformers_version(),
        "weights_sha256": _prepared_sha256(base_sha, state), "checkpoint": str(out_path),
    }
    checkpoint = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "finetune_mode": mode,
                  "model_dir": str(model_dir), "base_weights_sha256": base_sha, "num_classes": num_classes,
                  "class_names": list(dataset.class_names),
                  "dataset": {"name": dataset.name, "fingerprint": dataset.fingerprint},
                  "state_dict": state, "report": report}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp:
        torch.save(checkpoint, tmp)
    state_path.unlink(missing_ok=True)
    log(f"[teacher] saved {out_path}: test accuracy {test_accuracy:.4f}, {train_seconds:.1f} s")
    return report


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)


def load_prepared(path: str | Path, *, kind: str, model_dir: str | os.PathLike,
                  device: str | None = None) -> HubTeacher:
    """The teacher :func:`finetune_hub_teacher` wrote to ``path``, on ``device`` (``None``: CUDA if
    available, else the CPU), in eval mode.

    :raises TeacherError: one line: the file is missing, unreadable, of another format or kind, or
        ``model_dir`` no longer holds the weights it was prepared from.
    """
    path = Path(path)
    fix = f"rebuild it: {_FINETUNE_HINT}"
    if not path.is_file():
        raise TeacherError(f"prepared teacher {path} not found: {_FINETUNE_HINT}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise TeacherError(f"prepared teacher {path} is unreadable or truncated ({type(exc).__name__}); "
                           f"{fix}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or ckpt.get("format_version") != FORMAT_VERSION:
        raise TeacherError(f"prepared teacher {path} is not a {FORMAT} v{FORMAT_VERSION} file; {fix}")
    if ckpt["kind"] != kind:
        raise TeacherError(f"prepared teacher {path} is a {ckpt['kind']} teacher, but teacher.kind is {kind}; {fix}")
    model_dir = check_model_dir(model_dir, kind)
    base_sha = weights_sha256(model_dir)
    if base_sha != ckpt["base_weights_sha256"]:
        raise TeacherError(f"teacher.model_dir {model_dir} holds other weights (sha256 {base_sha[:12]}) than {path} "
                           f"was prepared from ({ckpt['base_weights_sha256'][:12]}); {fix}")
    state, report, mode = ckpt["state_dict"], dict(ckpt.get("report") or {}), ckpt["finetune_mode"]
    sha = _prepared_sha256(base_sha, state)
    if report.get("weights_sha256") not in (None, sha):
        raise TeacherError(f"prepared teacher {path} fails its weights checksum (corrupt); {fix}")
    teacher = load_hub_model(model_dir, kind, num_classes=int(ckpt["num_classes"]), new_head=mode != "none",
                             class_names=ckpt.get("class_names"))
    result = teacher.modules.load_state_dict(state, strict=False)
    if result.unexpected_keys or (mode == "full" and result.missing_keys):
        raise TeacherError(f"prepared teacher {path} does not fit the model in {model_dir} (unexpected "
                           f"{list(result.unexpected_keys)[:3]}, missing {list(result.missing_keys)[:3]}); {fix}")
    teacher.modules.to(torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))).eval()
    teacher.identity = TeacherIdentity(
        name=f"{teacher.identity.name}-{ckpt['dataset']['name']}", weights_sha256=sha,
        description=_description(kind, teacher, mode, ckpt["dataset"]["name"], report))
    teacher.report = report
    return teacher
