"""The live session behind the GUI: capture, pipeline, post-processing and sinks, off the GUI
thread.

``LiveSession.start`` returns at once; a starter thread opens the source, loads the models
and starts the pipeline (the same wiring as ``lprr.engine.session.run_live``). Results come back
through ``on_result`` on the pipeline's inference thread: each one is appended to the curve
history and kept as the *latest* result. With a ``prepare`` function (the window's), a
``Presenter`` thread turns the newest result into display images off the GUI thread; either
way ``result_ready`` announces something new to draw (coalesced: at most one pending), so a
slow GUI only ever draws the newest frame and never builds a queue. Everything the user
changes while it runs (smoothing, mapping, calibration, OSC, recording) is applied under
locks shared with the inference thread.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from lprr.app.gui.history import WeightHistory
from lprr.app.gui.presenter import Presenter
from lprr.engine.capture import IMAGE_EXTS, Capture, Source, VideoFileSource
from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.post.mapping import ControlMap, WeightMapping
from lprr.engine.retarget import FrameResult
from lprr.engine.sinks.base import Sink

log = logging.getLogger(__name__)
_SESSIONS: weakref.WeakSet[LiveSession] = weakref.WeakSet()


@atexit.register
def _stop_all_sessions() -> None:
    """A window destroyed without closing (or an app quit by other means) must not leave
    capture and pipeline threads inside OpenCV or MediaPipe while Python finalizes: that
    aborts the process."""
    for s in list(_SESSIONS):
        s.stop(1.0)


def describe_error(e: BaseException) -> str:
    """One line a user can act on: UserErrors as they are, anything else with its type."""
    if isinstance(e, UserError):
        return str(e)
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}" + (f": {e.filename}" if e.filename else "")
    return f"{type(e).__name__}: {e}"


# -- sources --------------------------------------------------------------------------------

class LoopingVideo(Source):
    """A video file that starts again at its end: the demo clip plays until Stop."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._src = VideoFileSource(self.path)
        self.fps = self._src.fps
        self.name = f"{self.path} (looping)"
        self.loops = 0
        self.frames_per_loop = len(self._src)

    def read(self) -> np.ndarray | None:
        img = self._src.read()
        if img is None:
            self._src.close()
            self._src = VideoFileSource(self.path)
            self.loops += 1
            img = self._src.read()
        return img

    def close(self) -> None:
        self._src.close()


def open_capture(source: str, mirror: bool, loop: bool, paced: bool = True,
                 realtime: bool = False) -> Capture:
    """A capture for a camera index, file, folder or puppet:PHOTO.

    Cameras (and, paced, the puppet) keep only the latest frame. Files and folders give
    every frame, in order: paced at their fps, or unpaced as fast as the pipeline takes them
    (which also spares decoding frames only to drop them: measured ~20% of a core).
    ``realtime`` (paced files only) makes a file behave like a camera: frames that arrive
    while the pipeline is behind are dropped, and the newest one is processed."""
    text = source.strip()
    if not text:
        raise UserError("no source: pick a camera or open a video file")
    p = Path(text)
    if loop and not text.isdigit() and p.is_file() and p.suffix.lower() not in IMAGE_EXTS:
        cap = Capture(LoopingVideo(p), mirror=mirror)
    elif text.startswith("puppet:"):
        from lprr.engine.session import open_source

        cap = open_source(text, mirror=mirror, drop=True)
    else:
        cap = Capture(text, mirror=mirror)
    camera_like = text.startswith("puppet:")  # endless: stands in for a camera
    cap.realtime = paced and not cap.source.live
    cap.drop = cap.source.live or (paced and (realtime or camera_like))
    return cap


def source_frames(cap: Capture) -> tuple[int, bool]:
    """(frames in the file, looping): (0, False) for cameras and sources of unknown length."""
    src = cap.source
    per_loop = getattr(src, "frames_per_loop", None)
    return (per_loop, True) if per_loop is not None else (len(src), False)


# -- sinks ----------------------------------------------------------------------------------

