"""Wiring for ``lprr run`` and ``lprr demo``: source, models, post-processing, sinks."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from lprr.engine.capture import Capture
from lprr.engine.errors import Interrupted, UserError
from lprr.engine.face.landmarks import LandmarkerConfig
from lprr.engine.methods import Method, create_method
from lprr.engine.pipeline import Pipeline, PipelineConfig
from lprr.engine.retarget import FrameResult
from lprr.engine.timing import StageTimes

if TYPE_CHECKING:
    from lprr.engine.sinks.base import Sink

log = logging.getLogger(__name__)


def capture_frames(cap: Capture) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, media time, image) from a running capture; raises its error at the end."""
    for f in cap:
        yield f.index, f.media_t, f.image
    if cap.error is not None:
        raise UserError(f"capture failed: {cap.error}")


def open_source(source, mirror: bool = False, drop: bool | None = True) -> Capture:
    """A camera index, file, folder, capture source, or ``puppet:PHOTO`` (the demo world's
    performer puppet as a live source).

    ``drop=None`` decides by the source: cameras and endless generators (the puppet) keep
    only the newest frame; files and folders deliver every frame."""
    from lprr.engine.capture import Source
    from lprr.engine.capture import open_source as open_frames

    src: Source
    text = str(source)
    if isinstance(source, (str, Path)) and text.startswith("puppet:"):
        from lprr.engine.world.live_puppet import puppet_source

        src = puppet_source(text.split(":", 1)[1])
    else:
        src = open_frames(text if isinstance(source, Path) else source)
    if drop is None:  # files and folders never drop, even when they do not say their length
        from lprr.engine.capture import ImageFolderSource, VideoFileSource

        drop = src.live or (len(src) == 0
                            and not isinstance(src, (VideoFileSource, ImageFolderSource)))
    return Capture(src, mirror=mirror, drop=drop)


def run_to_end(rt: Method, cap: Capture, post: Callable | None = None,
               sinks: Sequence = (), on_result: Callable[[FrameResult], None] | None = None,
               keep_frames: bool = True, times: StageTimes | None = None,
               landmarker: str | None = None, faces: LandmarkerConfig | None = None
               ) -> tuple[Pipeline, float]:
    """Run a finite source through the pipeline to its last frame: (pipeline, wall seconds).

    Raises the first error any stage hit. Capture and pipeline are stopped either way.
    """
    pipe = Pipeline(rt, capture_frames(cap.start()), post=post, sinks=sinks,
                    on_result=on_result,
                    config=PipelineConfig(keep_frames=keep_frames, landmarker=landmarker,
                                          faces=faces),
                    times=times)
    t0 = time.perf_counter()
    pipe.start()
    try:
        pipe.wait()
    finally:
        wall = time.perf_counter() - t0
        pipe.stop()
        cap.stop()
    if pipe.error is not None:
        raise pipe.error
    return pipe, wall


@dataclass
class DemoSession:
    models: Path
    source: Path
    backend: str = "auto"
    out: Path = Path("out/demo")
    osc: str | None = None
    protocol: str = "native"
    method: str = "lprr"  # engine/methods.py
    names: str = "arkit"  # name style on the wire (lprr.engine.sinks.names)
    subject: str | None = None  # Live Link subject (None: "lprr")
    results: list[FrameResult] = field(default_factory=list)

    def run(self, preview: bool = True) -> str:
        from lprr.engine.post.postprocess import PostConfig, PostProcessor
        from lprr.engine.sinks import create_sink
        from lprr.engine.sinks.recorder import Recorder

        cap = open_source(self.source, drop=False)
        sinks: list[Sink] = [create_sink(self.protocol, self.osc, names=self.names,
                                         subject=self.subject, fps=cap.source.fps)
                             ] if self.osc else []
        times = StageTimes()
        rt = create_method(self.method, self.models, self.backend, times=times)
        try:
            rt.warmup()  # one-off session costs stay out of the numbers
            fps = cap.source.fps or 30.0
            self.out.mkdir(parents=True, exist_ok=True)
            sinks.append(Recorder(self.out / "weights.csv", fps=fps))
            post = PostProcessor(PostConfig(), names=rt.controls)
            # Results (with their frames) are kept only for the preview video.
            pipe, wall = run_to_end(rt, cap, post.process, sinks,
                                    self.results.append if preview else None,
                                    keep_frames=preview, times=times)
        finally:
            rt.close()
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


