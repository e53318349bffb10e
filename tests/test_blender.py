"""The Blender round trip, in a real Blender (3.4 from Debian's packages) run headless.

- lprr's real sinks send known weights over OSC (native and VMC) to the receiver add-on inside
  Blender, which reads the shape-key values back (and the keyframes it recorded).
- The render script renders a take of the demo character, which lprr loads and APEM cuts.

The Blender tests skip when no ``blender`` binary is found (``$LPRR_BLENDER`` or PATH); the
socket side, the weight sampler and the add-on install run everywhere.
"""
from __future__ import annotations

import importlib.util
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lprr.app.commands import blender as bl
from lprr.engine.controls import CONTROL_NAMES, EXCLUSIVE
from lprr.engine.sinks import create_sink

BLENDER = bl.find_blender()
needs_blender = pytest.mark.skipif(
    BLENDER is None, reason="no blender binary (apt-get install blender, or set LPRR_BLENDER)")
SCRIPTS = bl.BLENDER_SCRIPTS


def _load(name: str, path: Path):
    """Import a Blender-side module that needs no bpy, straight from its file."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


osc_receiver = _load("lprr_test_osc_receiver", SCRIPTS / "lprr_receiver" / "osc_receiver.py")
weight_sampler = _load("lprr_test_weight_sampler", SCRIPTS / "weight_sampler.py")


# ----------------------------------------------------------------- no Blender needed
def _wait(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.002)
    return False


def test_receiver_socket_side_parses_native_and_vmc():
    """The add-on's socket thread, outside Blender: both of lprr's formats, on one port."""
    rx = osc_receiver.OscReceiver("127.0.0.1", 0)
    try:
        rng = np.random.default_rng(1)
        names = list(CONTROL_NAMES)
        for proto in ("native", "vmc"):
            sink = create_sink(proto, f"127.0.0.1:{rx.port}")
            sent = rng.uniform(0, 1, (5, len(names))).astype(np.float32)
            for k, w in enumerate(sent):
                sink.send(w, names, t=10.0 + k / 30, frame_index=k)
            assert _wait(lambda: rx.pending() >= 5), proto
            frames = rx.take(all_frames=True)
            sink.close()
            assert [f.protocol for f in frames] == [proto] * 5
            got = np.array([[f.values[n] for n in names] for f in frames])
            np.testing.assert_allclose(got, sent, atol=1e-6)
            if proto == "native":
                assert [f.index for f in frames] == list(range(5))
                assert frames[2].time == pytest.approx(2 / 30, abs=1e-5)
        assert rx.stats.bad == 0 and rx.stats.dropped == 0
    finally:
        rx.stop()
    assert not rx.running


def test_receiver_socket_side_time_tags_64k_and_livelink():
    """Outside Blender: a bundle tagged in the future is handled at once, a 62 KB datagram
    whole, and Live Link Face packets become frames (slots named as lprr's encoder names them)."""
    from pythonosc.osc_bundle_builder import OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    from lprr.engine.sinks.livelink import EAR_BLENDSHAPES

    assert osc_receiver.LIVELINK_SLOTS == EAR_BLENDSHAPES  # the add-on's copy of the order
    rx = osc_receiver.OscReceiver("127.0.0.1", 0)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        b = OscBundleBuilder(time.time() + 5.0)  # five seconds ahead
        for k in range(1400):  # 1400 Vals of 44 bytes: about 62 KB, near the UDP maximum
            m = OscMessageBuilder("/VMC/Ext/Blend/Val")
            m.add_arg(f"shape{k:04d}", "s")
            m.add_arg(k / 1000, "f")
            b.add_content(m.build())
        b.add_content(OscMessageBuilder("/VMC/Ext/Blend/Apply").build())
        big = b.build().dgram
        assert 60000 < len(big) <= 65507
        t0 = time.monotonic()
        tx.sendto(big, ("127.0.0.1", rx.port))
        assert _wait(lambda: rx.pending() >= 1, 2.0)
        assert time.monotonic() - t0 < 0.5
        (f,) = rx.take()
        assert len(f.values) == 1400 and f.values["shape1399"] == pytest.approx(1.399)

        sink = create_sink("livelink", f"127.0.0.1:{rx.port}", subject="S1", fps=30)
        w = np.random.default_rng(4).uniform(0, 1, len(CONTROL_NAMES)).astype(np.float32)
        for k in range(3):
            sink.send(w, CONTROL_NAMES, t=2.0 + k / 30, frame_index=k)
        sink.close()
        assert _wait(lambda: rx.pending() >= 3)
        frames = rx.take(all_frames=True)
        assert [fr.protocol for fr in frames] == ["livelink"] * 3
        assert [fr.index for fr in frames] == [60, 61, 62] and frames[0].subject == "S1"
        assert frames[1].time == pytest.approx(61 / 30)
        got = np.array([frames[-1].values[n] for n in CONTROL_NAMES])
        np.testing.assert_allclose(got, w, atol=1e-6)
        assert len(frames[-1].values) == 52  # the shapes; head and eye rotations are not keys
        tx.sendto(b"\x06garbage", ("127.0.0.1", rx.port))
        assert _wait(lambda: rx.stats.bad == 1) and rx.running  # counted, thread carries on
        assert rx.stats.largest == len(big)
    finally:
        tx.close()
        rx.stop()


def test_receiver_reports_a_busy_port():
    rx = osc_receiver.OscReceiver("127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match="cannot listen"):
            osc_receiver.OscReceiver("127.0.0.1", rx.port)
    finally:
        rx.stop()


def test_weight_sampler_rom_then_natural():
    names = list(CONTROL_NAMES)
    rows = weight_sampler.sample(names, 400, fps=30, seed=3, rom_share=0.25)
    w = np.array(rows)
    assert w.shape == (400, len(names))
    assert w.min() >= 0 and w.max() <= 1
    rom = w[:100]
    assert (np.count_nonzero(rom, axis=1) == 1).all()  # ROM: one key at a time
    assert np.isclose(rom.max(axis=0), 1.0).sum() == 20  # 100 frames / 5 per key
    nat = w[100:]
    idx = {n: i for i, n in enumerate(names)}
    for a, b in EXCLUSIVE:
        assert (np.minimum(nat[:, idx[a]], nat[:, idx[b]]) == 0).all(), (a, b)
    active = (nat > 0.05).sum(1)
    assert 1.0 < active.mean() < 10.0
    slow = [i for i, n in enumerate(names) if "Blink" not in n]  # blinks are fast on purpose
    assert np.abs(np.diff(nat[:, slow], axis=0)).max() < 0.55  # smooth trajectories
    assert rows == weight_sampler.sample(names, 400, fps=30, seed=3, rom_share=0.25)
    assert rows != weight_sampler.sample(names, 400, fps=30, seed=4, rom_share=0.25)
    assert str(-0.0) not in {str(v) for r in rows for v in r}  # no "-0.000000" in the CSV


def test_install_addon_vendors_python_osc(tmp_path):
    dest = bl.install_addon(tmp_path / "addons")
    assert (dest / "__init__.py").is_file() and (dest / "osc_receiver.py").is_file()
    assert (dest / "_vendor" / "pythonosc" / "osc_server.py").is_file()
    assert not list(dest.rglob("__pycache__"))
    z = bl.build_addon_zip(tmp_path / "lprr_receiver.zip")
    with zipfile.ZipFile(z) as f:
        names = f.namelist()
    assert "lprr_receiver/__init__.py" in names
    assert "lprr_receiver/_vendor/pythonosc/dispatcher.py" in names
    assert not any("/test/" in n for n in names)


# ----------------------------------------------------------------- Blender, receiver
DRIVER = r'''
import json, sys, threading, queue, time
import bpy

argv = sys.argv[sys.argv.index("--") + 1:]
addons, scripts, obj_dir = argv[:3]
sys.path.insert(0, addons)  # the installed add-on (with python-osc vendored) ...
sys.path.append(scripts)  # ... and demo_character.py from the source tree
import lprr_receiver
import demo_character

lprr_receiver.register()
demo_character.clear_scene()
obj = demo_character.import_character(obj_dir)
port = lprr_receiver.start(port=0, object_name=obj.name)
print("PYTHONOSC", __import__("pythonosc").__file__, flush=True)
print("READY", port, flush=True)

cmds = queue.Queue()
threading.Thread(target=lambda: [cmds.put(l.strip()) for l in sys.stdin], daemon=True).start()
settings = bpy.context.scene.lprr_receiver
blocks = obj.data.shape_keys.key_blocks
applied = 0
end = time.monotonic() + 120
while time.monotonic() < end:
    lprr_receiver.pump()  # what the timer runs; no timer fires under blender -b
    st = lprr_receiver.status()
    if st["applied"] != applied:
        applied = st["applied"]
        print("APPLIED", json.dumps({kb.name: kb.value for kb in blocks[1:]}), flush=True)
    try:
        cmd = cmds.get_nowait()
    except queue.Empty:
        time.sleep(0.001)
        continue
    if cmd.startswith("record"):
        settings.record = cmd.endswith("1")
        print("OK", cmd, flush=True)
    elif cmd.startswith("rename"):
        settings.rename = cmd[len("rename"):].strip()  # the panel's Rename field
        print("OK rename", flush=True)
    elif cmd == "keys":
        act = obj.data.shape_keys.animation_data.action
        keys = {fc.data_path: [[p.co[0], p.co[1]] for p in fc.keyframe_points]
                for fc in act.fcurves}
        print("KEYS", json.dumps(keys), flush=True)
    elif cmd == "status":
        print("STATUS", json.dumps(st), flush=True)
    elif cmd == "quit":
        break
lprr_receiver.unregister()
print("BYE", flush=True)
'''


class BlenderProcess:
    """A Blender child with line-based stdout reading (with timeouts) and stdin commands."""

    def __init__(self, cmd: list[str], env: dict | None = None, stdin: bool = True):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, env=env,
                                     start_new_session=True)  # one group: xvfb-run's too
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def expect(self, prefix: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            try:
                line = self._q.get(timeout=max(left, 0.001))
            except queue.Empty:
                line = ""
            if line is None or left <= 0:
                tail = "\n".join(self.lines[-25:])
                raise AssertionError(f"Blender did not print {prefix!r}; its output:\n{tail}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def send(self, cmd: str) -> None:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """Make sure the child and its own children are gone (used in ``finally``)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.close()

    def close(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._t.join(timeout=2)
        return self.proc.returncode


@pytest.fixture(scope="module")
def blender_files(tmp_path_factory):
    """The add-on installed (python-osc vendored, as a user gets it) and the demo character."""
    root = tmp_path_factory.mktemp("blender")
    bl.install_addon(root / "addons")
    bl.export_demo_character(root / "character")
    return root


def _script(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def _env_without_venv() -> dict[str, str]:
    """The environment a user's Blender has: no PYTHONPATH and no activated venv (an
    activated venv's site-packages would otherwise shadow the vendored python-osc)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venv = os.environ.get("VIRTUAL_ENV") or sys.prefix
    env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep)
                                  if d and not d.startswith(str(venv)))
    return env


@needs_blender
@pytest.mark.slow
def test_receiver_in_blender_native_and_vmc(blender_files, tmp_path):
    driver = _script(tmp_path, "driver.py", DRIVER)
    cmd = [BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
           str(driver), "--", str(blender_files / "addons"), str(SCRIPTS),
           str(blender_files / "character")]
    env = _env_without_venv()  # vendored copy only
    bp = BlenderProcess(cmd, env=env)
    try:
        assert "_vendor" in bp.expect("PYTHONOSC", 60)
        port = int(bp.expect("READY", 60))
        names = [*CONTROL_NAMES, "hatTilt"]  # a name the demo character has no key for
        rng = np.random.default_rng(7)
        seqs = {p: rng.uniform(0, 1, (12, len(names))).astype(np.float32)
                for p in ("native", "vmc")}

        bp.send("record 1")  # keyframe the native take
        bp.expect("OK record 1")
        for proto in ("native", "vmc"):
            sink = create_sink(proto, f"127.0.0.1:{port}")
            for k, w in enumerate(seqs[proto]):
                sink.send(w, names, t=k / 24.0, frame_index=k)  # 24 fps: the scene's rate
                got = json.loads(bp.expect("APPLIED", 10))
                assert "hatTilt" not in got
                back = np.array([got[n] for n in CONTROL_NAMES])
                err = np.abs(back - w[: len(CONTROL_NAMES)]).max()
                assert err < 1e-4, (proto, k, err)
            sink.close()
            if proto == "native":
                bp.send("record 0")
                bp.expect("OK record 0")

        bp.send("keys")
        keys = json.loads(bp.expect("KEYS", 10))
        assert len(keys) == len(CONTROL_NAMES)
        for j, n in enumerate(CONTROL_NAMES):
            pts = np.array(keys[f'key_blocks["{n}"].value'])
            np.testing.assert_array_equal(pts[:, 0], np.arange(1, 13))  # from frame 1, one a frame
            np.testing.assert_allclose(pts[:, 1], seqs["native"][:, j], atol=1e-4)

        bp.send("status")
        st = json.loads(bp.expect("STATUS", 10))
        assert st["missing"] == ["hatTilt"]
        assert st["frames"] == 24 and st["dropped"] == 0 and st["keyed"] == 12
        bp.send("quit")
        bp.expect("BYE", 20)
        assert bp.close() == 0
        reports = [ln for ln in bp.lines if "no shape key for 'hatTilt'" in ln]
        assert len(reports) == 1, reports  # once, not per frame
    finally:
        bp.kill()


def _vmcp_sender():
    """A VMC sender nobody on this project wrote: vmcp (on osc4py3), in its event-loop mode."""
    from vmcp.osc import OSC
    from vmcp.osc.backend.osc4py3 import as_eventloop

    return OSC(as_eventloop)


@needs_blender
@pytest.mark.slow
def test_receiver_in_blender_with_third_party_senders(blender_files, tmp_path):
    """Time tags, a 12 KB datagram, Live Link Face and names in other cases, sent by vmcp,
    osc4py3 and pylivelinkface (and lprr's own Live Link sink) to the add-on in Blender."""
    import socket as socketlib

    for mod in ("osc4py3", "pylivelinkface", "vmcp"):
        pytest.importorskip(mod, reason=f"{mod} is in the dev extra")
    from osc4py3 import oscbuildparse as ob
    from pylivelinkface import FaceBlendShape, PyLiveLinkFace
    from vmcp.osc.backend.osc4py3.common import TimeTag
    from vmcp.osc.typing import Message
    from vmcp.protocol import blendshape, blendshape_apply
    from vmcp.typing import BlendShapeKey

    driver = _script(tmp_path, "driver.py", DRIVER)
    cmd = [BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
           str(driver), "--", str(blender_files / "addons"), str(SCRIPTS),
           str(blender_files / "character")]
    bp = BlenderProcess(cmd, env=_env_without_venv())
    udp = socketlib.socket(socketlib.AF_INET, socketlib.SOCK_DGRAM)
    try:
        port = int(bp.expect("READY", 60))
        key = BlendShapeKey("Keys", {n: n for n in ("EyeBlinkLeft", "JawOpen", "A")})
        with _vmcp_sender() as osc:
            tx = osc.create_sender("127.0.0.1", port, "lprr_test_tx").open()

            def vmcp_send(values: dict[str, float], tag) -> dict[str, float]:
                t0 = time.monotonic()
                tx.send([Message(*blendshape(key[k], v)) for k, v in values.items()]
                        + [Message(*blendshape_apply())], tag)
                osc.run()
                got = json.loads(bp.expect("APPLIED", 10))
                got["_seconds"] = time.monotonic() - t0
                return got

            # a bundle tagged 1 s in the future is applied at once; PascalCase finds the keys
            got = vmcp_send({"EyeBlinkLeft": 0.75, "JawOpen": 0.5},
                            TimeTag.from_unixtime(time.time() + 1.0))
            print(f"future-tagged bundle applied after {got['_seconds'] * 1e3:.0f} ms")
            assert got["_seconds"] < 0.5
            assert got["eyeBlinkLeft"] == pytest.approx(0.75) and got["jawOpen"] == 0.5
            got = vmcp_send({"EyeBlinkLeft": 0.25}, TimeTag.from_unixtime(1000.0))  # the past
            assert got["eyeBlinkLeft"] == pytest.approx(0.25)

            # the rename table in the panel: a VRM preset clip onto a shape key
            bp.send("rename A = jawOpen, Joy=mouthSmileLeft, broken entry")
            bp.expect("OK rename")
            assert vmcp_send({"A": 0.42}, TimeTag.from_unixtime(time.time()))["jawOpen"] == \
                pytest.approx(0.42)

        # one 12 KB datagram (osc4py3's encoder): stale rounds first, the frame's values last
        w = np.random.default_rng(11).uniform(0, 1, len(CONTROL_NAMES)).astype(np.float32)
        msgs = [ob.OSCMessage("/VMC/Ext/Blend/Val", ",sf", (n, 0.9 if r < 6 else float(v)))
                for r in range(7) for n, v in zip(CONTROL_NAMES, w)]
        big = ob.encode_packet(ob.OSCBundle(ob.OSC_IMMEDIATELY,
                                            [*msgs, ob.OSCMessage("/VMC/Ext/Blend/Apply", ",",
                                                                  ())]))
        assert len(big) >= 12000
        udp.sendto(big, ("127.0.0.1", port))
        got = json.loads(bp.expect("APPLIED", 10))
        back = np.array([got[n] for n in CONTROL_NAMES])
        assert np.abs(back - w).max() < 1e-4  # whole: the last round, nothing cut at 8 KB

        # Live Link Face, as pylivelinkface writes the iPhone app's packet
        face = PyLiveLinkFace(name="iPhone", uuid="7A2B9B56-2E4F-4C50-8E4A-1F3C5D6E7F80", fps=60)
        for shape, v in ((FaceBlendShape.JawOpen, 0.6), (FaceBlendShape.EyeBlinkLeft, 0.3),
                         (FaceBlendShape.MouthSmileLeft, 0.8), (FaceBlendShape.HeadYaw, 0.5)):
            face.set_blendshape(shape, v, no_filter=True)
        udp.sendto(face.encode(), ("127.0.0.1", port))
        got = json.loads(bp.expect("APPLIED", 10))
        assert (got["jawOpen"], got["eyeBlinkLeft"], got["mouthSmileLeft"]) == pytest.approx(
            (0.6, 0.3, 0.8))
        assert got["mouthSmileRight"] == 0.0  # every slot is a value: unset shapes are 0
        # ... and as lprr's own Live Link sink sends it
        sink = create_sink("livelink", f"127.0.0.1:{port}", fps=30)
        sink.send(w, CONTROL_NAMES, 1.0, 30)
        sink.close()
        got = json.loads(bp.expect("APPLIED", 10))
        assert np.abs(np.array([got[n] for n in CONTROL_NAMES]) - w).max() < 1e-4

        bp.send("status")
        st = json.loads(bp.expect("STATUS", 10))
        assert st["bad"] == 0 and st["largest"] == len(big) and st["protocol"] == "livelink"
        # every one of the 52 shape slots has a key (the rotation slots are not shape keys)
        assert st["missing"] == []
        bp.send("quit")
        bp.expect("BYE", 20)
        assert bp.close() == 0
        assert not [ln for ln in bp.lines if "no shape key" in ln]
        assert len([ln for ln in bp.lines if "broken entry" in ln]) == 1
    finally:
        udp.close()
        bp.kill()


GUI_DRIVER = r'''
import json, sys, time
import bpy

argv = sys.argv[sys.argv.index("--") + 1:]
addons, scripts, obj_dir, n_expected = argv[0], argv[1], argv[2], int(argv[3])
sys.path.insert(0, addons)  # the installed add-on (with python-osc vendored) ...
sys.path.append(scripts)  # ... and demo_character.py from the source tree
import lprr_receiver
import demo_character

lprr_receiver.register()
demo_character.clear_scene()
obj = demo_character.import_character(obj_dir)
t0 = time.monotonic()

def start():  # once the window manager runs, like pressing Start in the panel
    bpy.context.scene.lprr_receiver.target = obj
    bpy.context.scene.lprr_receiver.port = 0
    bpy.ops.lprr.receiver_start()
    print("READY", lprr_receiver.status()["port"], flush=True)
    bpy.app.timers.register(watch, first_interval=0.05)

def watch():
    st = lprr_receiver.status()
    if st["frames"] >= n_expected and st["applied"] >= 1 and not lprr_receiver._receiver.pending():
        blocks = obj.data.shape_keys.key_blocks
        print("DONE", json.dumps({"status": st,
                                  "values": {kb.name: kb.value for kb in blocks[1:]}}), flush=True)
        bpy.ops.lprr.receiver_stop()
        bpy.ops.wm.quit_blender()
        return None
    if time.monotonic() - t0 > 90:
        print("TIMEOUT", json.dumps(st), flush=True)
        bpy.ops.wm.quit_blender()
        return None
    return 0.05

bpy.app.timers.register(start, first_interval=0.1)
'''


@needs_blender
@pytest.mark.slow
@pytest.mark.skipif(not bl.shutil.which("xvfb-run"), reason="xvfb-run not installed (the "
                    "timer path needs Blender's event loop, i.e. a (virtual) display)")
def test_receiver_timer_path_in_blender_gui(blender_files, tmp_path):
    """With a window manager (under Xvfb) the add-on's own bpy.app.timers callback applies the
    frames: nothing in the driver pumps."""
    driver = _script(tmp_path, "gui_driver.py", GUI_DRIVER)
    n = 15
    cmd = ["xvfb-run", "-a", BLENDER, "--factory-startup", "--python-exit-code", "1",
           "--python", str(driver), "--", str(blender_files / "addons"), str(SCRIPTS),
           str(blender_files / "character"), str(n)]
    env = _env_without_venv()
    env["TEMP"] = str(tmp_path)  # Blender writes quit.blend there
    bp = BlenderProcess(cmd, env=env, stdin=False)
    try:
        port = int(bp.expect("READY", 90))
        sink = create_sink("vmc", f"127.0.0.1:{port}")
        w = np.random.default_rng(3).uniform(0, 1, (n, len(CONTROL_NAMES))).astype(np.float32)
        for k in range(n):
            sink.send(w[k], CONTROL_NAMES, t=k / 30, frame_index=k)
            time.sleep(0.02)
        sink.close()
        done = json.loads(bp.expect("DONE", 60))
        assert done["status"]["frames"] == n
        assert 1 <= done["status"]["applied"] <= n  # newest frame only, per timer tick
        back = np.array([done["values"][c] for c in CONTROL_NAMES])
        assert np.abs(back - w[-1]).max() < 1e-4  # the last frame sent is what shows
        assert bp.close(30) == 0
    finally:
        bp.kill()


ZIP_INSTALL = r'''
import sys, json
import addon_utils, bpy
zip_path = sys.argv[sys.argv.index("--") + 1]
bpy.ops.preferences.addon_install(filepath=zip_path)
mod = addon_utils.enable("lprr_receiver", default_set=True)
import lprr_receiver
bpy.ops.mesh.primitive_cube_add()
cube = bpy.context.active_object
cube.shape_key_add(name="Basis")
cube.shape_key_add(name="jawOpen")
port = lprr_receiver.start(port=0, object_name=cube.name)
print("INSTALLED", json.dumps({"file": mod.__file__, "osc": __import__("pythonosc").__file__,
                               "port": port, "panel": hasattr(bpy.types, "LPRR_PT_receiver")}),
      flush=True)
lprr_receiver.stop()
addon_utils.disable("lprr_receiver")
'''


@needs_blender
def test_addon_zip_installs_and_enables_like_a_user_would(tmp_path):
    """Preferences > Install... with the zip, then enable: a normal add-on, python-osc inside."""
    z = bl.build_addon_zip(tmp_path / "lprr_receiver.zip")
    script = _script(tmp_path, "install.py", ZIP_INSTALL)
    env = _env_without_venv()
    env["BLENDER_USER_SCRIPTS"] = str(tmp_path / "user_scripts")  # not the real user folder
    r = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-exit-code", "1",
                        "--python", str(script), "--", str(z)], capture_output=True, text=True,
                       env=env, timeout=120, check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("INSTALLED")), None)
    assert r.returncode == 0 and line, r.stdout[-2000:] + r.stderr[-2000:]
    info = json.loads(line.split(" ", 1)[1])
    assert info["file"].startswith(str(tmp_path / "user_scripts" / "addons" / "lprr_receiver"))
    assert "/lprr_receiver/_vendor/pythonosc/" in info["osc"]
    assert info["port"] > 0 and info["panel"]


# ----------------------------------------------------------------- Blender, render a take
@needs_blender
@pytest.mark.slow
def test_render_take_of_the_demo_character(tmp_path):
    from lprr.engine.face.apem import PATCH_NAMES, PATCH_SIZE, extract_patches
    from lprr.engine.take import Take
    from lprr.engine.world.character import DemoCharacter

    out = tmp_path / "take"
    t0 = time.perf_counter()
    bl.render_take(out, frames=20, resolution=256, seed=5, engine="CYCLES", samples=4,
                   timeout=300)
    seconds = time.perf_counter() - t0
    take = Take(out)
    assert len(take) == 20 and take.controls == list(CONTROL_NAMES)
    assert take.meta["source"] == "blender" and take.meta["size"] == [256, 256]
    print(f"render_take: {seconds:.1f} s for 20 frames "
          f"({take.meta['render_seconds_per_frame']} s a frame in Blender)")
    W = take.weights_for(CONTROL_NAMES)
    assert W.shape == (20, len(CONTROL_NAMES))
    assert (W[:10] > 0).sum(1).tolist() == [1] * 10  # the ROM part: one key at a time
    assert W.max() == pytest.approx(1.0)

    # the projected landmarks are where lprr's own rig puts them (linear blendshapes; the
    # demo character's correctives only act on blinks and crossing lips)
    ch = DemoCharacter(256)
    lm = take.landmarks
    assert lm.shape == (20, 478, 3) and np.isfinite(lm).all()
    for i, w in enumerate(W.astype(np.float64)):
        lin = ch.base + np.tensordot(w, ch.deltas, axes=1)
        xy = (lin[:, :2] - [0.0, ch.look.centre_v]) * (ch.look.pixels_per_unit * 256) + 128
        if w[CONTROL_NAMES.index("eyeBlinkLeft")] + w[CONTROL_NAMES.index("eyeBlinkRight")] == 0:
            np.testing.assert_allclose(lm[i, :, :2], xy, atol=0.05)

    frames = list(take.frames())
    assert len(frames) == 20
    img0 = frames[0] if isinstance(frames[0], np.ndarray) else frames[0].image
    assert img0.shape == (256, 256, 3)
    colours = {"skin": np.array(ch.look.skin, float), "lips": np.array(ch.look.lips, float)}
    for i, f in enumerate(frames):
        img = f if isinstance(f, np.ndarray) else f.image
        # the renders match the landmarks: forehead is skin, the upper lip is lip-coloured
        fore = img[int(lm[i, 151, 1]), int(lm[i, 151, 0])].astype(float)
        lip = 0.5 * (lm[i, 0, :2] + lm[i, 13, :2])
        lip_px = img[int(lip[1]), int(lip[0])].astype(float)
        assert np.linalg.norm(fore - colours["skin"]) < 90, (i, fore)
        assert np.linalg.norm(lip_px - colours["lips"]) < 90, (i, lip_px)
        assert np.linalg.norm(lip_px - fore) > 60
        patches = extract_patches(img, lm[i])
        assert set(patches) == set(PATCH_NAMES)
        for name, p in patches.items():
            assert p.shape == (PATCH_SIZE, PATCH_SIZE, 3)
            assert p.std() > 20, (i, name, p.std())  # not uniform: features are in view
            bg = np.array(ch.look.background, float)
            assert (np.abs(p.astype(float) - bg).sum(-1) < 30).mean() < 0.5  # mostly face
        # an eye patch shows the dark pupil at its iris, a lip patch the plum lips
        assert np.abs(patches["lip"].astype(float) - colours["lips"]).sum(-1).min() < 60
        for eye in ("eye_l", "eye_r"):
            assert patches[eye].min(axis=-1).min() < 60, (i, eye)
    # the frames change with the weights
    diffs = [np.abs(frames[i].astype(int) - frames[i + 1].astype(int)).mean() for i in range(19)]
    assert max(diffs) > 0.5


# ----------------------------------------------------------------- recorded takes into a .blend
take_import = _load("lprr_test_take_import", SCRIPTS / "lprr_receiver" / "take_import.py")


def _write_take(path: Path, names: list[str], w: np.ndarray, t0: float = 0.0,
                fps: float = 30.0) -> Path:
    """A take as lprr's recorder writes it (row k at media time t0 + k / fps)."""
    from lprr.engine.sinks.recorder import Recorder

    rec = Recorder(path, fps=fps)
    for k, row in enumerate(w):
        rec.send(row, names, t0 + k / fps, k, face=k % 4 != 3)
    rec.close()
    return path


def test_addon_take_reader_agrees_with_lprrs(tmp_path):
    """The add-on's own small reader (it runs without lprr) reads both recorder formats as
    lprr's reader does: names, media times (timecode rate inferred) and values."""
    from lprr.engine.errors import UserError
    from lprr.engine.sinks.recorder import read_recording_timed

    w = np.random.default_rng(2).uniform(0, 1, (75, 4)).astype(np.float32)
    names = ["jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "tongueOut"]
    for suffix, fps in ((".csv", 60.0), (".csv", 25.0), (".jsonl", 30.0)):
        p = _write_take(tmp_path / f"t{int(fps)}{suffix}", names, w, t0=3.0, fps=fps)
        ours, theirs = read_recording_timed(p), take_import.read_take(str(p))
        assert ours.names == theirs.names == names
        assert ours.fps == (fps if suffix == ".csv" else None)  # inferred from the timecodes
        np.testing.assert_allclose(ours.times, 3.0 + np.arange(75) / fps, atol=1e-5)
        np.testing.assert_allclose(theirs.times, ours.times, atol=1e-9)
        np.testing.assert_allclose(np.array(theirs.values), ours.values, atol=1e-6)
        np.testing.assert_allclose(ours.values, w, atol=1e-6)
    (tmp_path / "bad.csv").write_text("Timecode,BlendShapeCount,a\n00:00:00:00.000,1,x\n")
    with pytest.raises(UserError, match="cannot read take"):
        read_recording_timed(tmp_path / "bad.csv")
    with pytest.raises(UserError, match="no such take file"):
        read_recording_timed(tmp_path / "none.jsonl")


def test_import_take_missing_take_is_one_line(tmp_path):
    """Checked before Blender starts: runs without one."""
    r = _lprr("blender", "import-take", str(tmp_path / "none.csv"), "--blend",
              str(tmp_path / "x.blend"), "--object", "Face")
    assert r.returncode == 2 and r.stderr.strip() == \
        f"lprr blender: error: no such take file: {tmp_path / 'none.csv'}"


def _lprr(*args: str) -> subprocess.CompletedProcess:
    """The real CLI, in a child process, with this checkout first on the path."""
    from lprr.engine.paths import ROOT

    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                         if p)}
    return subprocess.run([sys.executable, "-m", "lprr.app.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env, check=False)


@pytest.fixture(scope="module")
def demo_blend(blender_files):
    """The demo character saved as a .blend (scene at Blender's default 24 fps, frames 1-250)."""
    out = blender_files / "demo.blend"
    if not out.exists():
        r = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-exit-code", "1",
                            "--python", str(SCRIPTS / "demo_character.py"), "--", "--obj-dir",
                            str(blender_files / "character"), "--save", str(out)],
                           capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 0 and out.is_file(), r.stdout[-2000:] + r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def recorded_takes(tmp_path_factory):
    """45 frames of the demo clip through the real pipeline (``lprr run --record``), once as
    CSV and once as JSON lines."""
    import cv2

    from lprr.engine.paths import ASSETS, DEFAULT_MODELS

    if not (DEFAULT_MODELS / "manifest.json").is_file():
        pytest.skip("no shipped default models in exported/demo")
    root = tmp_path_factory.mktemp("takes")
    clip = root / "clip"
    clip.mkdir()
    cap = cv2.VideoCapture(str(ASSETS / "demo" / "clip" / "frames.avi"))
    for i in range(45):  # a folder of frames: media time index / 30 s, like the clip's
        ok, img = cap.read()
        assert ok
        cv2.imwrite(str(clip / f"{i:04d}.png"), img)
    cap.release()
    takes = {}
    for suffix in ("csv", "jsonl"):
        takes[suffix] = root / f"take.{suffix}"
        r = _lprr("run", "--source", str(clip), "--record", str(takes[suffix]))
        assert r.returncode == 0, r.stderr[-2000:]
    return takes


READBACK = r'''
import json, sys
import bpy

argv = sys.argv[sys.argv.index("--") + 1:]
addons, demo, take, start = argv[0], argv[1], argv[2], int(argv[3])
blends = argv[4:]

def dump(obj):
    s = bpy.context.scene
    act = obj.data.shape_keys.animation_data.action
    return {"fps": s.render.fps / s.render.fps_base, "frame_start": s.frame_start,
            "frame_end": s.frame_end,
            "keys": {fc.data_path: [[p.co[0], p.co[1], p.interpolation]
                                    for p in fc.keyframe_points] for fc in act.fcurves}}

out = {}
for path in blends:
    bpy.ops.wm.open_mainfile(filepath=path)
    out[path] = dump(bpy.data.objects["lprr_demo"])
# the panel's "Import take..." on the active object, from the installed add-on
sys.path.insert(0, addons)
import lprr_receiver
lprr_receiver.register()
bpy.ops.wm.open_mainfile(filepath=demo)
obj = bpy.data.objects["lprr_demo"]
bpy.context.view_layer.objects.active = obj
print("OPERATOR", bpy.ops.lprr.import_take(filepath=take, use_scene_start=False,
                                           start_frame=start), flush=True)
out["operator"] = dump(obj)
print("READBACK", json.dumps(out), flush=True)
'''


def _expected_keys(times: np.ndarray, fps: float, start: int) -> dict[int, int]:
    """Frame -> row, by the documented rule: start + round(t * fps) (halves up); of rows on one
    frame, the nearest in time."""
    x = times * fps
    frames = start + np.floor(x + 0.5).astype(int)
    return {int(f): int(min(np.flatnonzero(frames == f), key=lambda i: abs(x[i] + start - f)))
            for f in np.unique(frames)}


@needs_blender
@pytest.mark.slow
def test_import_take_keys_a_recorded_take(blender_files, demo_blend, recorded_takes, tmp_path):
    """A take recorded by the real pipeline, keyed into the demo character with the CLI
    (CSV at the scene start, JSON lines from frame 300); read back in Blender, every key holds
    the take's value on frame start + round(t * scene fps). The add-on's operator keys the
    JSON lines take the same way."""
    from lprr.engine.sinks.recorder import read_recording_timed

    outs = {"csv": tmp_path / "keyed_csv.blend", "jsonl": tmp_path / "keyed_jsonl.blend"}
    starts = {"csv": None, "jsonl": 300}
    for fmt, out in outs.items():
        args = ["--start", str(starts[fmt])] if starts[fmt] is not None else []
        r = _lprr("blender", "import-take", str(recorded_takes[fmt]), "--blend",
                  str(demo_blend), "--object", "lprr_demo", "--out", str(out), *args)
        assert r.returncode == 0, r.stderr[-2000:]
        lines = r.stdout.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wrote "), r.stdout  # nothing missing
        assert f"{len(CONTROL_NAMES)} shape keys" in lines[0]

    script = _script(tmp_path, "readback.py", READBACK)
    r = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-exit-code", "1",
                        "--python", str(script), "--", str(blender_files / "addons"),
                        str(demo_blend), str(recorded_takes["jsonl"]), "300",
                        str(outs["csv"]), str(outs["jsonl"])], capture_output=True, text=True,
                       timeout=120, env=_env_without_venv(), check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("READBACK ")), None)
    assert r.returncode == 0 and line, r.stdout[-2000:] + r.stderr[-2000:]
    back = json.loads(line.split(" ", 1)[1])
    assert "OPERATOR {'FINISHED'}" in r.stdout

    for fmt, out in outs.items():
        rec = read_recording_timed(recorded_takes[fmt])
        assert rec.names == list(CONTROL_NAMES) and len(rec.times) == 45
        assert (rec.values.std(0) > 0.01).sum() >= 10  # a moving face, not a flat take
        np.testing.assert_allclose(rec.times, np.arange(45) / 30, atol=1e-4)
        got = back[str(out)]
        assert got["fps"] == 24.0  # the take's 30 fps resampled to the scene's rate
        start = starts[fmt] if starts[fmt] is not None else got["frame_start"]
        want = _expected_keys(rec.times, got["fps"], start)
        assert list(want) == list(range(start, start + 36))  # 44 / 30 s = frame 35.2 at 24 fps
        assert got["frame_end"] == max(250, start + 35)  # grown to cover the take
        assert len(got["keys"]) == len(CONTROL_NAMES)
        for j, name in enumerate(rec.names):
            pts = got["keys"][f'key_blocks["{name}"].value']
            assert [p[0] for p in pts] == list(want), (fmt, name)
            assert {p[2] for p in pts} == {"LINEAR"}
            vals = np.array([p[1] for p in pts])
            np.testing.assert_allclose(vals, rec.values[list(want.values()), j], atol=1e-4,
                                       err_msg=f"{fmt} {name}")
    op, cli = back["operator"], back[str(outs["jsonl"])]
    assert op["frame_end"] == cli["frame_end"] and op["keys"].keys() == cli["keys"].keys()
    for path, pts in cli["keys"].items():
        np.testing.assert_allclose(np.array(op["keys"][path])[:, :2].astype(float),
                                   np.array(pts)[:, :2].astype(float), atol=1e-6)


