"""Sinks against real receivers on 127.0.0.1: python-osc's ThreadingOSCUDPServer for OSC/VMC,
a plain UDP socket for Live Link Face; and the CSV / JSON-lines recorder."""
from __future__ import annotations

import logging
import socket
import threading
import time

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import ThreadingOSCUDPServer

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.sinks import (
    LiveLinkSink,
    OscNativeSink,
    Recorder,
    VmcSink,
    create_sink,
    decode_livelink,
    encode_livelink,
    parse_endpoint,
    read_recording,
)
from lprr.engine.sinks.livelink import EAR_BLENDSHAPES, frame_rate
from lprr.engine.sinks.names import WireNames
from lprr.engine.sinks.osc_wire import osc_message
from lprr.engine.user_config import is_uuid, livelink_device_id

C = len(CONTROL_NAMES)


class _RecordingDispatcher(Dispatcher):
    """A real dispatcher that also keeps each datagram, so tests can see bundle boundaries."""

    def __init__(self):
        super().__init__()
        self.packets: list[bytes] = []
        self.lock = threading.Lock()

    def call_handlers_for_packet(self, data, client_address):
        with self.lock:
            self.packets.append(bytes(data))
        return super().call_handlers_for_packet(data, client_address)


@pytest.fixture
def osc_server():
    disp = _RecordingDispatcher()
    calls: dict[str, int] = {}

    def count(address, *args):
        calls[address] = calls.get(address, 0) + 1

    disp.set_default_handler(count)
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), disp)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield server.server_address[1], disp, calls
    server.shutdown()
    server.server_close()
    th.join(2)


def _wait_packets(disp: _RecordingDispatcher, n: int, timeout: float = 3.0) -> list[bytes]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with disp.lock:
            if len(disp.packets) >= n:
                return list(disp.packets)
        time.sleep(0.01)
    return list(disp.packets)


def _messages(packet: bytes) -> list[tuple[str, list]]:
    return [(m.message.address, list(m.message.params)) for m in OscPacket(packet).messages]


def _frames(n: int, seed: int = 0) -> np.ndarray:
    w = np.random.default_rng(seed).random((n, C)).astype(np.float32)
    w[::7] = 0.0  # a few exact zeros / neutral frames
    return w


def test_native_values_equal_recorder_csv_every_frame(osc_server, tmp_path):
    port, disp, calls = osc_server
    n = 120
    w = _frames(n)
    faces = [i % 10 != 3 for i in range(n)]
    sink = create_sink("native", f"127.0.0.1:{port}")
    csv_rec, jl_rec = Recorder(tmp_path / "w.csv"), Recorder(tmp_path / "w.jsonl")
    t0 = 5000.0  # a monotonic-clock-like origin: sinks send time since their first frame
    for i in range(n):
        for s in (sink, csv_rec, jl_rec):
            s.send(w[i], CONTROL_NAMES, t0 + i / 60, i, face=faces[i])
        if i % 20 == 19:
            time.sleep(0.005)  # let the threaded server keep up (UDP drops on overflow)
    for s in (sink, csv_rec, jl_rec):
        s.close()
    packets = _wait_packets(disp, n)
    assert len(packets) == n and sink.errors == 0

    names_csv, csv_w = read_recording(tmp_path / "w.csv")
    assert names_csv == list(CONTROL_NAMES) and csv_w.shape == (n, C)
    got: dict[int, tuple] = {}
    names_seen = None
    for p in packets:
        msgs = dict(_messages(p))
        frame, t = msgs["/lprr/frame"]
        if "/lprr/names" in msgs:
            names_seen = msgs["/lprr/names"]
        got[frame] = (t, msgs["/lprr/face"][0], np.array(msgs["/lprr/weights"], np.float32))
    assert names_seen == list(CONTROL_NAMES)
    assert sorted(got) == list(range(n))
    for i in range(n):
        t, face, vals = got[i]
        assert abs(t - i / 60) < 1e-4
        assert face == int(faces[i])
        assert np.abs(vals - csv_w[i]).max() < 1e-6, i
    names_jl, jl_w = read_recording(tmp_path / "w.jsonl")
    assert names_jl == list(CONTROL_NAMES) and np.abs(jl_w - w).max() < 1e-6
    assert calls["/lprr/weights"] == n  # the server's own dispatch saw every frame


