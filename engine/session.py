"""One session: a source, a method, post-processing and outputs, built, started, stopped and
closed in one place.

``lprr run``, ``lprr demo``, ``lprr eval`` and the GUI each describe what they want in a
``SessionSpec`` and hand it to a ``Session``; the GUI's controller (app/gui/controller.py) is a
Qt adapter around one. ``Session.open`` checks what a user can get wrong (the source, the
output address) before the slow model load, and every step of it can be cancelled; nothing
is recorded until ``start``. While it runs, its outputs are slots that can be swapped
(``sinks``) and its post-processing can be changed under ``post_lock``.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2

from lprr.engine.capture import Capture, capture_frames, open_capture
from lprr.engine.errors import Interrupted
from lprr.engine.face.landmarks import LandmarkerConfig
from lprr.engine.methods import DEFAULT_METHOD, Method, create_method
from lprr.engine.paths import DEFAULT_MODELS
from lprr.engine.pipeline import Pipeline, PipelineConfig
from lprr.engine.post.mapping import WeightMapping
from lprr.engine.post.postprocess import PostConfig, PostProcessor
from lprr.engine.retarget import FrameResult
from lprr.engine.sinks.live import LiveSinks
from lprr.engine.timing import StageTimes

log = logging.getLogger(__name__)


@dataclass
class SessionSpec:
    """What a session is made of. Sources: see ``engine.capture.open_capture``."""

    source: Any = "0"  # camera index, file, folder, puppet:PHOTO, a capture source
    models: Path = DEFAULT_MODELS
    method: str = DEFAULT_METHOD  # engine.methods.METHODS
    backend: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)  # the method's own (calibration)
    landmarker: str | None = None  # None: what the method reads
    # the source
    mirror: bool = False
    paced: bool | None = None  # files at their fps (None: cameras and puppets only)
    realtime: bool = False  # files played like a camera: paced, dropping when behind
    loop: bool = False  # a video file starts again at its end
    drop: bool | None = None  # override (evaluation never drops)
    # the outputs
    osc: str | None = None  # HOST:PORT
    protocol: str = "native"
    names: str = "arkit"  # name style on the wire (engine.sinks.names), vmc and native
    subject: str | None = None  # Live Link subject (None: "lprr")
    rename: dict[str, str] | None = None  # names on the wire (None: the mapping TOML's)
    record: Path | None = None  # CSV or JSON lines, created with the first frame
    # post-processing
    smoothing: str = "default"  # engine.post.one_euro.SMOOTHING_PRESETS
    mapping: str | Path | WeightMapping | None = None  # TOML (also renames on the wire)
    calibrate_s: float = 0.0  # neutral offsets from the first face frames, this long
    calibrate_frames: int | None = None  # ... or this many face frames
    # which face, and the smallest read
    face: str = "largest"  # engine.face.landmarks.FACE_PICKS
    min_face_px: float | None = None  # None: the method's own measured limit
    keep_frames: bool = True  # results carry their source image (preview, GUI)

    def faces(self) -> LandmarkerConfig:
        cfg = LandmarkerConfig(pick=self.face)
        return cfg if self.min_face_px is None else replace(cfg, min_face_px=self.min_face_px)


class Session:
    """Builds, starts, stops and closes what a ``SessionSpec`` describes.

    ``cancel`` (an Event set by a signal handler or the GUI's Stop) ends ``open`` with
    ``Interrupted`` at its next step; nothing has been recorded then."""

    def __init__(self, spec: SessionSpec, on_result: Callable[[FrameResult], None] | None = None,
                 cancel: threading.Event | None = None, post_lock: threading.Lock | None = None):
        self.spec = spec
        self.on_result = on_result
        self.cancel = cancel or threading.Event()
        self.times = StageTimes()
        self.sinks = LiveSinks()
        # held around every PostProcessor call (the GUI changes it live under the same lock)
        self.post_lock = post_lock or threading.Lock()
        self.capture: Capture | None = None
        self.method: Method | None = None
        self.post: PostProcessor | None = None
        self.pipeline: Pipeline | None = None
        self.running = False
        self._started = self._stopped = self._closed = False

    # -- build ------------------------------------------------------------------------------
    def open(self) -> Session:
        """Source, outputs, method (warmed up), post-processing and the pipeline, not yet
        running. The user's likely mistakes come first, before the slow model load."""
        from lprr.engine.post.mapping import load_rename
        from lprr.engine.sinks import create_sink

        s = self.spec
        try:
            self.capture = cap = open_capture(s.source, mirror=s.mirror, paced=s.paced,
                                              realtime=s.realtime, loop=s.loop, drop=s.drop)
            if s.osc:
                rename = s.rename if s.rename is not None else (
                    load_rename(s.mapping) if isinstance(s.mapping, (str, Path)) else None)
                self.sinks.set("osc", create_sink(s.protocol, s.osc, names=s.names,
                                                  rename=rename, subject=s.subject,
                                                  fps=cap.source.fps))
            self._check()
            self.method = rt = create_method(s.method, s.models, s.backend, times=self.times,
                                             **self._method_options(cap))
            self._check()
            rt.warmup()  # before the first frame is read: a file's first frames are not lost
            self._check()
            self.post = PostProcessor(PostConfig(smoothing=s.smoothing, mapping=s.mapping,
                                                 calibrate_s=s.calibrate_s,
                                                 calibrate_frames=s.calibrate_frames),
                                      names=rt.controls)
            self.pipeline = Pipeline(rt, capture_frames(cap), post=self._post,
                                     sinks=[self.sinks], on_result=self.on_result,
                                     times=self.times,
                                     config=PipelineConfig(keep_frames=s.keep_frames,
                                                           landmarker=s.landmarker,
                                                           faces=s.faces()))
        except BaseException:
            self.close()
            raise
        return self

    def _method_options(self, cap: Capture) -> dict[str, Any]:
        """The spec's method options, plus, for a file or folder played once without
        dropping, the clip itself as the landmark methods' neutral (read whole first:
        engine.neutral.clip_neutral); cameras and loops find it in the stream."""
        from lprr.engine.capture import ImageFolderSource, VideoFileSource
        from lprr.engine.methods import method_options

        options = dict(self.spec.options)
        src = cap.source
        if (isinstance(src, (VideoFileSource, ImageFolderSource)) and not cap.drop
                and not {"calibration", "neutral_clip"} & set(options)
                and "neutral_clip" in method_options(self.spec.method)):
            log.info("reading %s for its most neutral frames first", src.name)
            options["neutral_clip"] = src.path
        return options

    def _check(self) -> None:
        if self.cancel.is_set():
            raise Interrupted("stopped during start-up; nothing was recorded")

    def _post(self, raw, t):
        with self.post_lock:
            assert self.post is not None
            return self.post.process(raw, t)

    # -- run --------------------------------------------------------------------------------
    def start(self) -> Session:
        """Start reading and processing; the recording (if any) begins with the first frame."""
        if self.pipeline is None:
            self.open()
        assert self.capture is not None and self.pipeline is not None
        self._check()
        from lprr.engine.sinks.recorder import Recorder

        if self.spec.record is not None:
            self.sinks.set("record", Recorder(self.spec.record,
                                              fps=self.capture.source.fps or 30.0))
        self._started = True
        self.capture.start()
        self.pipeline.start()
        self.running = True
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once the source has ended and its last frame is through (or on an error)."""
        return self.pipeline.wait(timeout) if self.pipeline is not None else True

    def stop(self, timeout: float = 10.0, drain: bool = True) -> bool:
        """Stop capture and pipeline, and close the outputs. ``drain``: the frames already
        read still go through to every output first (a recording keeps them). True when
        every thread ended within ``timeout`` seconds."""
        if self._stopped:
            return True
        deadline = time.monotonic() + timeout
        cap, pipe = self.capture, self.pipeline
        self.running = False
        self._stopped = True
        if cap is not None:  # first: wakes the pipeline's reader out of cap.read()
            cap.stop(max(0.05, min(0.5, deadline - time.monotonic())))
        ok = True
        if pipe is not None:
            if drain and pipe.running:
                pipe.wait(max(0.0, min(2.0, deadline - time.monotonic())))
            ok = pipe.stop(max(0.05, deadline - time.monotonic()))
        else:
            self.sinks.close()
        return ok

    def close(self) -> None:
        """Stop (if running) and release the models; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self.stop()
        else:  # never started: nothing runs yet
            if self.capture is not None:
                self.capture.stop(0.5)
            if self.pipeline is not None:
                self.pipeline.front.close()
            self.sinks.close()
        if self.method is not None:
            self.method.close()

    def __enter__(self) -> Session:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_to_end(self) -> float:
        """Open if needed, start, and run a finite source to its last frame; the wall seconds.
        Raises the first error any stage hit; closes the session either way."""
        try:
            self.start()
            t0 = time.perf_counter()
            self.wait()
            wall = time.perf_counter() - t0
            self.stop()
            self.raise_error()
            return wall
        finally:
            self.close()

    def raise_error(self) -> None:
        if self.pipeline is not None and self.pipeline.error is not None:
            raise self.pipeline.error

    # -- what it reports --------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.pipeline is not None and self.pipeline.finished.is_set()

    def latency_ms(self) -> dict[str, float]:
        """Capture-to-wire latency: {"n", "mean", "p50", "p95", "p99"} in milliseconds."""
        return self.times.stats_ms("latency")

    def face_state(self) -> str:
        pipe, post = self.pipeline, self.post
        if pipe is None or post is None:
            return "-"
        return pipe.face_note or (post.state if pipe.faces else "searching")

    def status_line(self) -> str:
        """``lprr run``'s one-line status."""
        pipe, cap, rt = self.pipeline, self.capture, self.method
        if pipe is None or cap is None or rt is None:
            return "starting"
        lat = self.latency_ms()
        return (f"{pipe.fps:5.1f} fps | latency p50 {lat['p50']:5.1f} p99 {lat['p99']:5.1f} ms "
                f"| face: {self.face_state():<9} | dropped {cap.dropped} | {rt.backend_name}")

    def summary(self) -> str:
        pipe, cap, rt = self.pipeline, self.capture, self.method
        assert pipe is not None and cap is not None and rt is not None
        return (f"{pipe.frames_out} frames, {pipe.faces} with a face, {cap.dropped} dropped, "
                f"{pipe.fps:.1f} fps on {rt.backend_name}\n{self.times.format_table()}")


# -- the commands ------------------------------------------------------------------------

def run_live(spec: SessionSpec, status: Callable[[str], None] | None = None,
             stop: threading.Event | None = None, duration_s: float | None = None) -> str:
    """``lprr run``: headless, every output the spec names, a one-line live status; stops
    after ``duration_s`` or at the source's end.

    ``stop`` (set from a signal handler, say) ends the session cleanly at any moment: during
    start-up it raises ``Interrupted`` before anything is recorded; later, every processed
    frame is in the recording and the summary is returned."""
    session = Session(spec, cancel=stop)
    with session:
        session.open().start()
        if spec.calibrate_s > 0:
            log.info("calibrating the neutral on the first %.1f s of face frames",
                     spec.calibrate_s)
        t0 = last_status = time.monotonic()
        try:
            while not session.wait(0.05) and not session.cancel.is_set():
                now = time.monotonic()
                if duration_s is not None and now - t0 > duration_s:
                    break
                if status and now - last_status >= 0.5:
                    last_status = now
                    status(session.status_line())
        except KeyboardInterrupt:  # a caller that left SIGINT to Python
            pass
        session.stop()
        session.raise_error()
        return session.summary()


@dataclass
class DemoSession:
    """``lprr demo``: every frame of a clip, a per-stage latency table, a weights CSV and a
    preview video."""

    models: Path
    source: Path
    backend: str = "auto"
    out: Path = Path("out/demo")
    osc: str | None = None
    protocol: str = "native"
    method: str = DEFAULT_METHOD  # engine/methods.py
    names: str = "arkit"  # name style on the wire (lprr.engine.sinks.names)
    subject: str | None = None  # Live Link subject (None: "lprr")
    results: list[FrameResult] = field(default_factory=list)

    def run(self, preview: bool = True) -> str:
        self.out.mkdir(parents=True, exist_ok=True)
        spec = SessionSpec(source=self.source, models=self.models, method=self.method,
                           backend=self.backend, osc=self.osc, protocol=self.protocol,
                           names=self.names, subject=self.subject,
                           record=self.out / "weights.csv", keep_frames=preview)
        # Results (with their frames) are kept only for the preview video.
        session = Session(spec, on_result=self.results.append if preview else None)
        session.open()
        assert session.capture is not None and session.method is not None
        fps = session.capture.source.fps or 30.0
        rt, times = session.method, session.times
        wall = session.run_to_end()
        pipe = session.pipeline
        assert pipe is not None
        n = pipe.frames_out
        lines = [(f"lprr demo: {n} frames ({pipe.faces} with a face) from {self.source.name}, "
                 f"{rt.describe()}"), "", times.format_table(), "",
                 f"sustained: {n / wall:.1f} fps over {wall:.2f} s (headless, every frame)",
                 f"weights:   {self.out / 'weights.csv'}"]
        if preview:
            path = self.write_preview(fps)
            lines.append(f"preview:   {path}")
        return "\n".join(lines)

    def write_preview(self, fps: float) -> Path:
        from lprr.engine.preview import compose
        from lprr.engine.world.character import DemoCharacter

        char = DemoCharacter(size=256)
        path = self.out / "preview.avi"
        writer = None
        for r in self.results:
            img = compose(r, char.render(r.weights)[0])
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps,
                                         (img.shape[1], img.shape[0]))
            writer.write(img)
        if writer is not None:
            writer.release()
        return path
