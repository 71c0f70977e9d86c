"""The reduced RKD-SC pipeline end to end on 1,000 Fashion-MNIST training images with the committed teacher:
one `semcom-sim compare` with rkd-sc (the searched encoder: its search runs first, into the run directory's
search/) and rkd-sc-handcrafted, then notebooks/03_rkd_sc.ipynb on the run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import execute_notebook

from semcom_sim.results import read_adaptation, read_results

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "scenarios" / "rkd_sc_tiny.py"
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from semcom_sim.cli import main

    out = tmp_path_factory.mktemp("rkd")
    cache = f"teacher.cache_path={out / 'cache' / '{dataset}-{name}-top{top_k}{features}.h5'}"
    no_xla = ["--set", "search.jit_compile=false", "--set", "training.jit_compile=false",  # compiling: most of the time
              "--set", "sweep.max_samples=200",  # one batch per point: test_sweep tests the stopping rule
              "--set", "search.lambdas=(0.0,)",  # one search: test_search tests the choice among several
              "--set", "compare.robustness_schemes=()"]  # the feedback study: test_compare runs it
    assert main(["compare", str(TINY), "--out", str(out / "compare"), "--no-progress", "--set", cache] + no_xla) == 0
    return out


def test_the_searched_encoder_is_the_rkd_sc_encoder(pipeline):
    genotype = json.loads((pipeline / "compare" / "search" / "genotype.json").read_text())
    recorded = json.loads((pipeline / "compare" / "scenario.json").read_text())
    assert Path(recorded["search"]["genotype"]) == pipeline / "compare" / "search" / "genotype.json"
    meta = [json.loads(p.read_text()) for p in (pipeline / "compare" / "checkpoints").glob("rkd-sc-*.json")]
    searched = [m for m in meta if m["scheme"] == "rkd-sc"]
    assert searched and all(m["scenario"]["model"]["backbone"] == "semcom_sim>SearchedBackbone" for m in searched)
    assert searched[0]["scenario"]["model"]["backbone_config"]["genotype"]["normal"] == genotype["normal"]
    assert [s["name"] for s in searched[0]["stages"]] == ["distil", "classifier", "robust"]


def test_the_comparison_has_both_schemes_their_lengths_and_the_adaptation_studies(pipeline):
    rows = read_results(pipeline / "compare" / "results.csv")
    assert {r["scheme"] for r in rows} == {"rkd-sc", "rkd-sc-handcrafted"}
    deployed = [r for r in rows if r["scheme"] == "rkd-sc" and not r["variant"]]
    assert deployed and all(4 <= r["channel_uses"] <= 32 for r in deployed)
    assert {r["fixed_length"] for r in rows if r["variant"] == "length"} == {4, 8, 16, 32}
    studies = {r["study"] for r in read_adaptation(pipeline / "compare" / "adaptation.csv")}
    assert {"mismatch", "shuffle"} <= studies


def test_the_rkd_sc_notebook_runs_on_the_search_and_the_comparison(pipeline, venv_kernel, monkeypatch):
    monkeypatch.setenv("SEMCOM_NOTEBOOK_SEARCH_DIR", str(pipeline / "compare" / "search"))
    monkeypatch.setenv("SEMCOM_NOTEBOOK_RKD_DIR", str(pipeline / "compare"))
    execute_notebook(NOTEBOOKS / "03_rkd_sc.ipynb", venv_kernel, ROOT, 4, monkeypatch)
