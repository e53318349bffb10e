"""Small per-install settings in the user's config folder (``~/.config/lprr/`` on Linux).

The folder is ``$LPRR_CONFIG_DIR`` if set, else ``%APPDATA%\\lprr`` on Windows,
``~/Library/Application Support/lprr`` on macOS, else ``$XDG_CONFIG_HOME/lprr`` or
``~/.config/lprr``.

``livelink_device_id``: the Live Link Face device id, a 36-character UUID made once per install
and kept in ``livelink_device_id`` (one line; edit it to choose another), as the iPhone app has
one per phone. Unreal and its libraries tell sources apart by it.
"""
from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

DEVICE_ID_FILE = "livelink_device_id"


def config_dir() -> Path:
    env = os.environ.get("LPRR_CONFIG_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "lprr"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "lprr"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lprr"


def cache_dir() -> Path:
    """Where lprr keeps what it can recompute (extracted patches, personalisation runs):
    ``$LPRR_CACHE_DIR``, else ``%LOCALAPPDATA%\\lprr\\cache`` on Windows,
    ``~/Library/Caches/lprr`` on macOS, else ``$XDG_CACHE_HOME/lprr`` or ``~/.cache/lprr``.
    Never beside the user's own files."""
    env = os.environ.get("LPRR_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "lprr" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "lprr"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lprr"


def file_key(path: str | Path) -> str:
    """A short key for a user's file that changes when the file does (its resolved path,
    size and modification time)."""
    import hashlib

    p = Path(path).resolve()
    st = p.stat()
    return hashlib.sha256(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def is_uuid(text: str) -> bool:
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def livelink_device_id() -> str:
    """This install's device id: read from the config folder, made (and saved) the first time.

    A file that holds no valid UUID is replaced (with a warning); a folder that cannot be
    written gives an id for this run only (with a warning), never an error.
    """
    path = config_dir() / DEVICE_ID_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = None
    except OSError as e:
        log.warning("cannot read %s (%s); making a new Live Link device id", path, e)
        text = None
    if text is not None:
        if is_uuid(text):
            return text.upper()
        log.warning("%s does not hold a 36-character UUID (%r); making a new one", path, text)
    new = str(uuid.uuid4()).upper()  # the iPhone app's ids are upper-case UUIDs
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new + "\n", encoding="utf-8")
    except OSError as e:
        log.warning("cannot save the Live Link device id to %s (%s); it holds for this run "
                    "only", path, e)
    return new
