"""The import rules of docs/architecture.md, checked statically on the source (nothing is imported).

Every ``import`` counts, at module level or inside a function, except those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "semcom_sim"

# The modules where TensorFlow-specific code lives (GradientTape, tf.function, Sionna tensors, profiling).
TENSORFLOW_MODULES = {"semcom_sim.train", "semcom_sim.evaluate", "semcom_sim.cost", "semcom_sim.cli",
                      "semcom_sim.search"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str) -> set[str]:
    """Absolute names of every module an AST imports (``from a import b`` gives ``a`` and ``a.b``)."""
    out: set[str] = set()

    def visit(node):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


@cache
def _modules() -> dict[str, set[str]]:
    """Module name -> the modules it imports."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        out[name] = _imports(ast.parse(path.read_text(), str(path)), package)
    return out


def _importers_of(top: str) -> set[str]:
    return {m for m, imports in _modules().items() if any(i == top or i.startswith(top + ".") for i in imports)}


def test_the_import_scan_finds_the_package():
    modules = _modules()
    assert "semcom_sim.phy.link" in modules and "sionna.phy" in modules["semcom_sim.phy.link"]
    assert "semcom_sim.teacher.efficientnet" in modules and "torch" in modules["semcom_sim.teacher.efficientnet"]


def test_sionna_is_imported_only_under_phy():
    outside = {m for m in _importers_of("sionna") if not m.startswith("semcom_sim.phy")}
    assert not outside, f"sionna imported outside semcom_sim/phy/: {sorted(outside)}"


@pytest.mark.parametrize("framework", ["torch", "transformers"])
def test_torch_and_transformers_are_imported_only_by_the_teacher_runners(framework):
    importers = _importers_of(framework)
    outside = {m for m in importers if not m.startswith("semcom_sim.teacher.")}
    assert not outside, f"{framework} imported outside semcom_sim/teacher/: {sorted(outside)}"
    # reading a teacher cache needs h5py alone
    assert "semcom_sim.teacher.cache" not in importers and "semcom_sim.teacher" not in importers


def test_semantic_layers_use_keras_only_not_tensorflow():
    offenders = {m for m in _importers_of("tensorflow") if m.startswith("semcom_sim.semantic")}
    assert not offenders, f"semantic/ must use keras.ops, not TensorFlow: {sorted(offenders)}"


def test_tensorflow_specific_code_stays_in_the_named_modules():
    allowed = {m for m in _modules() if m.startswith("semcom_sim.phy")} | TENSORFLOW_MODULES
    outside = _importers_of("tensorflow") - allowed
    assert not outside, f"tensorflow imported outside {sorted(TENSORFLOW_MODULES)} and phy/: {sorted(outside)}"


def test_semantic_and_phy_do_not_import_upwards():
    allowed = ("semcom_sim.scenario", "semcom_sim.errors", "semcom_sim.schemes", "semcom_sim.semantic",
               "semcom_sim.phy")
    for module, imports in _modules().items():
        if module.startswith(("semcom_sim.semantic", "semcom_sim.phy")):
            upward = {i for i in imports if i.startswith("semcom_sim.") and not i.startswith(allowed)}
            assert not upward, f"{module} imports {sorted(upward)}: semantic/ and phy/ sit below system.py"


def test_there_are_no_import_cycles():
    modules = _modules()

    def own(name: str) -> str | None:  # the package module an import name lands in
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: {own(i) for i in imports if i.startswith("semcom_sim")} - {None, m} for m, imports in modules.items()}
    # a package's __init__ is imported with any of its submodules; only count edges to real modules
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str):
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if n.startswith(m + "."):  # a package importing its own submodules is not a cycle
                continue
            if state.get(n) == 1 and not m.startswith(n + "."):
                cycle = path[path.index(n):] + [n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


# -- the layer order of docs/architecture.md: every import points down (or stays in its own layer) ---------------

LAYERS = (
    ("semcom_sim", "semcom_sim.cli"),  # the public API and the command line
    ("semcom_sim.experiment", "semcom_sim.steps"),  # the one orchestrator and its steps
    ("semcom_sim.studies", "semcom_sim.search"),  # studies as data; the architecture search
    ("semcom_sim.train",),
    ("semcom_sim.adaptation",),  # the length policy: fit, table
    ("semcom_sim.evaluate",),
    ("semcom_sim.checkpoints",),
    ("semcom_sim.report",),  # figures and summaries from the run directory's files
    ("semcom_sim.teacher",),  # the teacher stage
    ("semcom_sim.system", "semcom_sim.sweep", "semcom_sim.cost"),
    ("semcom_sim.phy", "semcom_sim.semantic", "semcom_sim.data", "semcom_sim.losses", "semcom_sim.results",
     "semcom_sim.training_state"),
    ("semcom_sim.scenario", "semcom_sim.scenario_docs"),
    ("semcom_sim.data.registry", "semcom_sim.teacher.registry"),  # the names the scenario checks against
    ("semcom_sim.schemes",),
    ("semcom_sim.errors", "semcom_sim.io", "semcom_sim.calibration", "semcom_sim.limits", "semcom_sim.condition",
     "semcom_sim.genotype", "semcom_sim.constraints",
     "semcom_sim.lock"),
)
"""Top to bottom. A module may import its own layer and the layers below it, never one above."""


def _layer(module: str) -> int | None:
    """The index of the layer a module belongs to (the longest matching name wins)."""
    best = None
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best[1])):
                best = (index, name)
    return None if best is None else best[0]


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in _modules() if _layer(m) is None)
    assert not unplaced, f"place these modules in a layer of LAYERS (and docs/architecture.md): {unplaced}"


def test_imports_point_down_the_layers():
    modules = _modules()
    upward = []
    for module, imports in modules.items():
        mine = _layer(module)
        for name in imports:
            if not name.startswith("semcom_sim."):
                continue
            theirs = _layer(name)
            if theirs is not None and theirs < mine:
                upward.append(f"{module} imports {name}")
    assert not upward, "imports up the layers of docs/architecture.md: " + "; ".join(sorted(set(upward)))


def test_the_layer_check_sees_an_upward_import():
    # the rule itself: the orchestrator sits above training, which sits above the physical layer
    assert _layer("semcom_sim.experiment") < _layer("semcom_sim.train") < _layer("semcom_sim.phy.link")
    assert _layer("semcom_sim.teacher.cache") == _layer("semcom_sim.teacher")
    # the name tables sit below the scenario that reads them, not with their packages
    assert _layer("semcom_sim.scenario") < _layer("semcom_sim.data.registry") < _layer("semcom_sim.constraints")
    assert _layer("semcom_sim.teacher.registry") > _layer("semcom_sim.scenario") > _layer("semcom_sim.data")
