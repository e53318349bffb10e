"""The layers' arrows (issue 19): the face-geometry core imports none of the methods or the
demo world built on it, and the run-time never imports torch, the app or training code."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path, lazy: bool = True) -> set[str]:
    """The modules a file imports: at any depth (imports inside functions count), or with
    ``lazy=False`` only those run when the module is imported (top level)."""
    out: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in (ast.walk(tree) if lazy else tree.body):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("folder, banned, lazy", [
    ("engine/face", ("lprr.engine.world", "lprr.engine.f2f", "lprr.engine.heuristic",
                     "lprr.engine.retarget", "lprr.engine.neutral", "lprr.app", "lprr.models"),
     True),
    ("engine", ("lprr.app", "lprr.models"), True),
    # the GPU engines import torch when chosen, never when imported
    ("engine", ("torch",), False),
])
def test_no_arrow_to_what_builds_on_a_layer(folder, banned, lazy):
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for mod in _imports(path, lazy):
            if any(mod == b or mod.startswith(b + ".") for b in banned):
                found.append(f"{rel}: {mod}")
    assert not found, found


def test_the_scan_sees_a_banned_import(tmp_path):
    """The check above could fail: a lazy import inside a function is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from lprr.engine.world import rig\n")
    assert "lprr.engine.world" in _imports(bad)
