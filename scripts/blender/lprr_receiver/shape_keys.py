"""The Blender side: writes received frames into an object's shape keys (main thread only)."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import bpy

from .osc_receiver import OscFrame
from .take_import import find_key

log = logging.getLogger("lprr_receiver")


def parse_rename(text: str) -> tuple[dict[str, str], list[str]]:
    """``"A=jawOpen, Joy = mouthSmileLeft"`` -> ({"A": "jawOpen", ...}, entries that did not
    parse). Entries are separated by commas, semicolons or new lines."""
    table, bad = {}, []
    for entry in re.split(r"[,;\n]", text or ""):
        if not entry.strip():
            continue
        src, sep, dst = entry.partition("=")
        if not sep or not src.strip() or not dst.strip():
            bad.append(entry.strip())
            continue
        table[src.strip()] = dst.strip()
    return table, bad


class ShapeKeyApplier:
    """Applies frames to one object's shape keys, matched by name: the rename table first
    (incoming name -> shape key name), then the exact name, then the name ignoring case (so
    ``EyeBlinkLeft`` drives a key named ``eyeBlinkLeft``).

    Names the object lacks are reported once per object (not every frame). With ``record``,
    every applied frame is also keyframed; the frame number comes from lprr's stream time
    (native) or the arrival time (VMC), at the scene's frame rate, from the scene frame that
    was current when recording started.
    """

    def __init__(self) -> None:
        self.object_name: str | None = None
        self.missing: set[str] = set()
        self.rename: dict[str, str] = {}
        self._lookup: dict[str, str | None] = {}  # incoming name -> key name (None: none)
        self._keys_seen: tuple[str, ...] = ()
        self.applied = 0
        self.keyed = 0
        self._rec_origin: tuple[float, int] | None = None  # (stream seconds, scene frame)
        self._rec_clock: str | None = None
        self._last_rec_t = 0.0

    def set_rename(self, rename: Mapping[str, str]) -> None:
        rename = dict(rename)
        if rename != self.rename:
            self.rename = rename
            self._lookup = {}
            self.missing = set()  # report again under the new table

    def _resolve(self, blocks, name: str) -> str | None:
        """The key an incoming name drives (cached per object and key set)."""
        if name in self._lookup:
            return self._lookup[name]
        target = self.rename.get(name)
        if target is None:
            lowered = {k.lower(): v for k, v in self.rename.items()}
            target = lowered.get(name.lower(), name)
        key = find_key(blocks, target)
        self._lookup[name] = key
        return key

    def reset_recording(self) -> None:
        self._rec_origin = None
        self._rec_clock = None

    def _key_blocks(self, obj):
        if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
            return None
        return obj.data.shape_keys.key_blocks

    def _record_frame(self, scene, frame: OscFrame) -> int:
        clock = "stream" if frame.time is not None else "arrival"
        t = frame.time if frame.time is not None else frame.arrival
        if self._rec_origin is None or clock != self._rec_clock or t < self._last_rec_t:
            # first frame, or lprr restarted (its clock went back): continue from here
            start = scene.frame_current if self._rec_origin is None else self._next_frame
            self._rec_origin = (t, start)
            self._rec_clock = clock
        self._last_rec_t = t
        fps = scene.render.fps / scene.render.fps_base
        t0, f0 = self._rec_origin
        f = f0 + round((t - t0) * fps)
        self._next_frame = f + 1
        return f

    def apply(self, obj, frame: OscFrame, record: bool = False, scene=None) -> int:
        """Write one frame; returns how many shape keys were set."""
        if obj is None:
            return 0
        blocks = self._key_blocks(obj)
        keys = tuple(kb.name for kb in blocks) if blocks is not None else ()
        if obj.name != self.object_name or keys != self._keys_seen:
            self.object_name, self._keys_seen = obj.name, keys
            self.missing = set()
            self._lookup = {}
        if blocks is None:
            if "<no shape keys>" not in self.missing:
                self.missing.add("<no shape keys>")
                log.warning("lprr receiver: object %r has no shape keys; nothing to drive",
                            obj.name)
            return 0
        new_missing = []
        n = 0
        key_frame = self._record_frame(scene or bpy.context.scene, frame) if record else None
        for name, value in frame.values.items():
            key = self._resolve(blocks, name)
            kb = blocks.get(key) if key is not None else None
            if kb is None:
                if name not in self.missing:
                    self.missing.add(name)
                    new_missing.append(name)
                continue
            kb.value = value
            n += 1
            if key_frame is not None:
                kb.keyframe_insert("value", frame=key_frame)
        if new_missing:
            log.warning("lprr receiver: object %r has no shape key for %s (matched ignoring case "
                        "and through the rename table; reported once)",
                        obj.name, ", ".join(repr(m) for m in sorted(new_missing)))
        if key_frame is not None:
            self.keyed += 1
        self.applied += 1
        return n