def test_native_names_repeat_and_per_control(osc_server):
    port, disp, _ = osc_server
    sink = OscNativeSink("127.0.0.1", port, per_control=True, names_every_s=0.5)
    w = _frames(1)[0] + 0.01
    for i in range(4):
        sink.send(w, CONTROL_NAMES, i * 0.3, i)
        time.sleep(0.005)  # in order through the threaded server
    sink.close()
    packets = _wait_packets(disp, sink.sent)
    # 52 controls: 2 datagrams a frame, 3 with the names
    assert sink.sent == 10 and max(len(p) for p in packets) <= 1472
    by_frame: dict[int, list] = {}
    for p in packets:  # /lprr/w/ messages that did not fit follow in the frame's next bundle
        msgs = _messages(p)
        if "/lprr/frame" in dict(msgs):
            frame = dict(msgs)["/lprr/frame"][0]
        by_frame.setdefault(frame, []).extend(msgs)
    with_names = [f for f, m in by_frame.items() if m[0][0] == "/lprr/names"]
    assert with_names == [0, 2]  # t = 0 and t = 0.6 (every 0.5 s)
    each = {a.rsplit("/", 1)[1]: v[0] for a, v in by_frame[1] if a.startswith("/lprr/w/")}
    assert list(each) == list(CONTROL_NAMES)
    assert np.allclose([each[n] for n in CONTROL_NAMES], w, atol=1e-7)


def _vmc_frames(packets: list[bytes]) -> list[dict]:
    """Frames as a VMC receiver sees them: Val messages kept until Apply, across bundles."""
    frames, cur, head = [], {}, {}
    for p in packets:
        for addr, args in _messages(p):
            if addr == "/VMC/Ext/Blend/Val":
                cur[args[0]] = args[1]
            elif addr == "/VMC/Ext/Blend/Apply":
                frames.append({"values": cur, **head})
                cur, head = {}, {}
            else:
                head[addr] = args
    return frames


def test_vmc_frames_fit_one_ethernet_frame_and_apply_last(osc_server):
    port, disp, calls = osc_server
    n = 20
    w = _frames(n, seed=3)
    sink = create_sink("vmc", f"127.0.0.1:{port}")
    assert sink.port == port
    for i in range(n):
        sink.send(w[i], CONTROL_NAMES, 7.0 + i / 60, i)
        time.sleep(0.002)  # keep the threaded server's datagrams in order
    per_frame = len(sink.datagram_sizes)
    sink.close()
    packets = _wait_packets(disp, n * per_frame)
    assert per_frame == 2 and len(packets) == n * per_frame
    assert max(len(p) for p in packets) <= 1472  # 1836 bytes in one datagram before
    assert all(p.startswith(b"#bundle\x00") for p in packets)
    frames = _vmc_frames(packets)
    assert len(frames) == n
    for i, f in enumerate(frames):
        assert list(f["values"]) == list(CONTROL_NAMES)  # every control, by name, in order
        assert np.abs(np.array(list(f["values"].values())) - w[i]).max() < 1e-6
        assert f["/VMC/Ext/OK"] == [1]
        assert f["/VMC/Ext/T"][0] == pytest.approx(i / 60, abs=1e-5)
    for p in packets[1::2]:  # Apply closes the last bundle of each frame
        assert _messages(p)[-1] == ("/VMC/Ext/Blend/Apply", [])
    assert calls["/VMC/Ext/Blend/Apply"] == n and calls["/VMC/Ext/Blend/Val"] == n * C
    assert calls["/VMC/Ext/T"] == n  # once a frame, not once a datagram


def test_vmc_name_styles(osc_server):
    port, disp, _ = osc_server
    w = np.linspace(0.05, 0.95, C).astype(np.float32)
    sent = 0
    for style in ("pascal", "vrm0"):
        sink = create_sink("vmc", f"127.0.0.1:{port}", names=style,
                           rename={"Joy": "Happy"} if style == "vrm0" else None)
        sink.send(w, CONTROL_NAMES, 0.0, 0)
        sent += len(sink.datagram_sizes)
        sink.close()
        time.sleep(0.01)
    packets = _wait_packets(disp, sent)
    pascal_frame, vrm_frame = _vmc_frames(packets)
    assert list(pascal_frame["values"])[:2] == ["EyeBlinkLeft", "EyeWideLeft"]
    assert pascal_frame["values"]["JawOpen"] == pytest.approx(w[CONTROL_NAMES.index("jawOpen")])
    assert pascal_frame["values"]["CheekPuff"] == pytest.approx(
        w[CONTROL_NAMES.index("cheekPuff")])
    assert pascal_frame["values"]["TongueOut"] == pytest.approx(w[-1])
    assert list(vrm_frame["values"]) == ["Blink", "Blink_L", "Blink_R", "A", "I", "U", "E", "O",
                                         "Happy", "Angry", "Sorrow", "Fun"]
    assert max(len(p) for p in packets) <= 1472


