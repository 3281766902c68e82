"""Derived model files against their recorded checksums (rag.embed.model_files): a file
made before checksums is recorded on first use, a damaged one is reported in one line
and refused, and ``check_model_files`` finds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.checksums import CHECKSUMS_FILE
from rag.embed.model_files import check_model_files, files_intact, record


def test_recorded_damaged_and_unrecorded_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "e5-onnx" / "key"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights" * 1000)
    (folder / "model.xml").write_text("<net/>", "utf-8")

    # made before checksums were kept: recorded as it is, and used
    assert not (folder / CHECKSUMS_FILE).exists()
    assert files_intact(folder, ["model.bin", "model.xml"])
    assert (folder / CHECKSUMS_FILE).is_file()
    assert capsys.readouterr().err == ""

    data = bytearray((folder / "model.bin").read_bytes())
    data[3000] ^= 0xFF
    (folder / "model.bin").write_bytes(bytes(data))
    assert not files_intact(folder, ["model.bin", "model.xml"])
    said = capsys.readouterr().err.strip().splitlines()
    assert said == [
        f"rag: model file {folder / 'model.bin'} is damaged (bytes changed); making it again"
    ]

    [check] = [c for c in check_model_files(tmp_path) if c.what == "model files"]
    assert check.path == str(folder) and check.files == 2
    assert [(p.path, p.problem) for p in check.problems] == [("model.bin", "bytes changed")]

    record(folder, ["model.bin"])  # made again: recorded anew, the other record kept
    assert files_intact(folder, ["model.bin", "model.xml"])
    (folder / "model.xml").unlink()
    assert not files_intact(folder, ["model.bin", "model.xml"])
    assert "model.xml is damaged (missing)" in capsys.readouterr().err


def test_a_missing_file_is_not_intact_and_nothing_is_recorded_for_it(tmp_path: Path) -> None:
    assert not files_intact(tmp_path, ["model.bin"])
    assert not (tmp_path / CHECKSUMS_FILE).exists()
