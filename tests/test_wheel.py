"""The wheel works when installed (issue 19, item 5): one import package, ``lprr``, with the
demo assets and the shipped models inside it, found through the package from any folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("pyproject.toml", "README.md", "lprr", "app", "engine", "models", "assets", "exported")


@pytest.mark.slow
def test_wheel_installs_one_package_and_runs_the_demo_from_another_folder(tmp_path):
    # Built from a copy of what the wheel is made of: an in-tree build's build/ folder could
    # carry files the tree no longer has.
    src = tmp_path / "src"
    src.mkdir()
    for name in PARTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(wheels), str(src)], capture_output=True, text=True, check=False,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("lprr-*.whl")
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert "lprr" in tops and not tops & {"app", "engine", "models", "assets", "exported"}, tops
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                        str(site), str(wheel)], capture_output=True, text=True, check=False,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The installed package first on the path, the source tree nowhere on it.
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    code = ("import sys, lprr; print(lprr.__file__); from lprr.app.cli import main; "
            "sys.exit(main(['demo', '--no-preview', '--out', 'out']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=elsewhere, env=env, check=False, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(str(site))
    rows = (elsewhere / "out" / "weights.csv").read_text().splitlines()
    assert len(rows) == 301  # a header and the demo clip's 300 frames
