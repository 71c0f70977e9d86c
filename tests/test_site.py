"""The documentation site stays in step with the code and the committed runs, and builds without a broken link.

The generated pages (command line, results files, package layout, results pages) must equal what their
generators render now; the README's scenario must load and its bad field must give the line the README shows;
``mkdocs build --strict`` must pass (skipped where MkDocs is not installed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import results_pages
from semcom_sim import reference_docs

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@pytest.mark.parametrize("page, path", [("cli", "docs/reference/cli.md"),
                                        ("results-files", "docs/reference/results-files.md"),
                                        ("layout", "docs/reference/layout.md")])
def test_reference_page_is_generated_from_the_code(page, path):
    committed = (ROOT / path).read_text()
    assert committed == reference_docs.PAGES[page](), \
        f"regenerate: python -m semcom_sim.reference_docs {page} > {path}"


def test_results_pages_are_generated_from_the_committed_runs():
    stale = [str(p.relative_to(ROOT)) for p, text in results_pages.pages().items()
             if not p.is_file() or p.read_text() != text]
    assert not stale, f"regenerate: python -m scripts.results_pages (stale: {stale})"


def test_every_committed_run_has_a_page_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    for path in results_pages.pages():
        assert f"results/{path.name}" in nav, f"add results/{path.name} to the nav of mkdocs.yml"


def test_the_cli_page_names_every_subcommand_and_flag():
    from semcom_sim import cli

    page = (ROOT / "docs/reference/cli.md").read_text()
    parsers, leaves = [cli._parser()], []
    while parsers:
        parser = parsers.pop()
        children = [sub for _, sub, _ in reference_docs._subcommands(parser)]
        parsers += children
        leaves += [] if children else [parser]
    assert len(leaves) == 9
    for parser in leaves:
        assert f"## {parser.prog}\n" in page, parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                for option in action.option_strings:
                    assert f"`{option}`" in page, f"{parser.prog} {option}"


def test_the_results_files_page_lists_every_column():
    from semcom_sim import results

    page = (ROOT / "docs/reference/results-files.md").read_text()
    for columns in (results.RESULT_COLUMNS, results.COST_COLUMNS, results.DISTILLATION_COLUMNS,
                    results.ADAPTATION_COLUMNS):
        for column in columns:
            assert f"| `{column}` |" in page, column


def _readme_block(heading: str, language: str) -> str:
    section = README.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_scenario_loads_and_its_bad_field_gives_the_line_shown(tmp_path):
    from semcom_sim import ScenarioError, load_scenario

    scenario_file = tmp_path / "my_first.py"
    scenario_file.write_text(_readme_block("A scenario", "python"))
    scenario = load_scenario(str(scenario_file))
    assert scenario.name == "my-first" and scenario.phy.channel == "CDL-C"
    assert len(_readme_block("A scenario", "python").splitlines()) <= 13

    console = _readme_block("A scenario", "console").splitlines()
    override = re.search(r"--set (\S+)", console[0]).group(1)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(str(scenario_file), [override])
    assert console[1] == f"semcom-sim: error: {raised.value}"


def test_readme_stays_short_and_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) < 250
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), f"README.md links to a missing file: {target}"


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_each_notebook_is_committed_with_the_outputs_of_one_clean_run(notebook):
    """The site renders the notebooks from their committed outputs: every code cell ran once, top to bottom, in
    one kernel (execution counts 1, 2, ...), none failed, and a figure was drawn."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), \
        f"re-run: .venv/bin/python -m scripts.execute_notebooks {notebook.stem}"
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_mkdocs_build_strict(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("MkDocs is not installed (pip install -e '.[docs]')")
    done = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("index.html", "results/quickstart/index.html", "reference/cli/index.html",
                 "notebooks/01_quickstart/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