def test_vrm0_table_on_known_weights():
    """The documented table (lprr.engine.sinks.names.VRM0_TABLE) on hand-checked weights."""
    names = list(CONTROL_NAMES)

    def clips(**set_) -> dict[str, float]:
        w = np.zeros(C, np.float32)
        for k, v in set_.items():
            w[names.index(k)] = v
        wire, convert = WireNames("vrm0").compile(names)
        return dict(zip(wire, convert(w).tolist()))

    rest = clips()
    assert all(v == 0 for v in rest.values())  # a neutral face sends nothing
    c = clips(eyeBlinkLeft=1.0, eyeBlinkRight=0.25)
    assert (c["Blink"], c["Blink_L"], c["Blink_R"]) == pytest.approx((0.25, 0.75, 0.0))
    assert c["Blink"] + c["Blink_L"] == pytest.approx(1.0)  # each eye closes as far as sent
    c = clips(jawOpen=0.8)
    assert c["A"] == pytest.approx(0.8) and c["O"] == c["U"] == c["I"] == c["E"] == 0
    c = clips(jawOpen=0.5, mouthFunnel=0.6, mouthPucker=0.2)  # round = max(pucker, funnel)
    assert (c["O"], c["U"], c["A"]) == pytest.approx((0.3, 0.3, 0.2))
    c = clips(mouthStretchLeft=0.6, mouthStretchRight=0.4)  # spread 0.5, mouth closed
    assert (c["I"], c["E"], c["A"]) == pytest.approx((0.5, 0.0, 0.0))
    c = clips(mouthStretchLeft=1.0, mouthStretchRight=1.0, jawOpen=0.4)
    assert (c["E"], c["I"], c["A"]) == pytest.approx((0.4, 0.6, 0.0))
    rng = np.random.default_rng(0)
    for _ in range(200):  # the five mouth clips never sum over 1
        c = clips(**{n: float(rng.random()) for n in ("jawOpen", "mouthPucker", "mouthFunnel",
                                                      "mouthStretchLeft", "mouthStretchRight")})
        assert sum(c[k] for k in "AIUEO") <= 1 + 1e-6
    c = clips(mouthSmileLeft=0.8, mouthSmileRight=0.6, eyeSquintLeft=0.5, eyeSquintRight=0.5)
    assert (c["Joy"], c["Fun"]) == pytest.approx((0.35, 0.35))
    c = clips(browDownLeft=0.4, browDownRight=0.6, mouthFrownLeft=0.2, mouthFrownRight=0.4)
    assert (c["Angry"], c["Sorrow"]) == pytest.approx((0.5, 0.3))


def test_native_names_follow_the_style(osc_server):
    port, disp, _ = osc_server
    sink = create_sink("native", f"127.0.0.1:{port}", names="pascal",
                       rename={"JawOpen": "MouthOpen"}, per_control=True)
    sink.send(np.full(C, 0.5, np.float32), CONTROL_NAMES, 0.0, 0)
    sink.close()
    packets = _wait_packets(disp, sink.sent)
    assert sink.sent == 3 and max(len(p) for p in packets) <= 1472  # per_control: 2 KB before
    msgs = [m for p in packets for m in _messages(p)]
    names = dict(msgs)["/lprr/names"]
    assert names[0] == "EyeBlinkLeft" and "MouthOpen" in names and "JawOpen" not in names
    assert "/lprr/w/MouthOpen" in dict(msgs)


def test_name_style_errors():
    with pytest.raises(UserError, match="unknown name style 'camel'"):
        create_sink("vmc", None, names="camel")
    with pytest.raises(UserError, match="does not apply to Live Link Face"):
        create_sink("livelink", None, names="pascal")


def test_vmc_rename_and_default_port():
    sink = VmcSink(rename={"eyeBlinkLeft": "Blink_L"})
    assert (sink.host, sink.port) == ("127.0.0.1", 39539)
    sink._compile(tuple(CONTROL_NAMES))
    assert sink.wire_names[0] == "Blink_L"
    sink.close()


