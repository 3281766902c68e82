"""The layer contract (pyproject.toml [tool.importlinter], ARCHITECTURE.md) holds, and
it really fails when a surface reaches into the library's internals."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.sample import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layer_contract_is_kept():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 kept, 0 broken" in run.stdout


def copy_project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    target.mkdir()
    shutil.copy(ROOT / "pyproject.toml", target)
    shutil.copytree(ROOT / "rag", target / "rag", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_a_surface_importing_retrieval_internals_breaks_it(tmp_path):
    project = copy_project(tmp_path)
    cli = project / "rag" / "cli" / "commands.py"
    cli.write_text(cli.read_text(encoding="utf-8") + "\nfrom rag.search.retrieve import rank\n")
    run = lint_imports(project)
    assert run.returncode == 1
    assert "rag.cli.commands -> rag.search.retrieve" in run.stdout


def test_storage_importing_ingest_breaks_it(tmp_path):
    project = copy_project(tmp_path)
    store = project / "rag" / "index" / "store.py"
    store.write_text(store.read_text(encoding="utf-8") + "\nimport rag.ingest.discover\n")
    run = lint_imports(project)
    assert run.returncode == 1
    assert "rag.index is not allowed to import rag.ingest" in run.stdout


def test_the_local_backend_importing_milvus_breaks_it(tmp_path):
    project = copy_project(tmp_path)
    reader = project / "rag" / "index" / "local" / "reader.py"
    reader.write_text(reader.read_text(encoding="utf-8") + "\nimport rag.index.milvus.client\n")
    run = lint_imports(project)
    assert run.returncode == 1
    assert "rag.index.local.reader -> rag.index.milvus.client" in run.stdout