class LiveSinks(Sink):
    """Named slots ("osc", "record") that may be swapped while the pipeline sends.

    ``send`` and ``set`` share one lock, so once ``set`` returns no frame is still going to
    the old sink, and closing it is safe.
    """

    name = "gui-sinks"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, Sink] = {}
        self._closed = False
        self.last_error: str | None = None

    def set(self, key: str, sink: Sink | None) -> None:
        with self._lock:
            old = self._slots.pop(key, None)
            if sink is not None and self._closed:  # the run is over: nothing will send
                old, sink = sink, None
            if sink is not None:
                self._slots[key] = sink
        if old is not None:
            old.close()

    def get(self, key: str) -> Sink | None:
        with self._lock:
            return self._slots.get(key)

    def send(self, weights, names, t, frame_index, face=True) -> None:
        with self._lock:
            for key, s in list(self._slots.items()):
                try:
                    s.send(weights, names, t, frame_index, face)
                except Exception as e:  # noqa: BLE001 - a failing output must not stop the rest
                    self.last_error = f"{key}: {describe_error(e)}"
                    log.warning("sink %s failed, removed: %s", key, e)
                    self._slots.pop(key, None)

    def close(self) -> None:
        with self._lock:
            slots, self._slots, self._closed = self._slots, {}, True
        for s in slots.values():
            try:
                s.close()
            except Exception as e:  # noqa: BLE001
                log.warning("closing %s: %s", s.name, e)


# -- the session ----------------------------------------------------------------------------

@dataclass
class SessionConfig:
    models: Path
    source: str
    backend: str = "auto"
    mirror: bool = False
    loop: bool = True  # video files start again at their end
    paced: bool = True  # files play at their own fps (off: as fast as the pipeline takes)
    realtime: bool = False  # paced files drop frames when behind, as a camera does
    method: str = "lprr"  # engine/methods.py


@dataclass
class SessionStats:
    state: str  # stopped | starting | running
    frames_out: int = 0
    faces: int = 0
    latency_ms: float = 0.0
    face: str = "-"
    dropped: int = 0  # frames the capture read and the pipeline never saw
    frames_total: int = 0  # frames in the file (a loop of it); 0: a camera or unknown
    looping: bool = False
    backend: str = "-"
    source: str = "-"
    output: str = "off"
    recording: str = "off"


def frames_text(st: SessionStats) -> str:
    """The status bar's count: frames processed, of how many, and how many were dropped."""
    text = f"frames {st.frames_out}"
    if st.frames_total and st.looping:
        text += f" ({st.frames_total} a loop)"
    elif st.frames_total:
        text += f"/{st.frames_total}"
    return text + (f", {st.dropped} dropped" if st.dropped else "")


class _Cancelled(Exception):
    """Stop was pressed while the run was still starting."""


class _Run:
    """The objects of one start..stop; filled in by the starter thread."""

    def __init__(self, cfg: SessionConfig):
        self.cfg = cfg
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.cap: Capture | None = None
        self.rt = None
        self.pipe = None
        self.post = None
        self.presenter: Presenter | None = None
        self.sinks = LiveSinks()
        self.running = False
        self.started_threads: list[threading.Thread] = []  # capture + pipeline, once started

    def threads(self) -> list[threading.Thread]:
        """Every thread of this run, including those already stopped."""
        return ([self.thread] if self.thread else []) + self.started_threads

    def shutdown(self, deadline: float) -> bool:
        """Stop capture, pipeline (which closes the sinks) and models by ``deadline``."""
        self.cancel.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(max(0.0, deadline - time.monotonic()))
        with self.lock:
            cap, pipe, rt, pres = self.cap, self.pipe, self.rt, self.presenter
            self.cap = self.pipe = self.rt = self.presenter = None
            self.running = False
        if cap is not None:  # first: wakes the pipeline's capture thread out of cap.read()
            cap.stop(max(0.05, min(0.5, deadline - time.monotonic())))
        ok = True
        if pipe is not None:
            ok = pipe.stop(max(0.05, deadline - time.monotonic()))
        else:
            self.sinks.close()
        if pres is not None:  # after the pipeline: nothing submits any more
            ok = pres.stop(max(0.05, deadline - time.monotonic())) and ok
        if rt is not None:
            rt.close()
        return ok and not any(th.is_alive() for th in self.threads())


