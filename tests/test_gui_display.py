"""``lprr gui`` checks Qt's platform plugin before Qt starts (app/gui/display.py): real
plugins, real ldd, real subprocesses."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from lprr.app.gui import display

ROOT = Path(__file__).resolve().parents[1]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux-only check")
needs_ldd = pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd")


def _gui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "lprr.app.cli", "gui", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@linux
def test_unknown_platform_is_one_line_and_exit_2():
    r = _gui({"QT_QPA_PLATFORM": "nosuchplatform"})
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1, r.stderr
    assert "nosuchplatform" in lines[0] and "offscreen" in lines[0] and "xcb" in lines[0]
    assert "Qt platform plugin" not in r.stderr  # Qt's own text never appeared


@linux
def test_platform_candidates_follow_qt():
    assert display.platform_candidates({"QT_QPA_PLATFORM": "offscreen"}) == ["offscreen"]
    assert display.platform_candidates({"QT_QPA_PLATFORM": "xcb:dpi=96"}) == ["xcb"]
    assert display.platform_candidates({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert display.platform_candidates({"DISPLAY": ":1"}) == ["xcb"]
    assert display.platform_candidates({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0",
                                        "XDG_SESSION_TYPE": "wayland"}) == ["wayland", "xcb"]
    assert display.platform_candidates({}) is None


@linux
@needs_ldd
def test_offscreen_plugin_misses_nothing():
    qt = display.qt_dir()
    plugin = qt / "plugins" / "platforms" / "libqoffscreen.so"
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False).stdout
    assert "libQt6Core.so.6 =>" in out  # real ldd output, with resolved lines
    assert display.parse_ldd(out) == []
    assert display.missing_libraries(plugin) == []
    assert "offscreen" in display.available_platforms(plugin.parent)
    assert display.check_display({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"


def test_packages_for_libraries():
    pkgs, unknown = display.apt_packages(["libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                                          "libEGL.so.1", "libfoo.so.3", "libxcb-icccm.so.4"])
    assert pkgs == ["libxcb-icccm4", "libxcb-keysyms1", "libegl1"]
    assert unknown == ["libfoo.so.3"]
    msg = display.missing_message("xcb", ["libxcb-icccm.so.4", "libfoo.so.3"])
    assert "\n" not in msg
    assert "apt-get install libxcb-icccm4" in msg and "provides libfoo.so.3" in msg


@linux
@needs_ldd
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_ldd_not_found_lines_from_a_real_library(tmp_path):
    """A real shared object linked to two libraries that are then deleted: what ldd says
    about it is what a machine without libxcb-icccm4 shows for Qt's xcb plugin."""
    known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                           check=False).stdout
    # One with a known package where this machine lacks one (ldd resolves installed ones).
    mapped = [lib for lib in display.APT_PACKAGES if lib not in known][:1]
    libs = [*mapped, "libnopackage.so.7", "liblprrabsent.so.1"]
    src = tmp_path / "x.c"
    src.write_text("int f(void) { return 1; }\n")
    for soname in libs:
        subprocess.run(["cc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o",
                        str(tmp_path / soname), str(src)], check=True)
    plugin = tmp_path / "libqfake.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-Wl,--no-as-needed", "-o", str(plugin), str(src),
                    *(str(tmp_path / soname) for soname in libs)], check=True)
    for soname in libs:
        (tmp_path / soname).unlink()
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False).stdout
    assert display.parse_ldd(out) == libs
    assert display.missing_libraries(plugin) == libs
    assert display.apt_packages(libs) == ([display.APT_PACKAGES[m] for m in mapped],
                                          ["libnopackage.so.7", "liblprrabsent.so.1"])


def _can_hide_libraries() -> bool:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0


@needs_ldd
@pytest.mark.skipif(not _can_hide_libraries(), reason="needs root and mount namespaces")
def test_missing_xcb_libraries_named_with_their_packages(tmp_path):
    """The machine's library folder without libxcb-icccm and libxcb-keysyms, seen only by one
    process (a private mount namespace over a hard-linked copy): `lprr gui` names both and
    the apt packages, in one line, where Qt would abort."""
    libdir = Path("/usr/lib/x86_64-linux-gnu")
    qxcb = display.qt_dir() / "plugins" / "platforms" / "libqxcb.so"
    if not libdir.is_dir() or not any(libdir.glob("libxcb-icccm.so*")):
        pytest.skip("libxcb-icccm is not installed here to hide")
    if display.missing_libraries(qxcb):
        pytest.skip("the xcb plugin already misses libraries here")
    copy = tmp_path / "lib"
    if subprocess.run(["cp", "-al", str(libdir), str(copy)], capture_output=True,
                      check=False).returncode:
        pytest.skip("cannot hard-link the library folder (another filesystem)")
    for pattern in ("libxcb-icccm.so*", "libxcb-keysyms.so*"):
        for f in copy.glob(pattern):
            f.unlink()  # only this link: the machine's file stays
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPLAY": ":99"}
    env.pop("QT_QPA_PLATFORM", None)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f"mount --bind {copy} {libdir} && exec {sys.executable} -m lprr.app.cli gui"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1, r.stderr
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in lines[0]
    assert "apt-get install libxcb-icccm4 libxcb-keysyms1" in lines[0]
