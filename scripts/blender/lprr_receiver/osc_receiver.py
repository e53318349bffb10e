"""The socket side of the lprr receiver: no bpy here, so it also runs (and is tested) outside
Blender.

A daemon thread reads one UDP port (datagrams up to 64 KiB) and understands three streams
(docs/osc_format.md):

- native: ``/lprr/names`` (s...), ``/lprr/frame`` (i index, f time), ``/lprr/face`` (i),
  ``/lprr/weights`` (f..., in /lprr/names order). A frame is complete at /lprr/weights.
- VMC: ``/VMC/Ext/Blend/Val`` (s name, f value) per shape, then ``/VMC/Ext/Blend/Apply``; the
  values may come in several bundles (lprr keeps each datagram within 1472 bytes).
- Live Link Face: the iPhone app's UDP packet (version 6, device id, subject, frame time,
  61 big-endian floats in Unreal's EARFaceBlendShape order). One packet is one frame.

OSC bundles are handled the moment they arrive, whatever their time tag (a tag in the future
or the past never delays or drops a frame). Complete frames go into a bounded queue;
Blender's main thread drains it (``take``). The socket thread never touches Blender data:
Blender refuses writes from other threads.
"""
from __future__ import annotations

import collections
import importlib
import logging
import os
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("lprr_receiver")

DEFAULT_PORT = 9001  # NodeOSC's default; lprr's own native default is 9000
MAX_DATAGRAM = 65536  # the largest UDP payload is 65507 bytes: nothing is ever cut

# Unreal's EARFaceBlendShape order (the Live Link Face packet's 61 slots): the 52 ARKit shapes,
# then head and eye rotations (radians), which are not shape keys and are not applied.
LIVELINK_SLOTS: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
    "headYaw", "headPitch", "headRoll",
    "leftEyeYaw", "leftEyePitch", "leftEyeRoll",
    "rightEyeYaw", "rightEyePitch", "rightEyeRoll",
)
LIVELINK_SHAPES = 52  # the slots before the rotations
VENDOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_vendor")
PYTHON_OSC_ENV = "LPRR_PYTHON_OSC"  # a folder that contains the ``pythonosc`` package

PYTHON_OSC_HELP = (
    "python-osc is not importable inside Blender. Fix one of: run `lprr blender install-addon` "
    "(it copies python-osc into the add-on), set the add-on preference 'python-osc folder' to "
    "the folder that contains the 'pythonosc' package (e.g. <venv>/lib/python3.11/site-packages), "
    f"or set the environment variable {PYTHON_OSC_ENV} to that folder."
)


def ensure_pythonosc(extra_dirs: list[str] | tuple[str, ...] = ()) -> str:
    """Make ``import pythonosc`` work; returns the folder it came from.

    Looks, in order: already importable, the add-on's vendored copy (``_vendor/``), the
    folders given (the add-on preference), ``$LPRR_PYTHON_OSC``. Raises ImportError with
    the fix in the message.
    """
    try:
        mod = importlib.import_module("pythonosc")
        return os.path.dirname(os.path.dirname(os.path.abspath(mod.__file__)))
    except ImportError:
        pass
    candidates = [VENDOR_DIR, *extra_dirs, os.environ.get(PYTHON_OSC_ENV, "")]
    for d in candidates:
        if d and os.path.isfile(os.path.join(d, "pythonosc", "__init__.py")):
            if d not in sys.path:
                sys.path.append(d)
            importlib.invalidate_caches()
            importlib.import_module("pythonosc")
            return d
    raise ImportError(PYTHON_OSC_HELP)


@dataclass
class OscFrame:
    """One complete frame of weights, as received."""

    values: dict[str, float]
    protocol: str  # "native", "vmc" or "livelink"
    arrival: float  # time.monotonic() when it was complete
    index: int | None = None  # native: lprr's frame index; livelink: the frame number
    time: float | None = None  # native: seconds since lprr's first frame; livelink: frame/fps
    face: bool = True
    subject: str | None = None  # livelink


@dataclass
class ReceiverStats:
    packets: int = 0
    frames: int = 0
    dropped: int = 0  # frames pushed out of a full queue before the main thread took them
    bad: int = 0  # datagrams or messages that did not parse (wrong types, name/value mismatch)
    largest: int = 0  # bytes, the largest datagram received
    protocol: str = ""
    last_arrival: float = 0.0
    sources: set = field(default_factory=set)


