"""The layers of ARCHITECTURE.md, checked over the import graph: every ``import`` statement in
``harness/`` and ``variants/``, including those inside functions (an import cycle can hide
there, where Python only meets it at call time). No cycle, no import from a lower layer to a
higher one, and the report and results layers load with torch blocked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layer of each module, by longest matching prefix; lowest first. A module may import its
#: own layer and the layers listed as below it, nothing else.
LAYERS = {
    "core": ["harness", "harness.errors", "harness.io", "harness.lock", "harness.actions",
             "harness.schema", "harness.design", "harness.axes", "harness.review",
             "harness.metrics", "harness.progress", "harness.deviations", "variants"],
    "data": ["harness.data"],
    "records": ["harness.results", "harness.instruments", "harness.instruments.registry",
                "harness.instruments.settings"],
    "components": ["harness.encoders", "harness.model", "harness.losses", "harness.backward",
                   "harness.schedules", "harness.precision", "harness.seeding",
                   "harness.forward", "harness.prepare"],
    "training": ["harness.train", "harness.evaluation", "harness.records"],
    "instruments": [],           # the hook modules: see _layer
    "execution": ["harness.config", "harness.execute", "harness.executors", "harness.runner",
                  "harness.budget", "harness.environment", "harness.logs"],
    "report": ["harness.report"],
    "entry": ["harness.cli", "harness.compare", "harness.benchmarking", "harness.search",
              "harness.until_decided"],
}
MAY_IMPORT = {
    "core": {"core"},
    "data": {"core", "data"},
    "records": {"core", "records"},
    "components": {"core", "data", "components"},
    "training": {"core", "data", "records", "components", "training"},
    "instruments": {"core", "data", "records", "components", "training", "instruments"},
    "execution": {"core", "data", "records", "components", "training", "instruments",
                  "execution"},
    # The report reads records: it may not reach the trainer, the model or torch.
    "report": {"core", "records", "report"},
    "entry": set(LAYERS),
}


def _module_files() -> dict[str, Path]:
    files = {}
    for package in ("harness", "variants"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


MODULES = _module_files()


def _is_declaration(module: str) -> bool:
    """An instrument's declaration (``harness/instruments/<name>/__init__.py``) is torch-free
    and read by the report; its hooks (``.../hooks.py`` and the suite) are training code."""
    parts = module.split(".")
    return (parts[:2] == ["harness", "instruments"] and len(parts) == 3
            and MODULES.get(module, Path()).name == "__init__.py")


def _layer(module: str) -> str:
    if module.startswith("harness.instruments") and module not in LAYERS["records"]:
        return "records" if _is_declaration(module) else "instruments"
    best, layer = -1, None
    for name, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), name
    if layer is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and ARCHITECTURE.md)")
    return layer


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Modules of ours that ``module`` imports anywhere in its file, with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    # imports only for type checkers never run: not edges of the graph
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for stmt in block.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from pkg import sub" imports the submodule when there is one
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and name.split(".")[0] in ("harness", "variants"):
                found.append((name, node.lineno))
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_import_crosses_a_layer_upwards():
    wrong = []
    for module, imports in GRAPH.items():
        here = _layer(module)
        for target, line in imports:
            if target == "harness":      # the package docstring and version
                continue
            if _layer(target) not in MAY_IMPORT[here]:
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line} ({here}) imports "
                             f"{target} ({_layer(target)})")
    assert not wrong, "imports against the layers of ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_no_import_cycle():
    edges = {m: sorted({t for t, _ in imports if t != "harness"}) for m, imports in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_sees_imports_inside_functions(tmp_path):
    """The cycle this test exists for (runner <-> executors) lived in function bodies."""
    source = "def f():\n    from harness.runner import run_grid\n"
    path = tmp_path / "m.py"
    path.write_text(source)
    assert ("harness.runner", 2) in _imports("harness.fake", path)


TORCH_BLOCKED = """
import sys
sys.modules["torch"] = None          # any import of torch now raises ImportError
import harness.report, harness.report.html, harness.report.findings, harness.report.claims
import harness.results, harness.instruments.registry
from harness.instruments.registry import instruments, summary_columns
assert len(instruments()) >= 8, "the built-in instruments did not load"
summary_columns(None, {})
assert "harness.train" not in sys.modules and "harness.runner" not in sys.modules
print("ok")
"""


@pytest.mark.parametrize("code", [TORCH_BLOCKED])
def test_report_and_results_load_without_torch(code):
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
