"""Run mypy over the pgcheck namespace.

The root folders (checker/, model/, specs/, reference/) install as pgcheck.checker,
pgcheck.model, ...; mypy cannot follow an editable install's import hook, so we
lay the same namespace out as symlinks in .typecheck/ and check that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = {"checker": "checker", "model": "model", "specs": "specs", "reference": "reference"}


def build_tree() -> Path:
    tree = ROOT / ".typecheck"
    if tree.exists():
        shutil.rmtree(tree)
    pkg = tree / "pgcheck"
    pkg.mkdir(parents=True)
    for entry in (ROOT / "pgcheck").iterdir():
        if entry.name != "__pycache__":
            os.symlink(entry, pkg / entry.name)
    for name, folder in NAMESPACE.items():
        os.symlink(ROOT / folder, pkg / name)
    return tree


def main() -> int:
    tree = build_tree()
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "pgcheck"]
    return subprocess.call(cmd, cwd=tree, env={**os.environ, "MYPYPATH": str(tree)})


if __name__ == "__main__":
    raise SystemExit(main())
