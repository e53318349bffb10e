"""lprr: real-time facial retargeting (the one import package).

Its subpackages are ``lprr.app`` (CLI and GUI), ``lprr.engine`` (the run-time) and
``lprr.models`` (training). In the source tree they are the folders ``app/``, ``engine/`` and
``models/`` at the top of the repository, beside this one (the layout fixes them there); a
wheel installs them inside this package, with ``assets/`` and ``exported/`` as package data.
"""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
if not (_HERE / "engine").is_dir():  # the source tree: find app/, engine/, models/ beside us
    __path__.append(str(_HERE.parent))
