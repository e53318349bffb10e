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

``read_recording_timed`` reads either back (names, media times, values); it is lprr's one reader
of recordings (``lprr blender import-take`` uses it).
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from lprr.engine.errors import UserError
from lprr.engine.sinks.base import Sink


class _RowWriter(Protocol):  # what csv.writer returns (its class is private to _csv)
    def writerow(self, row: Iterable[Any], /) -> Any: ...

DEFAULT_TIMECODE_FPS = 30.0  # what the recorder uses for a source that does not say its rate
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
        self._csv: _RowWriter | None = None
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


@dataclass
class Recording:
    """A recorder file read back: one row per recorded frame."""

    names: list[str]
    times: np.ndarray  # (N,) float64: the source's media time of each row, seconds
    values: np.ndarray  # (N, C) float32
    fps: float | None  # CSV: the timecodes' frame rate (given or inferred); JSON lines: None


def infer_timecode_fps(timecodes: Sequence[str], default: float = DEFAULT_TIMECODE_FPS) -> float:
    """The frame rate of ``HH:MM:SS:FF`` timecodes: the largest FF + 1 once the take crosses a
    whole second (FF counts 0..fps-1 within each second), else ``default``. Whole rates only:
    a 29.97 fps take reads as 30."""
    if len({tc.rsplit(":", 1)[0] for tc in timecodes}) < 2:
        return default  # within one second: FF never wrapped, so it says nothing
    return float(max(int(float(tc.rsplit(":", 1)[1])) for tc in timecodes) + 1)


def read_recording_timed(path: str | Path, fps: float | None = None) -> Recording:
    """Names, media times and weights from a recorder CSV or JSON-lines file.

    A CSV does not store its frame rate; ``fps`` gives it, else it is inferred from the
    timecodes (``infer_timecode_fps``). A missing or malformed file is a ``UserError``.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such take file: {p}")
    try:
        if FORMATS.get(p.suffix.lower()) == "csv":
            return _read_csv(p, fps)
        return _read_jsonl(p)
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read take {p}: {e}") from None


def _read_csv(p: Path, fps: float | None) -> Recording:
    with open(p, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows or rows[0][:2] != ["Timecode", "BlendShapeCount"]:
        raise UserError(f"cannot read take {p}: not a recorder CSV (the header must start "
                        "with Timecode,BlendShapeCount)")
    names = rows[0][2:]
    body = rows[1:]
    try:
        rate = fps or infer_timecode_fps([r[0] for r in body])
        times = [parse_timecode(r[0], rate) for r in body]
        values = [[float(v) for v in r[2:]] for r in body]
    except (ValueError, IndexError) as e:
        raise UserError(f"cannot read take {p}: {e}") from None
    bad = next((i for i, r in enumerate(values) if len(r) != len(names)), None)
    if bad is not None:
        raise UserError(f"cannot read take {p}: row {bad + 2} has {len(values[bad])} values "
                        f"for {len(names)} names")
    return Recording(names, np.array(times, np.float64),
                     np.array(values, np.float32).reshape(len(body), len(names)), rate)


def _read_jsonl(p: Path) -> Recording:
    lines = [s for s in p.read_text(encoding="utf-8").splitlines() if s.strip()]
    names: list[str] = []
    times, values = [], []
    for i, s in enumerate(lines, 1):
        try:
            d = json.loads(s)
            if i == 1:
                names = list(d["weights"])
            times.append(float(d["time"]))
            values.append([float(d["weights"][n]) for n in names])
        except (ValueError, KeyError, TypeError) as e:
            what = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise UserError(f"cannot read take {p}: line {i}: {what}") from None
    return Recording(names, np.array(times, np.float64),
                     np.array(values, np.float32).reshape(len(lines), len(names)), None)


def read_recording(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(names, (N, C) weights) from a recorder CSV or JSON-lines file."""
    r = read_recording_timed(path)
    return r.names, r.values
