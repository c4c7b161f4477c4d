"""The layers of docs/architecture.md hold: import-linter's contracts in pyproject.toml pass, and an
upward import (even one inside a function) breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", command, "--no-cache"],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _add(module: Path, body: str) -> None:
    module.write_text(module.read_text() + "\n\ndef _sneaky():\n" + body)


def test_the_layer_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "body", "complaint"),
    [
        # an upward import, inside a function
        ("store/files.py", "    from matcher.search import Matcher\n\n    return Matcher\n",
         "matcher.store.files -> matcher.search"),
        # an import between independent siblings
        ("index/bm25.py", "    from matcher.embed import embedders\n\n    return embedders\n",
         "matcher.index is not allowed to import matcher.embed"),
    ],
)  # fmt: skip
def test_a_wrong_import_breaks_the_contracts(tmp_path, module, body, complaint):
    shutil.copytree(ROOT / "matcher", tmp_path / "matcher", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    _add(tmp_path / "matcher" / module, body)
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert complaint in result.stdout
