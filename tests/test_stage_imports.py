"""Every name a stage script or the CLI imports from ptbench exists, including imports inside functions
(a stage imports lazily; a renamed function would otherwise surface only when that stage runs)."""
import ast
import importlib

import pytest

from conftest import REPO

SOURCES = sorted((REPO / "stages").glob("*.py")) + [REPO / "src" / "ptbench" / "cli.py"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_ptbench_import_resolves(path):
    missing = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ptbench"):
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{a.name}" for a in node.names
                        if not hasattr(module, a.name) and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
    assert not missing, f"{path.name} imports names that do not exist: {missing}"
