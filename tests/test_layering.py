"""checker/'s subsystems import one way (ARCHITECTURE Decision 9, docs/architecture.md).

Every import of `pgcheck.checker.X` inside checker/ is parsed (module level and inside
functions) and must point to a lower layer or stay inside its own subsystem. A wrong arrow
fails here with the file, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHECKER = Path(__file__).resolve().parent.parent / "checker"

# Lower numbers are lower layers; a subsystem may import its own layer's package only
# when it is itself (explicit may not import symbolic, for example).
LAYERS: dict[str, int] = {
    "errors": 0,
    "memory": 0,
    "input": 1,
    "output": 1,
    "printable": 1,
    "lang": 2,
    "examples": 3,
    "explicit": 3,
    "liveness": 4,
    "symbolic": 4,
    "export": 4,
    "traces": 5,
    "run": 6,
    "review": 7,
}


def subsystem_of(module: str) -> str | None:
    """`pgcheck.checker.lang.spec` -> `lang`; None for modules outside checker."""
    parts = module.split(".")
    if parts[:2] != ["pgcheck", "checker"] or len(parts) < 3:
        return None
    return parts[2]


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pgcheck.checker":
                found.extend((node.lineno, f"pgcheck.checker.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, node.module))
    return found


def wrong_arrows(root: Path) -> list[str]:
    """Every import in `root` (a checker/ tree) that points up or sideways."""
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        if own not in LAYERS:
            problems.append(f"{rel}: subsystem {own!r} has no layer in tests/test_layering.py")
            continue
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            target = subsystem_of(module)
            if target is None or target == own:
                continue
            if target not in LAYERS:
                problems.append(f"{rel}:{line}: imports {module}, a subsystem with no layer")
            elif LAYERS[target] >= LAYERS[own]:
                problems.append(
                    f"{rel}:{line}: {own} (layer {LAYERS[own]}) imports {module} "
                    f"({target}, layer {LAYERS[target]}): arrows point to lower layers only"
                )
    return problems


def test_checker_imports_point_down() -> None:
    assert wrong_arrows(CHECKER) == []


def test_every_subpackage_says_what_it_is() -> None:
    for init in CHECKER.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 60, f"{init.relative_to(CHECKER)} needs a docstring: what, entry points, imports"


def test_checker_top_level_is_small() -> None:
    loose = [p.name for p in CHECKER.iterdir() if p.is_file() and p.suffix == ".py"]
    assert len(loose) <= 8, loose


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("lang/bad.py", "from pgcheck.checker.explicit.explore import Explorer\n"),
        ("explicit/bad.py", "def f() -> None:\n    from pgcheck.checker.traces import itf\n"),
        ("symbolic/bad.py", "from pgcheck.checker import review\n"),
        ("explicit/bad.py", "import pgcheck.checker.symbolic.encode\n"),
    ],
)
def test_a_wrong_arrow_is_caught(tmp_path: Path, where: str, source: str) -> None:
    """The check can fail: a copy of checker/ with one upward import is refused."""
    target = tmp_path / where
    target.parent.mkdir(parents=True)
    target.write_text(source)
    problems = wrong_arrows(tmp_path)
    assert len(problems) == 1 and where in problems[0] and "lower layers only" in problems[0]
