"""Keyframe a recorded lprr take onto an object's shape keys (one function for the add-on's
"Import take..." operator and for ``scripts/blender/import_take.py``, which
``lprr blender import-take`` runs).

Frames: the row with media time ``t`` (seconds on the source's clock; a video's first frame is
0) goes to scene frame ``start + floor(t * scene_fps + 0.5)``, scene_fps being
``render.fps / render.fps_base``. So ``start`` is the scene frame where the source video's
first frame sits, and the keys stay in sync with the video's audio placed there. When the
scene's rate is lower than the take's, several rows land on one frame: the row nearest in time
to that frame is keyed. Keys are LINEAR.

The take replaces the keys of the shape keys it drives within its frame range; keys outside
that range and other curves are kept. Names match shape keys exactly, then ignoring case (so
perfect-sync ``EyeBlinkLeft`` drives ``eyeBlinkLeft``, as the receiver matches them).

This module needs only the standard library and bpy (imported where used, so the reader runs
outside Blender too): the add-on runs in Blender without lprr, so ``read_take`` is its own
small reader of the recorder's two formats, kept to what ``engine/sinks/recorder.py`` writes.
``lprr blender import-take`` does not use it: it parses the take with lprr's reader and hands
Blender the rows as JSON, so the command and lprr agree on every time and value.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

log = logging.getLogger("lprr_receiver")

DEFAULT_TIMECODE_FPS = 30.0  # the recorder's rate for sources that do not say theirs


@dataclass
class TakeRows:
    names: list[str]
    times: list[float]  # media seconds, one per row
    values: list[list[float]]  # one list per row, in ``names`` order


@dataclass
class ImportReport:
    keyed: list[str] = field(default_factory=list)  # take names that found a shape key
    missing: list[str] = field(default_factory=list)  # take names the object lacks
    frames: int = 0  # scene frames keyed (per shape key)
    keys: int = 0  # keyframes written in all
    first_frame: int | None = None
    last_frame: int | None = None
    frame_end: int = 0  # the scene's frame_end afterwards

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# ------------------------------------------------------------------------- reading
def _timecode_fps(timecodes: Sequence[str]) -> float:
    """FF counts 0..fps-1 in each second: the largest FF + 1, once the take crosses a second."""
    if len({tc.rsplit(":", 1)[0] for tc in timecodes}) < 2:
        return DEFAULT_TIMECODE_FPS
    return float(max(int(float(tc.rsplit(":", 1)[1])) for tc in timecodes) + 1)


def read_take(path: str, fps: float = 0.0) -> TakeRows:
    """A recorder CSV (``Timecode,BlendShapeCount,<names>``; ``fps`` 0: inferred from the
    timecodes) or JSON-lines file. Raises ValueError with a readable message."""
    if not os.path.isfile(path):
        raise ValueError(f"no such take file: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    if path.lower().endswith(".csv"):
        rows = [r for r in csv.reader(text.splitlines()) if r]
        if not rows or rows[0][:2] != ["Timecode", "BlendShapeCount"]:
            raise ValueError(f"{path} is not a recorder CSV (Timecode,BlendShapeCount,...)")
        rate = fps or _timecode_fps([r[0] for r in rows[1:]])
        times = []
        for r in rows[1:]:
            h, m, s, ff = r[0].split(":")
            times.append(int(h) * 3600 + int(m) * 60 + int(s) + float(ff) / rate)
        return TakeRows(rows[0][2:], times, [[float(v) for v in r[2:]] for r in rows[1:]])
    lines = [json.loads(s) for s in text.splitlines() if s.strip()]
    names = list(lines[0]["weights"]) if lines else []
    return TakeRows(names, [float(d["time"]) for d in lines],
                    [[float(d["weights"][n]) for n in names] for d in lines])


# ------------------------------------------------------------------------- keyframing
def find_key(blocks, name: str) -> str | None:
    """The shape key ``name`` drives: the same name, else the same ignoring case."""
    if blocks.get(name) is not None:
        return name
    folded = name.lower()
    return next((kb.name for kb in blocks if kb.name.lower() == folded), None)


def scene_frames(times: Sequence[float], fps: float, start: int) -> dict[int, int]:
    """Scene frame -> the row keyed there (the nearest in time when several rows round to
    one frame, the earlier on a tie)."""
    best: dict[int, tuple[float, int]] = {}
    for i, t in enumerate(times):
        x = t * fps
        f = math.floor(x + 0.5)
        d = abs(x - f)
        if f + start not in best or d < best[f + start][0]:
            best[f + start] = (d, i)
    return {f: i for f, (_, i) in sorted(best.items())}


def keyframe_take(obj, take: TakeRows, start: int | None = None, scene=None) -> ImportReport:
    """Keyframe ``take`` onto ``obj``'s shape keys (see the module docstring); ``start``
    defaults to the scene's frame_start. Raises ValueError when obj has no shape keys."""
    import bpy

    scene = scene or bpy.context.scene
    if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
        raise ValueError(f"object {getattr(obj, 'name', None)!r} has no shape keys")
    key = obj.data.shape_keys
    blocks = key.key_blocks
    start = scene.frame_start if start is None else int(start)
    fps = scene.render.fps / scene.render.fps_base
    rep = ImportReport()
    columns: dict[str, int] = {}  # shape key -> take column
    for j, name in enumerate(take.names):
        kb_name = find_key(blocks, name)
        if kb_name is None or kb_name == key.reference_key.name:
            rep.missing.append(name)
        elif kb_name not in columns or kb_name == name:  # an exact match beats a folded one
            columns[kb_name] = j
    rep.keyed = [take.names[j] for j in sorted(columns.values())]
    frames = scene_frames(take.times, fps, start)
    rep.frames = len(frames) if columns else 0
    if columns and frames:
        lo, hi = min(frames), max(frames)
        if key.animation_data is None:
            key.animation_data_create()
        action = key.animation_data.action
        if action is None:
            action = key.animation_data.action = bpy.data.actions.new(f"{obj.name}_take")
        linear = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
        for kb_name, j in columns.items():
            path = f'key_blocks["{bpy.utils.escape_identifier(kb_name)}"].value'
            fc = action.fcurves.find(path) or action.fcurves.new(path)
            kept = [tuple(p.co) for p in fc.keyframe_points if not lo <= p.co[0] <= hi]
            pts = sorted(kept + [(float(f), take.values[i][j]) for f, i in frames.items()])
            fc.keyframe_points.clear()
            # one bulk write per curve: keyframe_insert per frame is ~100x slower
            fc.keyframe_points.add(len(pts))
            fc.keyframe_points.foreach_set("co", [c for p in pts for c in p])
            fc.keyframe_points.foreach_set("interpolation", [linear] * len(pts))
            fc.update()
            rep.keys += len(frames)
        rep.first_frame, rep.last_frame = lo, hi
        scene.frame_end = max(scene.frame_end, hi)
        scene.frame_set(scene.frame_current)  # show the keyed values now
    rep.frame_end = scene.frame_end
    if rep.missing:
        log.warning("lprr import take: object %r has no shape key for %s", obj.name,
                    ", ".join(repr(n) for n in rep.missing))
    return rep
