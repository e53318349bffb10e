"""Record weights to disk: Live Link Face-style CSV or JSON lines (chosen by the file suffix).

CSV (``.csv``): ``Timecode,BlendShapeCount,<name>,...`` then one row per frame. The timecode
is ``HH:MM:SS:FF.fff`` on the source's own clock (FF = frame at ``fps``, .fff = sub-frame), as
the Live Link Face app writes it: for a file, row k of a run over every frame is frame k
(index / fps), so the animation lines up with the video's audio; for a camera it counts from
the first frame captured. Values are written with 7 significant digits. Frames without a
face are rows too, holding what the post-processing made of them (the last weights held, then
eased to neutral); the JSON lines say which they are.

JSON lines (``.jsonl`` / ``.json``): one object per frame, with the source's frame index and
media time, ``{"frame": 12, "time": 0.4, "face": true, "weights": {"eyeBlinkLeft": 0.03, ...}}``.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from engine.errors import UserError
from engine.sinks.base import Sink

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


def timecode(seconds: float, fps: float) -> str:
    seconds = max(0.0, seconds)
    whole = math.floor(seconds)
    h, rem = divmod(int(whole), 3600)
    m, s = divmod(rem, 60)
    frames = (seconds - whole) * fps + 1e-6  # float noise must not drop a frame
    return f"{h:02d}:{m:02d}:{s:02d}:{int(frames):02d}.{int((frames % 1) * 1000):03d}"


def parse_timecode(tc: str, fps: float) -> float:
    h, m, s, f = tc.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s) + float(f) / fps


class Recorder(Sink):
    name = "recorder"

    def __init__(self, path: str | Path, fps: float = 60.0, fmt: str | None = None,
                 flush_every: int = 60):
        self.path = Path(path)
        self.fmt = fmt or FORMATS.get(self.path.suffix.lower())
        if self.fmt not in ("csv", "jsonl"):
            raise UserError(f"cannot record to {self.path}: use a .csv or .jsonl file")
        if not self.path.parent.is_dir():
            raise UserError(f"cannot record to {self.path}: folder {self.path.parent} "
                            "does not exist")
        if self.path.is_dir() or not os.access(self.path.parent, os.W_OK):
            raise UserError(f"cannot record to {self.path}: "
                            + ("it is a folder" if self.path.is_dir() else
                               f"folder {self.path.parent} is not writable"))
        # The file is created with the first frame, so a run that never starts (a wrong
        # model, Ctrl-C during start-up) leaves nothing behind.
        self._f: TextIO | None = None
        self._csv = None
        self.fps = fps
        self.flush_every = flush_every
        self.frames = 0

    def _compile(self, names: tuple[str, ...]) -> None:
        if self._names is not None:
            raise ValueError("recorder: the control names changed mid-recording")
        try:
            self._f = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            raise UserError(f"cannot record to {self.path}: {e.strerror}") from None
        if self.fmt == "csv":
            self._csv = csv.writer(self._f)
            self._csv.writerow(["Timecode", "BlendShapeCount", *names])

    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        self._clock(names, t)
        src_t = max(0.0, float(t))  # the source's media time, not time since recording began
        values = np.asarray(weights, np.float32).tolist()
        assert self._f is not None  # opened by _clock -> _compile on the first frame
        if self._csv is not None:
            self._csv.writerow([timecode(src_t, self.fps), len(names),
                                *(format(v, ".7g") for v in values)])
        else:
            self._f.write(json.dumps({"frame": int(frame_index), "time": round(src_t, 6),
                                      "face": bool(face),
                                      "weights": dict(zip(names, values))}) + "\n")
        self.frames += 1
        if self.frames % self.flush_every == 0:
            self._f.flush()

    def close(self) -> None:
        if self._f is not None and not self._f.closed:
            self._f.close()


def read_recording(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(names, (N, C) weights) from a recorder CSV or JSON-lines file."""
    p = Path(path)
    if FORMATS.get(p.suffix.lower()) == "csv":
        with open(p, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        names = rows[0][2:]
        return names, np.array([[float(v) for v in r[2:]] for r in rows[1:]], np.float32)
    lines = [json.loads(s) for s in p.read_text(encoding="utf-8").splitlines() if s.strip()]
    names = list(lines[0]["weights"]) if lines else []
    return names, np.array([[d["weights"][n] for n in names] for d in lines], np.float32)
