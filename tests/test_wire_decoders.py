"""lprr's packets against decoders nobody on this project wrote, over real UDP on 127.0.0.1.

- osc4py3 (an OSC implementation independent of python-osc) decodes every VMC datagram that
  ``lprr run --protocol vmc --names pascal`` sends;
- vmcp (a VMC protocol implementation, on its own osc4py3 UDP server) reads lprr's VMC frames
  as events;
- pylivelinkface (which reads packets the way the iPhone app writes them) decodes every Live
  Link Face packet that ``lprr run --protocol livelink`` sends.

The values are checked against the recording ``lprr run --record`` writes for the same frames.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.sinks import create_sink
from lprr.engine.sinks.names import VRM0_CLIPS, WireNames, pascal
from lprr.engine.sinks.recorder import parse_timecode, read_recording
from lprr.engine.user_config import DEVICE_ID_FILE

ob = pytest.importorskip("osc4py3.oscbuildparse", reason="osc4py3 is in the dev extra")
CLIP = Path(__file__).resolve().parents[1] / "assets" / "demo" / "clip" / "frames.avi"


class UdpCollector:
    """Every datagram that arrives on a fresh 127.0.0.1 port, in arrival order."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.packets.append(self.sock.recv(65536))
            except TimeoutError:
                continue

    def close(self, linger: float = 0.3) -> list[bytes]:
        time.sleep(linger)
        self._stop.set()
        self._t.join(2)
        self.sock.close()
        return self.packets


def _lprr_run(*args: str, seconds: float = 3.0) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "lprr.app.cli", "run", "--source", str(CLIP), "--duration",
           str(seconds), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                       cwd=Path(__file__).resolve().parents[1], check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


@pytest.mark.slow
def test_osc4py3_decodes_every_vmc_datagram_of_lprr_run_pascal(tmp_path):
    rx = UdpCollector()
    rec = tmp_path / "rec.csv"
    _lprr_run("--protocol", "vmc", "--names", "pascal", "--osc", f"127.0.0.1:{rx.port}",
              "--record", str(rec))
    packets = rx.close()
    names, recorded = read_recording(rec)
    assert len(recorded) > 30
    sizes = [len(p) for p in packets]
    print(f"VMC pascal: {len(packets)} datagrams for {len(recorded)} frames, "
          f"{min(sizes)}-{max(sizes)} bytes")
    assert max(sizes) <= 1472

    frames, cur, ok, times = [], {}, 0, []
    for p in packets:
        b = ob.decode_packet(p)  # raises on anything that is not well-formed OSC
        assert isinstance(b, ob.OSCBundle) and b.timetag == ob.OSC_IMMEDIATELY
        for m in b.elements:
            if m.addrpattern == "/VMC/Ext/Blend/Val":
                assert m.typetags == ",sf"
                cur[m.arguments[0]] = m.arguments[1]
            elif m.addrpattern == "/VMC/Ext/Blend/Apply":
                frames.append(cur)
                cur = {}
            elif m.addrpattern == "/VMC/Ext/OK":
                ok += m.arguments == (1,)
            elif m.addrpattern == "/VMC/Ext/T":
                times.append(m.arguments[0])
    assert cur == {}  # nothing left after the last Apply
    assert len(frames) == len(recorded) == ok == len(times)
    assert np.all(np.diff(times) > 0)
    expected = [pascal(n) for n in names]
    assert expected[:1] == ["EyeBlinkLeft"] and "JawOpen" in expected
    for f, row in zip(frames, recorded):
        assert list(f) == expected
        assert np.abs(np.array(list(f.values()), np.float32) - row).max() < 1e-6


