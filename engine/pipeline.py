"""The live pipeline: threads joined by small bounded queues.

    source (capture thread) -> front end (landmarks + APEM) -> inference (RM, WEM, batched)
        -> post-processing -> sinks -> on_result callback

Every queue is bounded, so a slow stage makes the one before it wait (no-drop sources) or
the capture keep only the newest frame (live sources): latency never builds up. ``stop``
returns within a second: every blocking call uses a short timeout and checks the flag.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lprr.engine.face.landmarks import LandmarkerConfig
from lprr.engine.methods import Method
from lprr.engine.retarget import FrameResult, FrontEnd
from lprr.engine.timing import StageTimes

log = logging.getLogger(__name__)
_POLL = 0.05
_END = object()


@dataclass
class PipelineConfig:
    max_batch: int = 4  # frames the inference stage may take at once when it falls behind
    # frames the front end may take at once; the onnx landmarker reads two on two threads.
    # On these 2-core machines that was no faster for the mediapipe method (about 215
    # frames/s either way) and 10% slower for lprr (the second core already runs capture
    # and inference), so one; offline loops (extraction, eval's clip reads) take two.
    front_batch: int = 1
    queue_size: int = 2
    keep_frames: bool = True  # attach the source frame to results (GUI, preview video)
    landmarker: str | None = None  # one of LANDMARKERS; None: what the method reads
    faces: LandmarkerConfig | None = None  # which face is followed, smallest face read


class Pipeline:
    """Capture, front end (landmarks + patches) and inference + post + sinks, each in its own
    thread. ``frames`` yields (index, media time, image[, capture time]); the capture time
    (``time.monotonic()``, as ``capture_frames`` gives it) is where latency starts."""

    def __init__(self, retargeter: Method, frames: Iterable[tuple],
                 post: Callable[[np.ndarray | None, float], np.ndarray] | None = None,
                 sinks: Sequence = (), on_result: Callable[[FrameResult], None] | None = None,
                 config: PipelineConfig | None = None, static: bool = False,
                 times: StageTimes | None = None):
        self.rt = retargeter
        self.frames = frames
        self.post = post
        self.sinks = list(sinks)
        self.on_result = on_result
        self.cfg = config or PipelineConfig()
        self.times = times or retargeter.times
        faces = self.cfg.faces or LandmarkerConfig()
        if faces.min_face_px is None:  # the method's own measured limit
            faces = replace(faces, min_face_px=getattr(retargeter, "min_face_px", 0.0))
        landmarker: str = (self.cfg.landmarker
                           or getattr(retargeter, "landmarker", None) or "facemesh")
        self.front = FrontEnd(static=static, times=self.times, landmarker=landmarker,
                              config=faces)
        self._q_in: queue.Queue = queue.Queue(self.cfg.queue_size)
        self._q_mid: queue.Queue = queue.Queue(self.cfg.queue_size)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.frames_in = 0
        self.frames_out = 0
        self.faces = 0
        self.t_start = 0.0
        self.t_last = 0.0
        self.last_latency = 0.0
        self.face_note: str | None = None  # why the newest frame has no face, if one was seen
        self.finished = threading.Event()

    # -- control -----------------------------------------------------------------------
    def start(self) -> Pipeline:
        self.t_start = time.perf_counter()
        for name, fn in (("capture", self._capture), ("front", self._front_loop),
                         ("infer", self._infer_loop)):
            th = threading.Thread(target=self._guard, args=(fn,), name=f"lprr-{name}",
                                  daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop every thread; True when all joined within ``timeout`` seconds."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        alive = [th.name for th in self._threads if th.is_alive()]
        if alive:
            log.warning("threads still running after stop: %s", ", ".join(alive))
        self.front.close()
        for s in self.sinks:
            try:
                s.close()
            except Exception as e:  # a sink failing to close must not hide other errors
                log.warning("closing %s: %s", type(s).__name__, e)
        return not alive

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        return tuple(self._threads)

    @property
    def running(self) -> bool:
        return any(th.is_alive() for th in self._threads)

    @property
    def fps(self) -> float:
        dt = (self.t_last or time.perf_counter()) - self.t_start
        return self.frames_out / dt if dt > 0 else 0.0

    # -- stages ------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as e:  # surfaced to the caller through .error
            log.debug("pipeline stage failed", exc_info=True)
            self.error = self.error or e
            self._stop.set()
            self.finished.set()

    def _put(self, q: queue.Queue, item) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue):
        while not self._stop.is_set():
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                continue
        return _END

    def _capture(self) -> None:
        for item in self.frames:
            if self._stop.is_set():
                return
            self.frames_in += 1
            if len(item) == 3:  # frames without a capture time: they count from here
                item = (*item, time.monotonic())
            if not self._put(self._q_in, item):
                return
        self._put(self._q_in, _END)

    def _waiting(self, q: queue.Queue, first, limit: int) -> tuple[list, bool]:
        """``first`` and what is already waiting in ``q``, up to ``limit`` items; and whether
        the end came."""
        items = [first]
        while len(items) < limit:
            try:
                nxt = q.get_nowait()
            except queue.Empty:
                break
            if nxt is _END:
                return items, True
            items.append(nxt)
        return items, False

    def _front_loop(self) -> None:
        while True:
            first = self._get(self._q_in)
            if first is _END:
                self._put(self._q_mid, _END)
                return
            items, done = self._waiting(self._q_in, first, self.cfg.front_batch)
            readings = self.front.read([it[2] for it in items], [it[1] for it in items])
            for (index, t, frame, t_in), rd in zip(items, readings):
                res = FrameResult(index, t, frame if self.cfg.keep_frames else None,
                                  rd.landmarks, rd.patches, blendshapes=rd.blendshapes,
                                  tongue=rd.tongue)
                res.t_capture = t_in
                if not self._put(self._q_mid, res):
                    return
            self.face_note = self.front.note
            if done:
                self._put(self._q_mid, _END)
                return

    def _infer_loop(self) -> None:
        while True:
            first = self._get(self._q_mid)
            if first is _END:
                break
            batch, done = self._waiting(self._q_mid, first, self.cfg.max_batch)
            self._process(batch)
            if done:
                break
        self.finished.set()

    def _process(self, batch: list[FrameResult]) -> None:
        with_face = [r for r in batch if r.patches is not None]
        if with_face:
            self.rt.infer_frames(with_face)
        for r in batch:
            with self.times.time("post"):
                r.weights = self.post(r.raw_weights, r.t) if self.post else (
                    r.raw_weights if r.raw_weights is not None
                    else np.zeros(len(self.rt.controls), np.float32))
            with self.times.time("sinks"):
                for s in self.sinks:
                    s.send(r.weights, self.rt.controls, r.t, r.index, face=r.face)
            # capture to wire, on the capture's clock (time.monotonic)
            self.last_latency = time.monotonic() - r.t_capture
            self.times.add("latency", self.last_latency)
            self.frames_out += 1
            self.faces += int(r.face)
            self.t_last = time.perf_counter()
            if self.on_result:
                self.on_result(r)
