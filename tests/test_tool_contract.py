"""The command-line contract of benchmarks/*.py and scripts/*.py: run as ``python -m benchmarks.NAME SCENARIO
[RUN_DIR] ...`` from the repository root, print-only flag ``--no-append``, no ``sys.path`` edits, and only
public names of semcom_sim imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXCLUDED = {"_common.py", "__init__.py", "same_rows.py"}
TOOLS = sorted(p for folder in ("benchmarks", "scripts") for p in (ROOT / folder).glob("*.py")
               if p.name not in EXCLUDED)
# cheap to start: nothing heavier than semcom_sim.results at module level (no TensorFlow, torch or Ray)
HELP_CHECKED = ("benchmarks.search_time", "benchmarks.adaptation_measures", "scripts.results_pages")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _is_sys_path(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
            and node.value.id == "sys")


def test_there_are_tools():
    names = {p.name for p in TOOLS}
    assert {"rkd_sc_measures.py", "link_throughput.py", "adaptive_diagnostics.py"} <= names
    assert (ROOT / "benchmarks" / "__init__.py").is_file() and (ROOT / "scripts" / "__init__.py").is_file()


@pytest.mark.parametrize("path", TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_sys_path_edits(path):
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_sys_path(node.func.value):
            assert node.func.attr not in {"insert", "append", "extend"}, f"{path.name}:{node.lineno}: sys.path edited"
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
        for target in targets:
            edited = _is_sys_path(target) or (isinstance(target, ast.Subscript) and _is_sys_path(target.value))
            assert not edited, f"{path.name}:{node.lineno}: sys.path assigned"


@pytest.mark.parametrize("path", TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_only_public_names_of_semcom_sim(path):
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "semcom_sim":
            parts = node.module.split(".") + [alias.name for alias in node.names]
            private = [p for p in parts if p.startswith("_")]
            assert not private, f"{path.name}:{node.lineno}: private name {private} imported from semcom_sim"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "semcom_sim":
                    assert not any(p.startswith("_") for p in alias.name.split(".")), \
                        f"{path.name}:{node.lineno}: private module {alias.name} imported"
        assert not (isinstance(node, ast.ImportFrom) and node.module == "_common"), \
            f"{path.name}:{node.lineno}: import benchmarks._common, not _common"


@pytest.mark.parametrize("path", TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_option_names(path):
    strings = {n.value for n in ast.walk(_tree(path)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert "--no-record" not in strings, f"{path.name}: the print-only flag is --no-append"
    assert "--scenario" not in strings, f"{path.name}: the scenario is the first positional argument"


@pytest.mark.parametrize("module", HELP_CHECKED)
def test_help_runs_as_a_module(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--" in done.stdout


def test_ci_runs_the_test_command_the_readme_gives_and_the_suite_benchmark_times_it():
    from benchmarks.suite_time import readme_commands

    commands = readme_commands((ROOT / "README.md").read_text())
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if " -m pytest" in line]
    assert ci == [commands["full"]]
    assert commands["fast"].startswith(commands["full"]) and commands["fast"].endswith('-m "not slow"')
    with pytest.raises(SystemExit, match="no full and fast pytest command"):
        readme_commands("no commands here")