def test_mapping_toml_rename_table(tmp_path):
    from lprr.engine.post.mapping import WeightMapping, load_rename

    f = tmp_path / "m.toml"
    f.write_text('[controls.jawOpen]\ngain = 1.2\n\n[rename]\nEyeBlinkLeft = "Blink_L"\n'
                 '"Joy" = "Happy"\n')
    assert load_rename(f) == {"EyeBlinkLeft": "Blink_L", "Joy": "Happy"}
    m = WeightMapping.load(f)
    again = tmp_path / "again.toml"
    m.save(again)  # the GUI saves mappings: the table survives
    assert load_rename(again) == m.rename and WeightMapping.load(again).controls == m.controls
    f.write_text("[rename]\njawOpen = 3\n")
    with pytest.raises(UserError, match=r"\[rename\]: expected name = \"new name\""):
        load_rename(f)


def test_livelink_packet_decodes_into_the_right_name_slots():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    port = rx.getsockname()[1]
    # a shuffled control order: the slots must follow the names, not the indices
    rng = np.random.default_rng(7)
    names = list(CONTROL_NAMES)
    rng.shuffle(names)
    w = rng.random(C).astype(np.float32) * 0.9 + 0.05
    sink = create_sink("livelink", f"127.0.0.1:{port}", subject="Face1", fps=29.97)
    assert isinstance(sink, LiveLinkSink)
    for i in range(3):  # media time of frames 300..302 of a 29.97 fps source, a bit late
        sink.send(w, names, (300 + i) * 1001 / 30000 + 0.004, i)
    sink.close()
    packets = [rx.recv(2048) for _ in range(3)]
    rx.close()
    frames = [decode_livelink(p) for p in packets]
    f = frames[-1]
    assert (f.version, f.subject, f.fps, f.fps_den) == (6, "Face1", 30000, 1001)
    assert f.device_id == sink.device_id and is_uuid(f.device_id)
    assert [fr.frame for fr in frames] == [300, 301, 302]  # the source's timecode
    assert frames[0].sub_frame == pytest.approx(0.004 * 30000 / 1001, abs=1e-4)
    assert len(packets[0]) == 1 + 4 + 36 + 4 + 5 + 16 + 1 + 61 * 4
    by_name = f.by_name()
    for name, v in zip(names, w):
        assert by_name[name] == pytest.approx(float(v), abs=1e-7), name
    assert set(names) == set(by_name) - {"headYaw", "headPitch", "headRoll", "leftEyeYaw",
                                         "leftEyePitch", "leftEyeRoll", "rightEyeYaw",
                                         "rightEyePitch", "rightEyeRoll"}  # all 52 shapes
    for name in ("headYaw", "rightEyeRoll"):
        assert by_name[name] == 0.0
    # the raw layout: blinkLeft is EAR slot 0, big-endian float right after the count byte
    off = len(packets[-1]) - 61 * 4
    assert packets[-1][off - 1] == 61
    assert np.frombuffer(packets[-1][off:off + 4], ">f4")[0] == pytest.approx(
        w[names.index("eyeBlinkLeft")])


def test_livelink_device_id_is_one_uuid_per_install(tmp_path, monkeypatch):
    monkeypatch.setenv("LPRR_CONFIG_DIR", str(tmp_path / "cfg"))
    a = LiveLinkSink("127.0.0.1", 9)
    b = LiveLinkSink("127.0.0.1", 9)
    a.close()
    b.close()
    assert a.device_id == b.device_id and len(a.device_id) == 36 and is_uuid(a.device_id)
    stored = (tmp_path / "cfg" / "livelink_device_id").read_text().strip()
    assert stored == a.device_id
    monkeypatch.setenv("LPRR_CONFIG_DIR", str(tmp_path / "other_install"))
    assert livelink_device_id() != a.device_id
    (tmp_path / "other_install" / "livelink_device_id").write_text("not-a-uuid\n")
    fixed = livelink_device_id()  # a broken file is replaced, with a warning, not an error
    assert is_uuid(fixed) and fixed != "not-a-uuid"


def test_frame_rate_as_unreal_writes_it():
    assert frame_rate(30.0) == (30, 1) and frame_rate(60) == (60, 1)
    assert frame_rate(29.97) == (30000, 1001) and frame_rate(23.976) == (24000, 1001)
    assert frame_rate(59.94006) == (60000, 1001)
    assert frame_rate(None) == (60, 1) and frame_rate(0.0) == (60, 1)
    assert frame_rate(12.5) == (25, 2)


