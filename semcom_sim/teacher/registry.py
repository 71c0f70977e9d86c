"""The teacher names and kinds a scenario may give, and what ``semcom-sim teacher finetune`` may do with each.

Light on purpose (no imports): :mod:`semcom_sim.scenario` reads it to check the ``teacher`` section, and
the teacher stage (:mod:`semcom_sim.teacher.kinds`, :mod:`semcom_sim.teacher.hub`) picks its runners by
the same names.
"""

from __future__ import annotations

__all__ = ["IMAGE_TEACHERS", "TEXT_TEACHERS", "BUILTIN_TEACHERS", "TEACHER_KINDS", "FINETUNE_MODES"]

IMAGE_TEACHERS = ("efficientnet-lite0", "efficientnet-lite2")
"""The built-in image teachers (``teacher.name``): EfficientNet-Lite with ImageNet weights."""

TEXT_TEACHERS = ("all-minilm-l6-v2",)
"""The built-in text teacher (``teacher.name``): a pretrained sentence encoder with a linear head."""

BUILTIN_TEACHERS = IMAGE_TEACHERS + TEXT_TEACHERS
"""Every built-in teacher name; a Hugging Face teacher (``teacher.kind``) must use another."""

TEACHER_KINDS = ("image-classification", "clip-vision", "text-encoder")
"""The Hugging Face teachers read from a local directory (``teacher.kind``; the same as
``semcom_sim.teacher.hub.KINDS``)."""

CACHE_KINDS = ("top-k", "sampled")
"""What a teacher cache keeps per sample (``teacher.cache_kind``; :mod:`semcom_sim.teacher.cache`): the K largest
probabilities (paper A), or classes drawn from the teacher's distribution (random-sampling KD)."""

FINETUNE_MODES = {"image-classification": ("full", "head", "none"), "clip-vision": ("head", "full"),
                  "text-encoder": ("head",)}
"""What ``semcom-sim teacher finetune`` may do with each kind (``teacher.finetune_mode``), its default first."""
