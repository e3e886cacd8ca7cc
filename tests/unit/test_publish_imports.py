"""cptbench.publish has no import cycle, not even one behind a function-local import."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import cptbench.publish

PUBLISH = Path(cptbench.publish.__file__).parent


def publish_imports(path: Path) -> set[str]:
    """The publish modules ``path`` imports anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name.split(".")[2] for name in names if name.startswith("cptbench.publish.")}
    return found


def test_publish_modules_import_each_other_without_a_cycle():
    graph = {path.stem: publish_imports(path) - {path.stem} for path in PUBLISH.glob("*.py")}
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert order.index("format") < order.index("report") < order.index("leaderboard")