class LiveSession(QObject):
    """One live run at a time; see the module docstring."""

    started = Signal(str)  # what runs: source, models, backend
    failed = Signal(str)  # the run could not start, or stopped on an error
    ended = Signal(str)  # the run stopped by itself (source ended); the text says why
    result_ready = Signal()  # a new latest result; coalesced (at most one pending)

    def __init__(self, parent: QObject | None = None, history_s: float = 10.0,
                 prepare: Callable[[FrameResult], object] | None = None,
                 prepare_hz: float = 60.0):
        """prepare: runs on the presenter thread, at most ``prepare_hz`` times a second, on
        the newest result; ``take_latest`` then returns what it made (without it: the
        FrameResult itself)."""
        super().__init__(parent)
        self.history = WeightHistory(history_s, names=CONTROL_NAMES)
        self.prepare = prepare
        self.prepare_hz = prepare_hz
        self.post_lock = threading.Lock()  # held around every PostProcessor call
        self._lock = threading.Lock()
        self._latest: FrameResult | None = None
        self._pending = False
        self._run: _Run | None = None
        self._old_runs: list[_Run] = []  # runs whose threads did not end in time
        # What the user set; applied to every run, live or next.
        self.smoothing: dict[str, tuple[float, float]] | None = None
        self.mapping: dict[str, ControlMap] = {}
        # (protocol, "HOST:PORT", name style, rename table)
        self.osc: tuple[str, str, str, dict[str, str]] | None = None
        self.record_path: Path | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._check_finished)
        _SESSIONS.add(self)

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        r = self._run
        if r is None:
            return "stopped"
        return "running" if r.running else "starting"

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def controls(self) -> tuple[str, ...]:
        r = self._run
        return tuple(r.rt.controls) if r is not None and r.rt is not None else self.history.names

    @property
    def method(self) -> str | None:
        """The running method's name (None until its models are loaded)."""
        r = self._run
        return r.rt.name if r is not None and r.rt is not None else None

    @property
    def post(self):
        r = self._run
        return r.post if r is not None else None

    @property
    def capture(self) -> Capture | None:
        r = self._run
        return r.cap if r is not None else None

    @property
    def pipeline(self):
        r = self._run
        return r.pipe if r is not None else None

    def threads(self) -> list[threading.Thread]:
        """Every thread this session started (running or not); for tests and diagnostics."""
        out = [th for r in self._old_runs for th in r.threads()]
        if self._run is not None:
            out.extend(self._run.threads())
        return out

    @property
    def presenter(self) -> Presenter | None:
        r = self._run
        return r.presenter if r is not None else None

    def take_latest(self) -> object | None:
        """The newest result (or what ``prepare`` made of it) not yet taken; None if none."""
        pres = self.presenter
        if pres is not None:
            with self._lock:
                self._pending = False
            return pres.take()
        with self._lock:
            r, self._latest, self._pending = self._latest, None, False
            return r

    # -- start / stop -----------------------------------------------------------------------
    def start(self, cfg: SessionConfig) -> None:
        """Begin a run (stopping any current one); returns at once."""
        self.stop()
        run = _Run(cfg)
        run.thread = threading.Thread(target=self._starter, args=(run,), name="lprr-gui-start",
                                      daemon=True)
        self._run = run
        run.thread.start()
        self._poll.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop the current run; True when every thread ended within ``timeout`` seconds."""
        run, self._run = self._run, None
        try:
            self._poll.stop()
        except RuntimeError:  # the Qt side is gone already (window destroyed); threads are not
            pass
        if run is None:
            return True
        ok = run.shutdown(time.monotonic() + timeout)
        if not ok:
            self._old_runs.append(run)
            log.warning("some session threads were still running after %.1f s", timeout)
        with self._lock:
            self._latest, self._pending = None, False
        return ok

    def _starter(self, run: _Run) -> None:
        try:
            self._build(run)
        except BaseException as e:
            self._cleanup_failed(run)
            if not isinstance(e, _Cancelled) and not run.cancel.is_set():
                log.debug("session start failed", exc_info=True)
                self.failed.emit(describe_error(e))

    def _build(self, run: _Run) -> None:
        from lprr.engine.methods import create_method
        from lprr.engine.pipeline import Pipeline
        from lprr.engine.post.postprocess import PostConfig, PostProcessor
        from lprr.engine.session import capture_frames
        from lprr.engine.timing import StageTimes

        def check() -> None:
            if run.cancel.is_set():
                raise _Cancelled

        cfg = run.cfg
        # The user's most likely mistakes first (source, output), before the slow model load.
        cap = open_capture(cfg.source, cfg.mirror, cfg.loop, cfg.paced, cfg.realtime)
        with run.lock:
            run.cap = cap
        check()
        self._make_osc(run.sinks, cap)
        times = StageTimes()
        # f2f: the live preview also shows the character's nearest rendered mouth
        extra = {"mouth_renders": "demo"} if cfg.method == "f2f" else {}
        rt = create_method(cfg.method, cfg.models, cfg.backend, times=times, **extra)
        with run.lock:
            run.rt = rt
        check()
        rt.warmup()  # first-call costs stay out of the first frames' latency
        check()
        names = tuple(rt.controls)
        post = PostProcessor(PostConfig(mapping=self._mapping_for(names)), names=names)
        if self.smoothing:
            post.set_smoothing(self.smoothing["eyes"], self.smoothing["mouth"])
        if self.record_path is not None:
            self._make_recorder(run.sinks, self.record_path, cap)

        def post_fn(x, t):
            with self.post_lock:
                return post.process(x, t)

        self.history.reset(names)
        pres = (Presenter(self.prepare, self._notify, self.prepare_hz)
                if self.prepare is not None else None)
        pipe = Pipeline(rt, capture_frames(cap), post=post_fn, sinks=[run.sinks],
                        on_result=lambda r: self._on_result(run, r), times=times)
        with run.lock:
            if run.cancel.is_set():
                pipe.front.close()
                raise _Cancelled
            run.post, run.pipe, run.presenter = post, pipe, pres
            if pres is not None:
                pres.start()
            cap.start()
            pipe.start()
            run.started_threads = [t for t in (cap.thread, *pipe.threads,
                                               pres.thread if pres else None) if t is not None]
            run.running = True
        self.started.emit(f"{cap.source.name} | {rt.describe()}")

    @staticmethod
    def _cleanup_failed(run: _Run) -> None:
        with run.lock:
            cap, rt, pipe, pres = run.cap, run.rt, run.pipe, run.presenter
            run.cap = run.rt = run.pipe = run.presenter = None
            run.running = False
        if pipe is not None:
            pipe.stop(0.5)
        if pres is not None:
            pres.stop(0.5)
        if cap is not None:
            cap.stop(0.5)
        if rt is not None:
            rt.close()
        run.sinks.close()

    def _on_result(self, run: _Run, r: FrameResult) -> None:  # the pipeline's inference thread
        self.history.append(time.perf_counter(), r.weights)
        pres = run.presenter
        if pres is not None:
            pres.submit(r)  # the presenter thread prepares it and calls _notify
            return
        if run is not self._run:
            return  # a late frame of a stopped run
        with self._lock:
            self._latest = r
        self._notify()

    def _notify(self) -> None:  # the inference or the presenter thread
        with self._lock:
            notify, self._pending = not self._pending, True
        if notify:
            try:
                self.result_ready.emit()
            except RuntimeError:  # the window (and this QObject's C++ side) is gone
                threading.Thread(target=self.stop, name="lprr-gui-orphan-stop",
                                 daemon=True).start()

    def _check_finished(self) -> None:
        """GUI thread, every 100 ms: a run whose pipeline ended by itself is wound up here."""
        run = self._run
        if run is None:
            self._poll.stop()
            return
        if not run.running:
            if run.thread is not None and not run.thread.is_alive():
                self.stop()  # the start failed (already reported through ``failed``)
            return
        pipe = run.pipe
        if pipe is None or not pipe.finished.is_set():
            return
        err = pipe.error
        self.stop()
        if err is not None:
            self.failed.emit(describe_error(err))
        else:
            self.ended.emit("source ended")

    # -- live settings ----------------------------------------------------------------------
    def calibrate(self, seconds: float = 2.0) -> None:
        post = self.post
        if post is None:
            raise UserError("start the session first, then calibrate while holding a neutral "
                            "face")
        with self.post_lock:
            post.start_calibration(seconds=seconds)

    def reset_calibration(self) -> None:
        post = self.post
        if post is not None:
            with self.post_lock:
                post.calibration.reset()

    def neutral_offsets(self) -> dict[str, float]:
        post = self.post
        if post is None:
            return {}
        with self.post_lock:
            return dict(zip(post.names, (float(v) for v in post.calibration.offsets)))

    def set_smoothing(self, eyes: tuple[float, float], mouth: tuple[float, float]) -> None:
        self.smoothing = {"eyes": tuple(eyes), "mouth": tuple(mouth)}
        post = self.post
        if post is not None:
            with self.post_lock:
                post.set_smoothing(eyes, mouth)

    def set_mapping(self, controls: dict[str, ControlMap]) -> None:
        self.mapping = dict(controls)
        post = self.post
        if post is not None:
            mapping = self._mapping_for(post.names)
            with self.post_lock:
                post.mapping = mapping

    def _mapping_for(self, names: Sequence[str]) -> WeightMapping:
        return WeightMapping(names, controls={n: m for n, m in self.mapping.items()
                                              if n in names})

    def set_mirror(self, mirror: bool) -> None:
        r = self._run
        if r is not None and r.cap is not None:
            r.cap.mirror = mirror  # read by the capture thread for every frame
        if r is not None:
            r.cfg.mirror = mirror

    def set_osc(self, protocol: str | None, endpoint: str = "", names: str = "arkit",
                rename: dict[str, str] | None = None) -> str:
        """Send to ``protocol`` at HOST:PORT (None: stop sending); re-created live.

        Raises UserError (bad host, port) and leaves the previous output in place."""
        if protocol is None:
            self.osc = None
            if self._run is not None:
                self._run.sinks.set("osc", None)
            return "off"
        from lprr.engine.sinks import create_sink

        run = self._run
        fps = run.cap.source.fps if run is not None and run.cap is not None else None
        rename = dict(rename or {})
        sink = create_sink(protocol, endpoint, names=names, rename=rename, fps=fps)  # validates
        self.osc = (protocol, endpoint, names, rename)
        desc = sink.describe()
        if run is not None:
            run.sinks.set("osc", sink)
        else:
            sink.close()  # the next run makes its own
        return desc

    def _make_osc(self, sinks: LiveSinks, cap: Capture | None = None) -> None:
        if self.osc is not None:
            from lprr.engine.sinks import create_sink

            protocol, endpoint, names, rename = self.osc
            sinks.set("osc", create_sink(protocol, endpoint, names=names, rename=rename,
                                         fps=cap.source.fps if cap is not None else None))

    def set_recording(self, path: str | Path | None) -> str:
        """Record weights to a .csv/.jsonl file (None: stop recording and close the file)."""
        if path:
            from lprr.engine.sinks.recorder import FORMATS

            if Path(path).suffix.lower() not in FORMATS:
                raise UserError(f"cannot record to {path}: use a .csv or .jsonl file")
        self.record_path = Path(path) if path else None
        run = self._run
        if run is None or not run.running:
            return "off" if path is None else f"armed: {path}"
        if self.record_path is None:
            run.sinks.set("record", None)
            return "off"
        self._make_recorder(run.sinks, self.record_path, run.cap)
        return str(self.record_path)

    def _make_recorder(self, sinks: LiveSinks, path: Path, cap: Capture | None) -> None:
        from lprr.engine.sinks.recorder import Recorder

        path.parent.mkdir(parents=True, exist_ok=True)
        fps = (cap.source.fps if cap is not None else None) or 30.0
        sinks.set("record", Recorder(path, fps=fps))

    # -- numbers for the status bar -------------------------------------------------------
    def stats(self) -> SessionStats:
        run = self._run
        if run is None:
            return SessionStats("stopped")
        s = SessionStats(self.state)
        cap, pipe, post, rt = run.cap, run.pipe, run.post, run.rt
        if cap is not None:
            s.source, s.dropped = cap.source.name, cap.dropped
            s.frames_total, s.looping = source_frames(cap)
        if rt is not None:
            s.backend = rt.backend_name
        if pipe is not None:
            s.frames_out, s.faces = pipe.frames_out, pipe.faces
            s.latency_ms = pipe.last_latency * 1e3
        if post is not None:
            s.face = "calibrating" if post.calibrating else post.state
        if pipe is not None:
            # the landmarks drawn on the video are the followed face's
            n = pipe.front.landmarker.last_num_faces
            s.face = pipe.face_note or (s.face + (f", following 1 of {n} faces (its "
                                                  "landmarks are drawn)" if n > 1 else ""))
        osc = run.sinks.get("osc")
        if osc is not None:
            errors = getattr(osc, "errors", 0)
            s.output = osc.describe() + (f" ({errors} send errors)" if errors else "")
        rec = run.sinks.get("record")
        if rec is not None:
            s.recording = f"{rec.path.name}: {rec.frames} frames"
        if run.sinks.last_error:
            s.output += f" | {run.sinks.last_error}"
        return s
