import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

KERNEL = "python3"


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A ``python3`` kernel spec whose interpreter is ``sys.executable``, found first on JUPYTER_PATH.

    The kernel spec that Jupyter would find by itself may belong to another interpreter (a user-wide
    or system-wide ``python3``); this one always runs the interpreter of the tests.
    """
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({sys.prefix})", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    found = KernelSpecManager().get_kernel_spec(KERNEL)
    assert found.argv[0] == sys.executable, found.argv
    return KERNEL


def execute_notebook(path, kernel: str, root, min_figures: int, monkeypatch) -> list:
    """Runs the notebook at ``path`` in ``kernel`` (the package importable from ``root``), checks that no
    cell failed, that at least ``min_figures`` PNGs were shown and that nothing was skipped; returns the
    outputs of its code cells."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "stored outputs"
    nbclient.NotebookClient(nb, kernel_name=kernel, timeout=300, startup_timeout=120,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= min_figures
    assert not any("skipped" in o.get("text", "") for o in outputs)
    return outputs


def pytest_collection_modifyitems(config, items):
    """Every end-to-end test (``tests/e2e/``: the command line, the reduced comparisons, the notebooks) is
    ``slow``: the fast lane ``-m "not slow"`` leaves them out; the full run keeps them."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.slow)
