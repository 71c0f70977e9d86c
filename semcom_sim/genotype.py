"""Genotype files of ``semcom-sim search`` (JSON only: a scenario reads them without TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

from semcom_sim.errors import ScenarioError

__all__ = ["backbone_config", "load_genotype"]


def load_genotype(path: str | Path) -> dict:
    """A genotype file written by ``semcom-sim search``; a missing or malformed file fails in one line."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"genotype {path} is missing: run semcom-sim search on the scenario that writes it")
    try:
        genotype = json.loads(path.read_text())
        _ = genotype["normal"], genotype["reduce"], genotype["channels"], genotype["cells"], genotype["nodes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"genotype {path} is not a genotype file written by semcom-sim search ({exc})") from None
    return genotype


def backbone_config(path: str | Path) -> dict:
    """``model.backbone_config`` of the derived encoder of a genotype file (with
    ``model.backbone = "semcom_sim>SearchedBackbone"``): the genotype itself, so a changed genotype
    changes the checkpoint fingerprint."""
    g = load_genotype(path)
    return {"genotype": {"normal": g["normal"], "reduce": g["reduce"]}, "channels": g["channels"],
            "cells": g["cells"], "nodes": g["nodes"], "stem_stride": g.get("stem_stride", 1)}