def decode_livelink(data: bytes) -> OscFrame:
    """A Live Link Face packet as a frame; ValueError if it is not one."""
    try:
        pos = 1
        strings = []
        for _ in range(2):
            (n,) = struct.unpack_from(">i", data, pos)
            if not 0 <= n <= len(data) - pos - 4:
                raise ValueError(f"bad string length {n}")
            strings.append(data[pos + 4:pos + 4 + n].decode("utf-8"))
            pos += 4 + n
        frame, sub, num, den, count = struct.unpack_from(">ifiiB", data, pos)
        pos += 17
        if count != len(LIVELINK_SLOTS) or len(data) != pos + 4 * count:
            raise ValueError(f"{count} values in {len(data)} bytes")
        values = struct.unpack_from(f">{count}f", data, pos)
    except (struct.error, UnicodeDecodeError) as e:
        raise ValueError(f"not a Live Link Face packet: {e}") from None
    fps = num / den if num > 0 and den > 0 else 60.0
    shapes = dict(zip(LIVELINK_SLOTS[:LIVELINK_SHAPES], map(float, values)))
    return OscFrame(shapes, "livelink", time.monotonic(), frame, (frame + sub) / fps,
                    subject=strings[1])


class OscReceiver:
    """Listens on ``host:port`` in a daemon thread (port 0 picks a free one: see ``port``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 queue_size: int = 512, extra_dirs: tuple[str, ...] = ()):
        ensure_pythonosc(extra_dirs)
        from pythonosc.osc_packet import OscPacket, ParseError

        self._parse, self._parse_error = OscPacket, ParseError
        self.stats = ReceiverStats()
        self._lock = threading.Lock()
        self._queue: collections.deque[OscFrame] = collections.deque(maxlen=queue_size)
        self._names: tuple[str, ...] = ()
        self._index: int | None = None
        self._time: float | None = None
        self._face = True
        self._vmc: dict[str, float] = {}
        self._handlers = {
            "/lprr/names": self._on_names, "/lprr/frame": self._on_frame,
            "/lprr/face": self._on_face, "/lprr/weights": self._on_weights,
            "/VMC/Ext/Blend/Val": self._on_vmc_val, "/VMC/Ext/Blend/Apply": self._on_vmc_apply,
        }
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self._sock.bind((host, int(port)))
        except OSError as e:
            self._sock.close()
            raise OSError(f"cannot listen on {host}:{port} ({e.strerror or e}); is another "
                          "receiver (NodeOSC, a second Blender) using that port?") from None
        self._sock.settimeout(0.05)  # so stop() returns quickly
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="lprr-osc-receiver",
                                         daemon=True)
        self._thread.start()
        log.info("lprr receiver listening on %s:%d (native /lprr/*, VMC, Live Link Face)",
                 self.host, self.port)

    # ---------------------------------------------------------------- socket thread
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                break  # closed
            try:
                self.handle(data)
            except Exception:  # a bad datagram must never end the thread
                self.stats.bad += 1
                log.exception("lprr receiver: a datagram from %s failed", addr)

    def handle(self, data: bytes) -> None:
        """One datagram: OSC (a message or bundle, time tags ignored) or Live Link Face."""
        self.stats.packets += 1
        self.stats.largest = max(self.stats.largest, len(data))
        if data[:1] in (b"#", b"/"):
            try:
                messages = self._parse(data).messages
            except self._parse_error:
                self.stats.bad += 1
                return
            for m in messages:  # in order; every message now, whatever the bundle's tag
                fn = self._handlers.get(m.message.address)
                if fn is not None:
                    fn(*m.message.params)
            return
        try:
            frame = decode_livelink(data)
        except ValueError:
            self.stats.bad += 1
            return
        self._push(frame)

    def _push(self, frame: OscFrame) -> None:
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                self.stats.dropped += 1
            self._queue.append(frame)
            self.stats.frames += 1
            self.stats.protocol = frame.protocol
            self.stats.last_arrival = frame.arrival

    def _on_names(self, *names) -> None:
        if all(isinstance(n, str) for n in names):
            self._names = tuple(names)
        else:
            self.stats.bad += 1

    def _on_frame(self, *args) -> None:
        if len(args) >= 2 and isinstance(args[0], int):
            self._index, self._time = int(args[0]), float(args[1])

    def _on_face(self, *args) -> None:
        if args:
            self._face = bool(args[0])

    def _on_weights(self, *values) -> None:
        if not self._names:
            return  # names arrive within a second (lprr repeats /lprr/names)
        if len(values) != len(self._names):
            self.stats.bad += 1
            return
        self._push(OscFrame(dict(zip(self._names, map(float, values))), "native",
                            time.monotonic(), self._index, self._time, self._face))

    def _on_vmc_val(self, *args) -> None:
        if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], (int, float)):
            self._vmc[args[0]] = float(args[1])
        else:
            self.stats.bad += 1

    def _on_vmc_apply(self, *_args) -> None:
        if self._vmc:
            self._push(OscFrame(self._vmc, "vmc", time.monotonic()))
            self._vmc = {}

    # ---------------------------------------------------------------- main thread
    def take(self, all_frames: bool = False) -> list[OscFrame]:
        """Frames received since the last call: all of them in order, or only the newest."""
        with self._lock:
            frames = list(self._queue)
            self._queue.clear()
        return frames if all_frames else frames[-1:]

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._sock.close()
        log.info("lprr receiver on port %d stopped", self.port)