def test_vmcp_reads_lprr_vmc_frames_as_events():
    pytest.importorskip("vmcp", reason="vmcp is in the dev extra")
    from vmcp.events import (
        BlendShapeApplyEvent,
        BlendShapeEvent,
        RelativeTimeEvent,
        StateEvent,
    )
    from vmcp.facades import on_receive
    from vmcp.osc import OSC
    from vmcp.osc.backend.osc4py3 import as_eventloop
    from vmcp.typing import ModelState

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    events: list = []
    n = 10
    w = np.random.default_rng(5).random((n, len(CONTROL_NAMES))).astype(np.float32)
    with OSC(as_eventloop) as osc:
        receiver = osc.create_receiver("127.0.0.1", port, "lprr_test_rx").open()
        for ev in (BlendShapeEvent, BlendShapeApplyEvent, StateEvent, RelativeTimeEvent):
            on_receive(receiver, ev, events.append)
        sink = create_sink("vmc", f"127.0.0.1:{port}", names="vrm0")
        for i in range(n):
            sink.send(w[i], CONTROL_NAMES, i / 30, i)
            for _ in range(5):
                osc.run()
        end = time.monotonic() + 3
        while sum(isinstance(e, BlendShapeApplyEvent) for e in events) < n and \
                time.monotonic() < end:
            osc.run()
            time.sleep(0.005)
        sink.close()
    applies = [i for i, e in enumerate(events) if isinstance(e, BlendShapeApplyEvent)]
    assert len(applies) == n
    states = [e for e in events if isinstance(e, StateEvent)]
    assert len(states) == n and all(e.model_state == ModelState.LOADED for e in states)
    rel = [e.delta for e in events if isinstance(e, RelativeTimeEvent)]
    assert rel == pytest.approx([i / 30 for i in range(n)], abs=1e-5)
    start = 0
    _, convert = WireNames("vrm0").compile(CONTROL_NAMES)
    for i, end_ in enumerate(applies):
        vals = {e.key: e.value for e in events[start:end_] if isinstance(e, BlendShapeEvent)}
        assert list(vals) == list(VRM0_CLIPS)
        np.testing.assert_allclose(list(vals.values()), convert(w[i]), atol=1e-6)
        start = end_ + 1


@pytest.mark.slow
def test_pylivelinkface_decodes_every_packet_of_lprr_run(tmp_path):
    pytest.importorskip("pylivelinkface", reason="pylivelinkface is in the dev extra")
    from pylivelinkface import FaceBlendShape, PyLiveLinkFace

    rx = UdpCollector()
    rec = tmp_path / "rec.csv"
    _lprr_run("--protocol", "livelink", "--subject", "Studio_A", "--osc",
              f"127.0.0.1:{rx.port}", "--record", str(rec))
    packets = rx.close()
    names, recorded = read_recording(rec)
    assert len(packets) == len(recorded) > 30
    device = (Path(os.environ["LPRR_CONFIG_DIR"]) / DEVICE_ID_FILE).read_text().strip()
    with open(rec, encoding="utf-8") as f:
        rows = f.read().splitlines()[1:]
    jaw, blink = names.index("jawOpen"), names.index("eyeBlinkLeft")
    offsets = set()
    worst = 0.0
    for p, row, line in zip(packets, recorded, rows):
        ok, face = PyLiveLinkFace.decode(p)
        assert ok
        assert face.name == "Studio_A" and face.uuid == "$" + device and len(device) == 36
        assert (face.fps, face._denominator) == (30, 1)  # the clip's own rate
        err = max(abs(face.get_blendshape(FaceBlendShape.JawOpen) - row[jaw]),
                  abs(face.get_blendshape(FaceBlendShape.EyeBlinkLeft) - row[blink]))
        worst = max(worst, err)
        # the frame number is the source's frame: the recording's source timecode x fps
        offsets.add(face._frames - round(parse_timecode(line.split(",")[0], 30) * 30))
    print(f"pylivelinkface: {len(packets)} packets decoded, worst |jawOpen/eyeBlinkLeft - "
          f"recording| = {worst:.2e}")
    assert worst < 1e-4
    assert offsets == {0}  # both carry the source's own frame number
