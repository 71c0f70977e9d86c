"""Executes the notebooks with nbclient on the tiny synthetic scenario, in a kernel of this interpreter."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
QUICKSTART = NOTEBOOKS / "01_quickstart.ipynb"
TINY = ROOT / "scenarios" / "tiny_synthetic.py"
KERNEL = "python3"


def test_quickstart_notebook_is_valid_and_runs_the_experiment_api():
    nb = nbformat.read(QUICKSTART, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == KERNEL
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and any(c.cell_type == "markdown" for c in nb.cells)
    assert not [o for c in code for o in c.outputs if o.get("name") == "stderr"]  # not kept (execute_notebooks)
    source = "\n".join(c.source for c in code)
    for needle in ("SEMCOM_NOTEBOOK_SCENARIO", "SEMCOM_NOTEBOOK_OVERRIDES", "SEMCOM_NOTEBOOK_OUT",
                   "load_scenario(", "Experiment.open(", ".train()", ".sweep()", "plot_accuracy(",
                   ".summary()"):
        assert needle in source, needle


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path, monkeypatch, venv_kernel):
    out = tmp_path / "nb-out"
    monkeypatch.setenv("SEMCOM_NOTEBOOK_SCENARIO", str(TINY))
    # without XLA: the command-line run compiles
    monkeypatch.setenv("SEMCOM_NOTEBOOK_OVERRIDES", "training.epochs=1;training.jit_compile=false")
    monkeypatch.setenv("SEMCOM_NOTEBOOK_OUT", str(out))
    monkeypatch.delenv("SEMCOM_DEBUG", raising=False)
    # the kernel runs in notebooks/: make the package importable even if it is not installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

    nb = nbformat.read(QUICKSTART, as_version=4)
    original = copy.deepcopy(nb)
    # one extra cell (in memory only): which interpreter did the kernel run?
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix); print(sys.executable)"))
    client = nbclient.NotebookClient(nb, kernel_name=venv_kernel, timeout=600, startup_timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    prefix, executable = nb.cells[-1].outputs[0]["text"].split()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert executable == sys.executable

    assert (out / "results.csv").is_file()
    header, *rows = (out / "results.csv").read_text().splitlines()
    assert header.startswith("scheme,channel,ebno_db,esno_db,accuracy,ci_low,ci_high,samples")
    assert len(rows) == 4  # two schemes, two Eb/N0 points
    assert json.loads((out / "scenario.json").read_text())["training"]["epochs"] == 1
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure displayed"
    markdown = [o.get("data", {}).get("text/markdown", "") for o in outputs]
    assert any("# tiny-synthetic" in text for text in markdown), "no summary"
    # executing did not touch the file in the repository
    assert nbformat.read(QUICKSTART, as_version=4) == original
