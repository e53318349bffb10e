"""Where the repository's shipped folders live (the project is installed editable)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
EXPORTED = ROOT / "exported"
DEFAULT_MODELS = EXPORTED / "demo"
DOCS = ROOT / "docs"
