"""Wiring for ``lprr run`` and ``lprr demo``: source, models, post-processing, sinks."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from engine.errors import UserError
from engine.frames import open_frames
from engine.pipeline import Pipeline
from engine.retarget import FrameResult, Retargeter
from engine.timing import StageTimes

log = logging.getLogger(__name__)


def file_frames(source: str | Path) -> tuple[Iterator[tuple[int, float, np.ndarray]], float,
                                              int]:
    """Every frame of a video or image folder (no drops), timed at the file's fps."""
    src = open_frames(source)

    def gen():
        for i, f in enumerate(src):
            yield i, i / src.fps, f

    return gen(), src.fps, src.count


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(default_port))
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise UserError(f"bad --osc {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9001") from None


def open_sink(protocol: str, target: str):
    from engine.sinks import make_sink

    return make_sink(protocol, target)


@dataclass
class DemoSession:
    models: Path
    source: Path
    backend: str = "auto"
    out: Path = Path("out/demo")
    osc: str | None = None
    protocol: str = "native"
    results: list[FrameResult] = field(default_factory=list)

    def run(self, preview: bool = True) -> str:
        from engine.post.postprocess import PostConfig, PostProcessor
        from engine.sinks.recorder import Recorder

        frames, fps, count = file_frames(self.source)
        times = StageTimes()
        rt = Retargeter(self.models, self.backend, times=times)
        self.out.mkdir(parents=True, exist_ok=True)
        sinks = [Recorder(self.out / "weights.csv")]
        if self.osc:
            sinks.append(open_sink(self.protocol, self.osc))
        post = PostProcessor(PostConfig(), names=rt.controls)
        keep = self.results.append
        # Warm the engines so the first frame's one-off costs stay out of the numbers.
        pipe = Pipeline(rt, frames, post=post.process, sinks=sinks, on_result=keep,
                        times=times)
        t0 = time.perf_counter()
        pipe.start()
        pipe.wait()
        wall = time.perf_counter() - t0
        pipe.stop()
        if pipe.error is not None:
            raise pipe.error
        n = pipe.frames_out
        lines = [f"lprr demo: {n} frames ({pipe.faces} with a face) from {self.source.name} "
                 f"on {rt.backend_name}", "", times.format_table(), "",
                 f"sustained: {n / wall:.1f} fps over {wall:.2f} s (headless, every frame)",
                 f"weights:   {self.out / 'weights.csv'}"]
        if preview:
            path = self.write_preview(fps)
            lines.append(f"preview:   {path}")
        rt.close()
        return "\n".join(lines)

    def write_preview(self, fps: float) -> Path:
        from engine.preview import compose
        from engine.world.character import DemoCharacter

        char = DemoCharacter(size=256)
        path = self.out / "preview.avi"
        writer = None
        for r in self.results:
            img = compose(r, char.render(r.weights)[0])
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                         (img.shape[1], img.shape[0]))
            writer.write(img)
        if writer is not None:
            writer.release()
        return path