@needs_blender
def test_import_take_reports_names_the_object_lacks(demo_blend, tmp_path):
    """Names the object lacks are reported (exit 0); perfect-sync case finds the key; the
    .blend is saved in place."""
    import shutil

    blend = shutil.copy(demo_blend, tmp_path / "char.blend")
    names = ["jawOpen", "EyeBlinkLeft", "hatTilt", "cheekPuff_typo"]
    w = np.random.default_rng(5).uniform(0, 1, (10, 4)).astype(np.float32)
    take = _write_take(tmp_path / "take.jsonl", names, w)
    before = Path(blend).stat().st_mtime_ns
    r = _lprr("blender", "import-take", str(take), "--blend", str(blend), "--object",
              "lprr_demo", "--start", "5")
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert lines[0] == ("lprr_demo has no shape key for 2 of the take's names: hatTilt, "
                        "cheekPuff_typo")
    assert lines[1].startswith("wrote 16 keyframes (2 shape keys x 8 frames; frames 5-12 at "
                               "24 fps) on lprr_demo, saved ")
    assert Path(blend).stat().st_mtime_ns != before


@needs_blender
def test_import_take_unknown_object_is_one_line(demo_blend, tmp_path):
    take = _write_take(tmp_path / "take.csv", ["jawOpen"], np.zeros((3, 1), np.float32))
    r = _lprr("blender", "import-take", str(take), "--blend", str(demo_blend), "--object",
              "Face")
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert err == [(f"lprr blender: error: no object 'Face' in {demo_blend} (meshes: "
                    "lprr_demo, lprr_demo_eye_left, lprr_demo_eye_right)")], r.stderr
    assert "Traceback" not in r.stdout + r.stderr