def test_livelink_encode_decode_round_trip():
    vals = np.arange(61, dtype=np.float32) / 61
    p = encode_livelink(vals, subject="S", device_id="dev", frame=1234, sub_frame=0.5, fps=30)
    f = decode_livelink(p)
    assert (f.subject, f.device_id, f.frame, f.sub_frame, f.fps) == ("S", "dev", 1234, 0.5, 30)
    assert np.array_equal(f.values, vals)
    assert len(EAR_BLENDSHAPES) == 61 and EAR_BLENDSHAPES[17] == "jawOpen"
    with pytest.raises(ValueError):
        decode_livelink(p[:40])


def test_unresolvable_host_is_a_user_error():
    with pytest.raises(UserError, match="cannot resolve OSC host 'no-such-host.invalid'"):
        create_sink("native", "no-such-host.invalid:9000")
    with pytest.raises(UserError, match="cannot resolve OSC host"):
        create_sink("vmc", "no-such-host.invalid")
    with pytest.raises(UserError, match="cannot resolve Live Link host"):
        create_sink("livelink", "no-such-host.invalid")
    with pytest.raises(UserError, match="unknown protocol"):
        create_sink("midi", None)


def test_parse_endpoint():
    assert parse_endpoint(None, 9000) == ("127.0.0.1", 9000)
    assert parse_endpoint("192.168.1.5:7000", 9000) == ("192.168.1.5", 7000)
    assert parse_endpoint("studio-pc", 9000) == ("studio-pc", 9000)
    assert parse_endpoint(":9100", 9000) == ("127.0.0.1", 9100)
    assert parse_endpoint("9100", 9000) == ("127.0.0.1", 9100)
    assert parse_endpoint("[::1]:9200", 9000) == ("::1", 9200)
    with pytest.raises(UserError, match="bad port"):
        parse_endpoint("host:abc", 9000)
    with pytest.raises(UserError, match="out of range"):
        parse_endpoint("host:70000", 9000)


def test_send_error_is_logged_once_and_does_not_crash(caplog):
    sink = OscNativeSink("127.0.0.1", 9)  # discard port; nothing needs to listen
    with caplog.at_level(logging.WARNING, logger="lprr.engine.sinks.base"):
        too_big = b"x" * 70000  # over the UDP datagram limit: the OS refuses it
        assert sink._send(too_big) is False
        assert sink._send(too_big) is False
    assert sink.errors == 2
    assert len([r for r in caplog.records if "failed" in r.message]) == 1
    sink.send(np.zeros(C, np.float32), CONTROL_NAMES, 0.0, 0)  # still usable
    assert sink.sent == 1
    sink.close()


def test_wire_encoding_matches_python_osc():
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscMessageBuilder("/a/b")
    for v, tp in ((3, "i"), (0.25, "f"), ("hey", "s")):
        b.add_arg(v, tp)
    assert osc_message("/a/b", 3, 0.25, "hey") == b.build().dgram


def test_recorder_formats_and_errors(tmp_path):
    rec = Recorder(tmp_path / "r.csv", fps=30)
    rec.send(np.full(C, 0.5), CONTROL_NAMES, 2.0, 0)
    rec.send(np.full(C, 0.25), CONTROL_NAMES, 2.0 + 61.5, 1)
    rec.close()
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].startswith("Timecode,BlendShapeCount,eyeBlinkLeft,")
    assert lines[1].startswith(f"00:00:02:00.000,{C},0.5,")  # the source's clock
    assert lines[2].startswith("00:01:03:15.000,")
    with pytest.raises(UserError, match="use a .csv or .jsonl"):
        Recorder(tmp_path / "r.txt")
    with pytest.raises(UserError, match="does not exist"):
        Recorder(tmp_path / "nope" / "r.csv")


def test_send_cost_per_frame(osc_server, tmp_path):
    port, _, _ = osc_server
    w = _frames(200)
    sinks = {"native": create_sink("native", f"127.0.0.1:{port}"),
             "vmc": create_sink("vmc", f"127.0.0.1:{port}"),
             "livelink": create_sink("livelink", f"127.0.0.1:{port + 1 if port < 65535 else 1}"),
             "csv": Recorder(tmp_path / "c.csv")}
    for name, s in sinks.items():
        t0 = time.perf_counter()
        for i, row in enumerate(w):
            s.send(row, CONTROL_NAMES, i / 60, i)
        per = (time.perf_counter() - t0) / len(w)
        s.close()
        assert per < 1e-3, (name, per)  # ~20-60 us here; python-osc's builder alone is ~450 us