@dataclass
class LiveOptions:
    models: Path
    source: str = "0"
    backend: str = "auto"
    osc: str | None = None
    protocol: str = "native"
    record: Path | None = None
    mirror: bool = False
    calibrate_s: float = 0.0
    mapping: Path | None = None
    duration_s: float | None = None  # stop after this long (None: until the source ends)
    realtime: bool = False  # files too are paced like a camera and drop frames when behind
    method: str = "lprr"
    calibration: Path | None = None  # landmark methods: an unlabelled take starting neutral
    smoothing: str = "default"  # lprr.engine.post.one_euro.SMOOTHING_PRESETS
    names: str = "arkit"  # name style on the wire (lprr.engine.sinks.names), vmc and native
    subject: str | None = None  # Live Link subject (None: "lprr")
    face: str = "largest"  # which face is followed first (lprr.engine.face.landmarks.FACE_PICKS)
    min_face_px: float | None = None  # smallest face read (None: LandmarkerConfig's)

    def faces(self) -> LandmarkerConfig:
        cfg = LandmarkerConfig(pick=self.face)
        return cfg if self.min_face_px is None else replace(cfg, min_face_px=self.min_face_px)


def run_live(opt: LiveOptions, status: Callable[[str], None] | None = None,
             stop: threading.Event | None = None) -> str:
    """``lprr run``: headless, every sink the options name, a one-line live status.

    ``stop`` (set from a signal handler, say) ends the session cleanly at any moment: during
    start-up it raises ``Interrupted`` before anything is recorded; later, every processed
    frame is in the recording and the summary is returned."""
    from lprr.engine.post.mapping import load_rename
    from lprr.engine.post.postprocess import PostConfig, PostProcessor
    from lprr.engine.sinks import create_sink
    from lprr.engine.sinks.recorder import Recorder

    times = StageTimes()
    # Check everything a user can get wrong before any thread starts.
    cap = open_source(opt.source, mirror=opt.mirror, drop=True if opt.realtime else None)
    rename = load_rename(opt.mapping) if opt.mapping else None
    sinks: list[Sink] = [create_sink(opt.protocol, opt.osc, names=opt.names, rename=rename,
                                     subject=opt.subject, fps=cap.source.fps)
                         ] if opt.osc else []
    extra: dict[str, Any] = ({"calibration": opt.calibration}
                             if opt.calibration is not None else {})
    stop = stop or threading.Event()
    if stop.is_set():
        raise Interrupted("stopped during start-up; nothing was recorded")
    rt = create_method(opt.method, opt.models, opt.backend, times=times, **extra)
    try:
        rt.warmup()  # before the first frame is read, so a file's first frames are not lost
    except BaseException:
        rt.close()
        raise
    if stop.is_set():
        rt.close()
        raise Interrupted("stopped during start-up; nothing was recorded")
    cap.start()
    if opt.record:
        sinks.append(Recorder(opt.record, fps=cap.source.fps or 30.0))
    cfg = PostConfig(mapping=opt.mapping, smoothing=opt.smoothing)
    post = PostProcessor(cfg, names=rt.controls)
    if opt.calibrate_s > 0:
        post.start_calibration(seconds=opt.calibrate_s)
    pipe = Pipeline(rt, capture_frames(cap), post=post.process, sinks=sinks, times=times,
                    config=PipelineConfig(faces=opt.faces()))
    pipe.start()
    t0 = last_status = time.monotonic()
    try:
        while not pipe.wait(0.05) and not stop.is_set():
            now = time.monotonic()
            if opt.duration_s is not None and now - t0 > opt.duration_s:
                break
            if status and now - last_status >= 0.5:
                last_status = now
                state = pipe.face_note or (post.state if pipe.faces else "searching")
                status(f"{pipe.fps:5.1f} fps | latency {pipe.last_latency * 1e3:5.1f} ms | "
                       f"face: {state:<9} | dropped {cap.dropped} | {rt.backend_name}")
    except KeyboardInterrupt:  # a caller that left SIGINT to Python
        pass
    finally:
        pipe.stop(timeout=10.0)  # the frame in flight still reaches every sink
        cap.stop()
        rt.close()
    if pipe.error is not None:
        raise pipe.error
    return (f"{pipe.frames_out} frames, {pipe.faces} with a face, {cap.dropped} dropped, "
            f"{pipe.fps:.1f} fps on {rt.backend_name}\n{times.format_table()}")
