"""Runs the notebooks from top to bottom and stores their outputs, which the documentation site shows.

    python -m scripts.execute_notebooks [NAME ...]

NAME is a notebook of ``notebooks/`` (``01_quickstart``; default: every notebook). Each runs in a fresh kernel of
this interpreter, in ``notebooks/`` (so its default paths are those a reader gets); what it writes to stderr
(TensorFlow's start-up log, progress bars) is not kept. A notebook is replaced only when every cell ran
(written to a temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", metavar="NAME", nargs="*", help="notebooks to run (default: all)")
    args = parser.parse_args(argv)
    paths = [NOTEBOOKS / f"{name.removesuffix('.ipynb')}.ipynb" for name in args.names] or \
        sorted(NOTEBOOKS.glob("*.ipynb"))
    missing = [str(p.relative_to(ROOT)) for p in paths if not p.is_file()]
    if missing:
        sys.stderr.write(f"execute_notebooks: no such notebook: {', '.join(missing)}\n")
        return 2

    import nbclient
    import nbformat

    from semcom_sim.io import atomic_write_text

    for path in paths:
        print(f"running {path.relative_to(ROOT)}", flush=True)
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream"
                                                                and o.get("name") == "stderr")]
        atomic_write_text(path, nbformat.writes(nb) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
