"""Can Qt open its platform plugin here? Checked before a QApplication exists.

Without this, a missing system library makes Qt print several lines (blaming libxcb-cursor
even when libxcb-icccm is what is missing) and abort with exit 134; an unknown
QT_QPA_PLATFORM does the same. ``check_display`` turns both into one UserError line that
names what is missing and the Debian/Ubuntu packages that provide it.

Linux only, and nothing here imports PySide6 (finding its folder does not load Qt).
"""
from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from lprr.engine.errors import UserError

log = logging.getLogger(__name__)

# Library -> the Debian/Ubuntu package that ships it (what PySide6's platform plugins need).
APT_PACKAGES: dict[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
}

# A plugin that links to Qt libraries of its own whose dependencies ldd may not reach
# through the plugin (checked as well; they live in PySide6/Qt/lib).
_EXTRA_QT_LIBS: dict[str, tuple[str, ...]] = {
    "xcb": ("libQt6XcbQpa.so.6",),
    "wayland": ("libQt6WaylandClient.so.6",),
}

# Platforms that talk to a display server, and the variable that says where it is.
_DISPLAY_VARS = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


def platform_candidates(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The platform plugins Qt will try, in order (as Qt 6 picks them on Linux); None when
    there is no display to open."""
    env = os.environ if env is None else env
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        # "xcb:option=value" carries plugin options; "wayland;xcb" is a fallback list.
        names = [part.split(":", 1)[0].strip() for part in chosen.split(";")]
        return [n for n in names if n] or None
    names = []
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland":
        names.append("wayland")
    if env.get("DISPLAY"):
        names.append("xcb")
    elif env.get("WAYLAND_DISPLAY") and not names:
        names.append("wayland")
    return names or None


def qt_dir() -> Path | None:
    """PySide6's bundled Qt folder (plugins/, lib/), found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    return d if d.is_dir() else None


def available_platforms(plugins: Path) -> list[str]:
    """Platform names whose plugin is in ``plugins`` (PySide6/Qt/plugins/platforms)."""
    return sorted(p.name[len("libq"):-len(".so")] for p in plugins.glob("libq*.so"))


def parse_ldd(text: str) -> list[str]:
    """The libraries ldd's output says are "not found", in order, without repeats."""
    missing: list[str] = []
    for line in text.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in missing:
            missing.append(m.group(1))
    return missing


def missing_libraries(path: Path) -> list[str]:
    """Shared libraries ``path`` needs that the dynamic loader cannot find (via ldd).

    Empty when ldd is not there or cannot read the file: the check then leaves the verdict
    to Qt rather than refusing a display that may work."""
    ldd = shutil.which("ldd")
    if ldd is None:
        log.debug("no ldd: not checking %s", path)
        return []
    try:
        r = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20,
                           check=False)
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("ldd %s failed: %s", path, e)
        return []
    return parse_ldd(r.stdout)


def platform_missing(name: str, qt: Path) -> list[str]:
    """What the platform plugin ``name`` (which exists) and its own Qt libraries miss."""
    files = [qt / "plugins" / "platforms" / f"libq{name}.so"]
    files += [qt / "lib" / lib for lib in _EXTRA_QT_LIBS.get(name, ()) if (qt / "lib" / lib).is_file()]
    missing: list[str] = []
    for f in files:
        missing += [lib for lib in missing_libraries(f) if lib not in missing]
    return missing


def apt_packages(libs: Iterable[str]) -> tuple[list[str], list[str]]:
    """(Debian/Ubuntu packages for ``libs``, the libraries with no known package)."""
    packages: list[str] = []
    unknown: list[str] = []
    for lib in libs:
        pkg = APT_PACKAGES.get(lib)
        if pkg is None:
            unknown.append(lib)
        elif pkg not in packages:
            packages.append(pkg)
    return packages, unknown


def missing_message(name: str, missing: list[str]) -> str:
    """One line: what the plugin lacks and the apt line that installs it."""
    packages, unknown = apt_packages(missing)
    fix = []
    if packages:
        fix.append("sudo apt-get install " + " ".join(packages))
    if unknown:  # no package known: the library's own name is the best lead
        fix.append("install the package that provides " + ", ".join(unknown))
    return (f"Qt's {name} platform plugin cannot load: missing {', '.join(missing)}; on "
            f"Debian/Ubuntu: {'; '.join(fix)} (or run with QT_QPA_PLATFORM=offscreen)")


def check_display(env: Mapping[str, str] | None = None) -> str | None:
    """Raise a UserError when Qt could not open its platform plugin; returns the platform
    that will be used (None where nothing was checked: not Linux, or no PySide6)."""
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    names = platform_candidates(env)
    if names is None:
        raise UserError("no display found (DISPLAY is not set): run it on a desktop, under "
                        "xvfb-run, or with QT_QPA_PLATFORM=offscreen")
    qt = qt_dir()
    if qt is None:  # the import in the gui command says what to install
        return None
    plugins = qt / "plugins" / "platforms"
    known = [n for n in names if (plugins / f"libq{n}.so").is_file()]
    if not known:
        which = "', '".join(names)
        raise UserError(f"unknown Qt platform '{which}' (QT_QPA_PLATFORM); available: "
                        f"{', '.join(available_platforms(plugins))}")
    problem: str | None = None
    for name in known:  # Qt falls back along a "a;b" list: one that loads is enough
        var = _DISPLAY_VARS.get(name)
        if var and not env.get(var):
            where = "an X desktop or under xvfb-run" if name == "xcb" else "a Wayland session"
            problem = problem or (f"QT_QPA_PLATFORM={name} but {var} is not set: run it in "
                                  f"{where}, or with QT_QPA_PLATFORM=offscreen")
            continue
        missing = platform_missing(name, qt)
        if not missing:
            return name
        problem = problem or missing_message(name, missing)
    assert problem is not None
    raise UserError(problem)
