"""The Blender side: writes received frames into an object's shape keys (main thread only)."""
from __future__ import annotations

import logging

import bpy

from .osc_receiver import OscFrame

log = logging.getLogger("lprr_receiver")


class ShapeKeyApplier:
    """Applies frames to one object's shape keys, matched by name (case-sensitive).

    Names the object lacks are reported once per object (not every frame). With ``record``,
    every applied frame is also keyframed; the frame number comes from lprr's stream time
    (native) or the arrival time (VMC), at the scene's frame rate, from the scene frame that
    was current when recording started.
    """

    def __init__(self) -> None:
        self.object_name: str | None = None
        self.missing: set[str] = set()
        self.applied = 0
        self.keyed = 0
        self._rec_origin: tuple[float, int] | None = None  # (stream seconds, scene frame)
        self._rec_clock: str | None = None
        self._last_rec_t = 0.0

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
        if obj.name != self.object_name:
            self.object_name = obj.name
            self.missing = set()
        blocks = self._key_blocks(obj)
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
            kb = blocks.get(name)
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
            log.warning("lprr receiver: object %r has no shape key named %s (reported once)",
                        obj.name, ", ".join(repr(m) for m in sorted(new_missing)))
        if key_frame is not None:
            self.keyed += 1
        self.applied += 1
        return n
