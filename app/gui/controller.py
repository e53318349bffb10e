"""The live session behind the GUI: capture, pipeline, post-processing and sinks, off the GUI
thread.

``LiveSession.start`` returns at once; a starter thread opens the source, loads the models
and starts the pipeline: an ``engine.session.Session``, as for ``lprr run``. Results come back
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

from PySide6.QtCore import QObject, QTimer, Signal

from lprr.app.gui.history import WeightHistory
from lprr.app.gui.presenter import Presenter
from lprr.engine.capture import Capture
from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import Interrupted, UserError
from lprr.engine.methods import DEFAULT_METHOD, method_class
from lprr.engine.post.mapping import ControlMap, WeightMapping
from lprr.engine.retarget import FrameResult
from lprr.engine.session import Session, SessionSpec
from lprr.engine.sinks.live import LiveSinks, describe_error
from lprr.engine.sinks.recorder import Recorder

__all__ = ["LiveSession", "SessionConfig", "SessionStats", "describe_error", "frames_text",
           "source_frames"]

log = logging.getLogger(__name__)
_SESSIONS: weakref.WeakSet[LiveSession] = weakref.WeakSet()


@atexit.register
def _stop_all_sessions() -> None:
    """A window destroyed without closing (or an app quit by other means) must not leave
    capture and pipeline threads inside OpenCV or MediaPipe while Python finalizes: that
    aborts the process."""
    for s in list(_SESSIONS):
        s.stop(1.0)


# -- sources --------------------------------------------------------------------------------

def source_frames(cap: Capture) -> tuple[int, bool]:
    """(frames in the file, looping): (0, False) for cameras and sources of unknown length."""
    src = cap.source
    per_loop = getattr(src, "frames_per_loop", None)
    return (per_loop, True) if per_loop is not None else (len(src), False)


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
    method: str = DEFAULT_METHOD  # engine/methods.py


@dataclass
class SessionStats:
    state: str  # stopped | starting | running
    frames_out: int = 0
    faces: int = 0
    latency_ms: float = 0.0  # capture to wire, the newest frame
    latency_p50_ms: float = 0.0  # ... and over the recent frames
    latency_p99_ms: float = 0.0
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


class _Run:
    """One start..stop: a Session (opened by the starter thread) and the presenter."""

    def __init__(self, cfg: SessionConfig, spec: SessionSpec, post_lock: threading.Lock,
                 on_result: Callable[[FrameResult], None]):
        self.cfg = cfg
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.session: Session | None = Session(spec, on_result=on_result, cancel=self.cancel,
                                               post_lock=post_lock)
        self.sinks: LiveSinks = self.session.sinks
        self.presenter: Presenter | None = None
        self.running = False
        self.started_threads: list[threading.Thread] = []  # capture + pipeline, once started

    # what the session has built so far (None before, and after shutdown)
    @property
    def cap(self) -> Capture | None:
        return self.session.capture if self.session is not None else None

    @property
    def rt(self):
        return self.session.method if self.session is not None else None

    @property
    def pipe(self):
        return self.session.pipeline if self.session is not None else None

    @property
    def post(self):
        return self.session.post if self.session is not None else None

    def threads(self) -> list[threading.Thread]:
        """Every thread of this run, including those already stopped."""
        return ([self.thread] if self.thread else []) + self.started_threads

    def shutdown(self, deadline: float) -> bool:
        """Stop capture, pipeline (which closes the sinks) and models by ``deadline``."""
        self.cancel.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(max(0.0, deadline - time.monotonic()))
            if self.thread.is_alive():
                return False  # still opening: it sees the cancel and closes what it built
        with self.lock:
            session, pres = self.session, self.presenter
            self.session = self.presenter = None
            self.running = False
        ok = True
        if session is not None:
            ok = session.stop(max(0.05, deadline - time.monotonic()), drain=False)
        if pres is not None:  # after the pipeline: nothing submits any more
            ok = pres.stop(max(0.05, deadline - time.monotonic())) and ok
        if session is not None:
            session.close()
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
        run = _Run(cfg, self._spec(cfg), self.post_lock,
                   on_result=lambda r: self._on_result(run, r))
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

    def _spec(self, cfg: SessionConfig) -> SessionSpec:
        osc = self.osc
        return SessionSpec(
            source=cfg.source, models=cfg.models, method=cfg.method, backend=cfg.backend,
            # what the method shows in a live preview (f2f: the nearest rendered mouth)
            options=dict(getattr(method_class(cfg.method), "preview_options", {})),
            mirror=cfg.mirror, paced=cfg.paced, realtime=cfg.realtime, loop=cfg.loop,
            osc=osc[1] if osc else None, protocol=osc[0] if osc else "native",
            names=osc[2] if osc else "arkit", rename=osc[3] if osc else None,
            record=self.record_path)

    def _starter(self, run: _Run) -> None:
        try:
            self._build(run)
        except BaseException as e:
            self._cleanup_failed(run)
            if not isinstance(e, Interrupted) and not run.cancel.is_set():
                log.debug("session start failed", exc_info=True)
                self.failed.emit(describe_error(e))

    def _build(self, run: _Run) -> None:
        session = run.session
        if session is None:
            raise Interrupted("stopped")
        if session.spec.record is not None:
            session.spec.record.parent.mkdir(parents=True, exist_ok=True)
        # The user's likely mistakes (source, output) are checked first, then the models load.
        session.open()
        post, rt = session.post, session.method
        assert post is not None and rt is not None
        names = tuple(rt.controls)
        with self.post_lock:
            post.mapping = self._mapping_for(names)
            if self.smoothing:
                post.set_smoothing(self.smoothing["eyes"], self.smoothing["mouth"])
        self.history.reset(names)
        pres = (Presenter(self.prepare, self._notify, self.prepare_hz)
                if self.prepare is not None else None)
        with run.lock:
            if run.cancel.is_set():
                raise Interrupted("stopped")
            run.presenter = pres
            if pres is not None:
                pres.start()
            session.start()
            cap, pipe = session.capture, session.pipeline
            assert cap is not None and pipe is not None
            run.started_threads = [t for t in (cap.thread, *pipe.threads,
                                               pres.thread if pres else None) if t is not None]
            run.running = True
        self.started.emit(f"{cap.source.name} | {rt.describe()}")

    @staticmethod
    def _cleanup_failed(run: _Run) -> None:
        with run.lock:
            session, pres = run.session, run.presenter
            run.session = run.presenter = None
            run.running = False
        if session is not None:
            session.close()
        if pres is not None:
            pres.stop(0.5)

    def _on_result(self, run: _Run, r: FrameResult) -> None:  # the pipeline's inference thread
        if r.weights is not None:
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
        self.smoothing = {"eyes": (eyes[0], eyes[1]), "mouth": (mouth[0], mouth[1])}
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
            lat = run.session.latency_ms() if run.session is not None else None
            if lat is not None and lat["n"]:
                s.latency_p50_ms, s.latency_p99_ms = lat["p50"], lat["p99"]
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
            s.output = getattr(osc, "describe", lambda: osc.name)() + (
                f" ({errors} send errors)" if errors else "")
        rec = run.sinks.get("record")
        if isinstance(rec, Recorder):
            s.recording = f"{rec.path.name}: {rec.frames} frames"
        if run.sinks.last_error:
            s.output += f" | {run.sinks.last_error}"
        return s
