"""The socket side of the lprr receiver: no bpy here, so it also runs (and is tested) outside
Blender.

A daemon thread runs python-osc's UDP server on one port and understands both streams lprr
sends (docs/osc_format.md):

- native: ``/lprr/names`` (s...), ``/lprr/frame`` (i index, f time), ``/lprr/face`` (i),
  ``/lprr/weights`` (f..., in /lprr/names order). A frame is complete at /lprr/weights.
- VMC: ``/VMC/Ext/Blend/Val`` (s name, f value) per shape, then ``/VMC/Ext/Blend/Apply``.

Complete frames go into a bounded queue; Blender's main thread drains it (``take``). The
socket thread never touches Blender data: Blender refuses writes from other threads.
"""
from __future__ import annotations

import collections
import importlib
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("lprr_receiver")

DEFAULT_PORT = 9001  # NodeOSC's default; lprr's own native default is 9000
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
    protocol: str  # "native" or "vmc"
    arrival: float  # time.monotonic() when it was complete
    index: int | None = None  # native: lprr's frame index
    time: float | None = None  # native: seconds since lprr's first frame
    face: bool = True


@dataclass
class ReceiverStats:
    packets: int = 0
    frames: int = 0
    dropped: int = 0  # frames pushed out of a full queue before the main thread took them
    bad: int = 0  # messages that did not parse as lprr/VMC (wrong types, name/value mismatch)
    protocol: str = ""
    last_arrival: float = 0.0
    sources: set = field(default_factory=set)


class OscReceiver:
    """Listens on ``host:port`` in a daemon thread (port 0 picks a free one: see ``port``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 queue_size: int = 512, extra_dirs: tuple[str, ...] = ()):
        ensure_pythonosc(extra_dirs)
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        self.stats = ReceiverStats()
        self._lock = threading.Lock()
        self._queue: collections.deque[OscFrame] = collections.deque(maxlen=queue_size)
        self._names: tuple[str, ...] = ()
        self._index: int | None = None
        self._time: float | None = None
        self._face = True
        self._vmc: dict[str, float] = {}

        d = Dispatcher()
        d.map("/lprr/names", self._on_names)
        d.map("/lprr/frame", self._on_frame)
        d.map("/lprr/face", self._on_face)
        d.map("/lprr/weights", self._on_weights)
        d.map("/VMC/Ext/Blend/Val", self._on_vmc_val)
        d.map("/VMC/Ext/Blend/Apply", self._on_vmc_apply)
        d.set_default_handler(self._on_other)
        try:
            self._server = BlockingOSCUDPServer((host, int(port)), d)
        except OSError as e:
            raise OSError(f"cannot listen on {host}:{port} ({e.strerror or e}); is another "
                          "receiver (NodeOSC, a second Blender) using that port?") from None
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._serve, name="lprr-osc-receiver",
                                         daemon=True)
        self._thread.start()
        log.info("lprr receiver listening on %s:%d (native /lprr/* and VMC)", self.host,
                 self.port)

    # ---------------------------------------------------------------- socket thread
    def _serve(self) -> None:
        # short poll so stop() returns quickly
        self._server.serve_forever(poll_interval=0.05)

    def _push(self, frame: OscFrame) -> None:
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                self.stats.dropped += 1
            self._queue.append(frame)
            self.stats.frames += 1
            self.stats.protocol = frame.protocol
            self.stats.last_arrival = frame.arrival

    def _on_names(self, _addr: str, *names) -> None:
        self.stats.packets += 1
        if all(isinstance(n, str) for n in names):
            self._names = tuple(names)
        else:
            self.stats.bad += 1

    def _on_frame(self, _addr: str, *args) -> None:
        if len(args) >= 2 and isinstance(args[0], int):
            self._index, self._time = int(args[0]), float(args[1])

    def _on_face(self, _addr: str, *args) -> None:
        if args:
            self._face = bool(args[0])

    def _on_weights(self, _addr: str, *values) -> None:
        if not self._names:
            return  # names arrive within a second (lprr repeats /lprr/names)
        if len(values) != len(self._names):
            self.stats.bad += 1
            return
        self._push(OscFrame(dict(zip(self._names, map(float, values))), "native",
                            time.monotonic(), self._index, self._time, self._face))

    def _on_vmc_val(self, _addr: str, *args) -> None:
        if len(args) == 2 and isinstance(args[0], str):
            self._vmc[args[0]] = float(args[1])
        else:
            self.stats.bad += 1

    def _on_vmc_apply(self, _addr: str, *_args) -> None:
        self.stats.packets += 1
        if self._vmc:
            self._push(OscFrame(self._vmc, "vmc", time.monotonic()))
            self._vmc = {}

    def _on_other(self, _addr: str, *_args) -> None:
        pass  # /lprr/w/<name>, VMC bone/root messages: not used here

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
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=2.0)
        self._server.server_close()
        log.info("lprr receiver on port %d stopped", self.port)
