"""scripts/check_imports.py: the project keeps its import direction and folder sizes, and the checker
catches what breaks them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_imports.py"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_project_keeps_its_import_direction_and_folder_sizes() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def _write(root: Path, path: str, text: str = "") -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def test_the_checker_finds_imports_against_the_direction_and_crowded_folders(tmp_path: Path) -> None:
    _write(tmp_path, "api/app.py", "from mediasight.bootstrap import Services\n")
    _write(tmp_path, "services/ingest.py", "def f():\n    import boto3\n")  # lazy imports count too
    _write(tmp_path, "services/faces.py", "from catalog.sqlite.faces import SqliteFaceCollection\n")
    _write(tmp_path, "catalog/domain/model.py", "from catalog.domain.ids import uuid7\n")  # fine
    _write(
        tmp_path, "catalog/domain/ports.py", "from typing import TYPE_CHECKING\nimport catalog.sqlite.db\n"
    )
    _write(tmp_path, "catalog/dynamodb/faces.py", "from catalog.sqlite import db\n")
    _write(tmp_path, "catalog/sqlite/faces.py", "from catalog.domain import ports\n")  # fine
    _write(tmp_path, "indexer/recognizers/local/labels.py", "from services.ingest import Ingestor\n")
    for i in range(26):
        _write(tmp_path, f"indexer/m{i}.py")
    found = _checker().violations(tmp_path)
    assert [line.split(":")[0] for line in found] == [
        "catalog/domain/ports.py",
        "catalog/dynamodb/faces.py",
        "services/faces.py",
        "services/ingest.py",
        "indexer/recognizers/local/labels.py",
        "api/app.py",
        "indexer/",
    ], found
    assert "catalog/dynamodb/faces.py:1: catalog.dynamodb.faces imports catalog.sqlite" in found[1]
