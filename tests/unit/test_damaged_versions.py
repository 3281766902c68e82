"""Every file of an index version damaged four ways (truncated, bytes flipped in the
middle, emptied, deleted): ``rag ask``, ``rag index stats``, ``rag index update``,
``rag index verify`` and the HTTP API each give one line (a 503 from the server), never a
traceback, and never exit 0 with results other than the undamaged index's."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.cli import one_line_error
from typer.testing import CliRunner

from rag.cli import app
from rag.config import Settings
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.records import BuildReport
from rag.web.app import create_app

QUESTION = "中美气候合作"


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip(path: Path) -> None:
    """64 bytes in the middle of the file inverted (all of a smaller file)."""
    data = bytearray(path.read_bytes())
    start = max(0, len(data) // 2 - 32)
    for i in range(start, min(len(data), start + 64)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def delete(path: Path) -> None:
    path.unlink()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated": truncate,
    "flipped": flip,
    "emptied": empty,
    "deleted": delete,
}


def version_files(index_dir: Path) -> list[str]:
    version = current_version_dir(index_dir)
    return [MANIFEST, *IndexManifest.from_file(version / MANIFEST).files]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def ranking(stdout: str) -> list[tuple[str, float]]:
    return [(h["chunk_id"], round(h["score"], 5)) for h in json.loads(stdout)["hits"]]


@pytest.fixture(scope="module")
def undamaged(hash_index: tuple[Settings, BuildReport]) -> dict[str, object]:
    index = str(hash_index[0].index_dir)
    code, ask, _ = run("ask", QUESTION, "--index", index, "--json", "--passages-only")
    assert code == 0
    code, stats, _ = run("index", "stats", "--index", index, "--json")
    assert code == 0
    return {"ranking": ranking(ask), "stats": json.loads(stats)}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_damaged_file_is_one_line_or_the_same_results(
    hash_index: tuple[Settings, BuildReport],
    undamaged: dict[str, object],
    tmp_path: Path,
    damage: str,
) -> None:
    source = hash_index[0].index_dir
    names = version_files(source)
    assert {"dense.faiss", "meta.sqlite", "bm25/vocab.sqlite"} <= set(names)
    for name in names:
        copy = tmp_path / name.replace("/", "_") / "index"
        shutil.copytree(source, copy)
        DAMAGES[damage](current_version_dir(copy) / name)
        where = f"{damage} {name}"

        code, stdout, stderr = run(
            "ask", QUESTION, "--index", str(copy), "--json", "--passages-only"
        )
        if code == 0:  # only a harmless change may go unnoticed: the same results
            assert ranking(stdout) == undamaged["ranking"], where
        else:
            assert code == 1 and ("damaged" in stderr or "rebuild" in stderr), (where, stderr)
            assert len(stderr.strip().splitlines()) == 1, (where, stderr)

        code, stdout, stderr = run("index", "stats", "--index", str(copy), "--json")
        if code == 0:
            stats = json.loads(stdout)
            expected = dict(undamaged["stats"])  # type: ignore[call-overload]
            for key in ("index", "bytes_index", "bytes_cache", "version", "built_at"):
                stats.pop(key), expected.pop(key)
            assert stats == expected, where
        else:
            assert code == 1 and len(stderr.strip().splitlines()) == 1, (where, stderr)

        with TestClient(
            create_app(hash_index[0].with_overrides("test", index_dir=copy)),
            base_url="http://127.0.0.1",
        ) as client:
            response = client.get("/api/search", params={"q": QUESTION})
        if response.status_code == 200:
            got = [(h["chunk_id"], round(h["score"], 5)) for h in response.json()["hits"]]
            assert got == undamaged["ranking"], where
        else:
            assert response.status_code == 503, (where, response.text)
            assert set(response.json()) >= {"error"}, where

        code, _, stderr = run("index", "verify", "--index", str(copy))
        if name != MANIFEST or damage != "flipped":
            assert code == 1, where

        before = current_version_dir(copy).name
        code, _, stderr = run("index", "update", "--index", str(copy))
        if code != 0:
            assert code == 1 and one_line_error_text(stderr), (where, stderr)
            assert current_version_dir(copy).name == before, where  # nothing published


def one_line_error_text(stderr: str) -> bool:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ")


def test_a_flipped_vector_is_found_by_the_check_and_skipped_only_when_asked(
    hash_index: tuple[Settings, BuildReport], undamaged: dict[str, object], tmp_path: Path
) -> None:
    """The issue's case: bytes flipped in the middle of dense.faiss. With the check on
    (the default) every command refuses the version; with ``index_check = "off"`` the
    user chose to read it unchecked."""
    copy = tmp_path / "index"
    shutil.copytree(hash_index[0].index_dir, copy)
    flip(current_version_dir(copy) / "dense.faiss")
    code, _, stderr = run("ask", QUESTION, "--index", str(copy))
    assert code == 1
    line = one_line_error(CliRunner().invoke(app, ["ask", QUESTION, "--index", str(copy)]))
    assert "dense.faiss: bytes changed" in line and "rebuild" in line
    code, stdout, stderr = run("index", "verify", "--index", str(copy), "--json")
    assert code == 1
    report = json.loads(stdout)
    assert report["ok"] is False
    damaged = [c for c in report["checks"] if c["problems"]]
    assert [c["what"] for c in damaged] == ["index version"]
    assert damaged[0]["problems"] == [{"path": "dense.faiss", "problem": "bytes changed"}]
    code, _, stderr = run("index", "update", "--index", str(copy))
    assert code == 1 and "an update copies from it" in stderr


def test_verify_reads_every_file_of_an_intact_index(
    hash_index: tuple[Settings, BuildReport],
) -> None:
    code, stdout, _ = run("index", "verify", "--index", str(hash_index[0].index_dir), "--json")
    assert code == 0, stdout
    report = json.loads(stdout)
    version = next(c for c in report["checks"] if c["what"] == "index version")
    names = version_files(hash_index[0].index_dir)
    assert version["files"] == len(names) and version["recorded"] and not version["problems"]
    total = sum(
        (current_version_dir(hash_index[0].index_dir) / n).stat().st_size for n in names[1:]
    )
    assert version["bytes"] == total
