"""The package as users get it: a wheel built from the checkout, installed into a new
virtual environment, run from another folder. Its dependencies come from the test
environment (a path file), so the test needs no network and installs nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from support.sample import QUESTION, ROOT, SAMPLE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=out,
    )
    [built] = out.glob("rag_news-*.whl")
    return built


def package_data_in_checkout() -> set[str]:
    """Every file under rag/ that git tracks and that is not Python source."""
    listed = subprocess.run(
        ["git", "ls-files", "rag"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {name for name in listed if not name.endswith(".py")}


def test_the_wheel_holds_every_file_the_package_reads(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(package_data_in_checkout() - names)
    assert not missing, f"the wheel leaves out {missing}: add them to package-data"
    assert "rag/data/e5_calibration.txt" in names


def test_an_installed_wheel_builds_and_answers_from_another_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--quiet",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # the dependencies from the test environment; its editable hook for this checkout is
    # a .pth file there, which a plain path line does not run: rag comes from the wheel
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)

    where = subprocess.run(
        [str(python), "-c", "import rag; print(rag.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
        env=env,
    ).stdout.strip()
    assert Path(where).is_relative_to(site), where

    rag = str(venv / "bin" / "rag")
    version = subprocess.run([rag, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and version.stdout.strip(), version.stderr
    build = subprocess.run(
        [rag, "index", "build", str(SAMPLE), "--index", "idx"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert build.returncode == 0, build.stderr
    ask = subprocess.run(
        [rag, "ask", QUESTION, "--index", "idx", "--json"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert ask.returncode == 0, ask.stderr
    assert '"hits"' in ask.stdout and "COP28" in ask.stdout
    verify = subprocess.run(
        [rag, "index", "verify", "--index", "idx"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
