"""lprr receiver: drives an object's shape keys from lprr's stream (native /lprr/* OSC, VMC, or
Live Link Face packets, all on one port; from lprr or any other sender of these formats).

Install: ``lprr blender install-addon`` (copies this folder and python-osc into Blender's
add-ons folder), or ``lprr blender install-addon --zip lprr_receiver.zip`` and then
Edit > Preferences > Add-ons > Install... Enable "Animation: lprr receiver".

Use: View3D > Sidebar (N) > lprr: pick the object, set the port (9001 by default), Start;
then ``lprr run --osc 127.0.0.1:9001`` (or ``--protocol vmc|livelink --osc 127.0.0.1:9001``).
Names match shape keys exactly, then ignoring case; the panel's Rename field maps others
(``A=jawOpen, Joy=mouthSmileLeft``).

Import take... (same panel) keyframes a take recorded with ``lprr run --record take.csv`` (or
``.jsonl``) onto the active object's shape keys; ``lprr blender import-take`` does the same
from the command line (see take_import.py).

Headless (``blender -b --python ...``) Blender runs no event loop, so no timer ever fires:
call ``lprr_receiver.start(...)`` and then ``lprr_receiver.run_blocking(seconds)``, or call
``lprr_receiver.pump()`` yourself; it is the same function the timer runs.
"""
from __future__ import annotations

import logging
import time

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)
from bpy_extras.io_utils import ImportHelper

from .osc_receiver import DEFAULT_PORT, PYTHON_OSC_HELP, OscReceiver, ensure_pythonosc
from .shape_keys import ShapeKeyApplier, parse_rename
from .take_import import keyframe_take, read_take

bl_info = {
    "name": "lprr receiver",
    "author": "lprr",
    "version": (0, 3, 0),
    "blender": (3, 4, 0),
    "location": "View3D > Sidebar > lprr",
    "description": "Drive shape keys from lprr's stream (native /lprr/* OSC, VMC or Live Link "
                   "Face), optionally keyframing while recording",
    "category": "Animation",
}

log = logging.getLogger("lprr_receiver")

TIMER_INTERVAL = 1.0 / 120.0  # seconds; well above lprr's 30-60 frames a second

_receiver: OscReceiver | None = None
_applier = ShapeKeyApplier()


# ------------------------------------------------------------------------- settings
def _poll_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


class LPRR_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__ or __name__

    python_osc_path: StringProperty(
        name="python-osc folder", subtype="DIR_PATH", default="",
        description="Folder that contains the 'pythonosc' package, if python-osc is neither "
                    "bundled with the add-on nor importable (e.g. <venv>/lib/python3.11/"
                    "site-packages)")

    def draw(self, _context):
        col = self.layout.column()
        col.prop(self, "python_osc_path")
        try:
            col.label(text=f"python-osc: found in {ensure_pythonosc(_extra_dirs())}")
        except ImportError:
            col.label(text="python-osc: NOT found (see the tooltip above)", icon="ERROR")


class LPRR_ReceiverSettings(bpy.types.PropertyGroup):
    target: PointerProperty(name="Object", type=bpy.types.Object, poll=_poll_mesh,
                            description="Mesh whose shape keys are driven (matched by name)")
    host: EnumProperty(
        name="Listen on", default="127.0.0.1",
        items=[("127.0.0.1", "This machine", "Only lprr on this computer can send"),
               ("0.0.0.0", "Network", "Any machine on the network can send")])
    port: IntProperty(name="Port", default=DEFAULT_PORT, min=0, max=65535,
                      description="UDP port; point lprr at it with --osc HOST:PORT")
    record: BoolProperty(name="Record", default=False,
                         description="Keyframe the shape keys for every received frame")
    rename: StringProperty(
        name="Rename", default="",
        description="Incoming name = shape key, separated by commas, e.g. "
                    "'A=jawOpen, Joy=mouthSmileLeft'. Other names match a key of the same "
                    "name, ignoring case")


def _extra_dirs() -> tuple[str, ...]:
    addon = bpy.context.preferences.addons.get(__package__ or __name__)
    path = getattr(addon.preferences, "python_osc_path", "") if addon else ""
    return (bpy.path.abspath(path),) if path else ()


def _settings(scene=None) -> LPRR_ReceiverSettings:
    return (scene or bpy.context.scene).lprr_receiver


# ------------------------------------------------------------------------- python API
def is_running() -> bool:
    return _receiver is not None and _receiver.running


def start(port: int | None = None, object_name: str | None = None, host: str | None = None,
          record: bool | None = None, rename: dict[str, str] | str | None = None,
          scene=None) -> int:
    """Start listening (stopping a running receiver first); returns the port bound.

    Arguments left as None keep the scene's settings. ``port=0`` binds a free port.
    """
    global _receiver
    stop()
    s = _settings(scene)
    if object_name is not None:
        obj = bpy.data.objects.get(object_name)
        if obj is None:
            raise KeyError(f"no object named {object_name!r}")
        s.target = obj
    if host is not None:
        s.host = host
    if port is not None:
        s.port = port
    if record is not None:
        s.record = record
    if rename is not None:
        s.rename = rename if isinstance(rename, str) else ", ".join(
            f"{k}={v}" for k, v in rename.items())
    _receiver = OscReceiver(s.host, s.port, extra_dirs=_extra_dirs())
    _applier.reset_recording()
    if not bpy.app.timers.is_registered(_timer):
        bpy.app.timers.register(_timer, first_interval=0.0, persistent=True)
    return _receiver.port


def stop() -> None:
    global _receiver
    if bpy.app.timers.is_registered(_timer):
        bpy.app.timers.unregister(_timer)
    if _receiver is not None:
        _receiver.stop()
        _receiver = None


def pump(scene=None) -> int:
    """Apply what arrived (main thread). While recording, every frame is applied and keyed
    in order; otherwise only the newest. Returns how many frames were applied."""
    if _receiver is None:
        return 0
    s = _settings(scene)
    _apply_rename(s.rename)
    frames = _receiver.take(all_frames=s.record)
    if not s.record:
        _applier.reset_recording()
    for f in frames:
        _applier.apply(s.target, f, record=s.record, scene=scene or bpy.context.scene)
    return len(frames)


_rename_text: str | None = None


def _apply_rename(text: str) -> None:
    """Parse the panel's Rename field when it changes; report entries that do not parse."""
    global _rename_text
    if text == _rename_text:
        return
    _rename_text = text
    table, bad = parse_rename(text)
    if bad:
        log.warning("lprr receiver: ignored rename entries %s (write them as name=shape_key)",
                    ", ".join(repr(b) for b in bad))
    _applier.set_rename(table)


def run_blocking(seconds: float, until=None, interval: float = 0.001, scene=None) -> int:
    """For ``blender -b``: pump for ``seconds`` (or until ``until()`` is true)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and not (until and until()):
        n += pump(scene)
        time.sleep(interval)
    return n


def status() -> dict:
    r = _receiver
    return {
        "running": is_running(),
        "port": r.port if r else None,
        "frames": r.stats.frames if r else 0,
        "dropped": r.stats.dropped if r else 0,
        "protocol": r.stats.protocol if r else "",
        "applied": _applier.applied,
        "keyed": _applier.keyed,
        "missing": sorted(_applier.missing),
        "bad": r.stats.bad if r else 0,
        "largest": r.stats.largest if r else 0,
    }


def _timer():
    if _receiver is None:
        return None
    try:
        if pump() and bpy.context.screen is not None:
            for area in bpy.context.screen.areas:  # redraw so the viewport follows the stream
                if area.type in {"VIEW_3D", "PROPERTIES"}:
                    area.tag_redraw()
    except Exception:  # a timer that raises is dropped by Blender: log and keep going
        log.exception("lprr receiver: applying a frame failed")
    return TIMER_INTERVAL


@bpy.app.handlers.persistent
def _on_load_pre(*_args):
    stop()  # the object pointer is about to become invalid


# ------------------------------------------------------------------------- operators / UI
class LPRR_OT_start(bpy.types.Operator):
    bl_idname = "lprr.receiver_start"
    bl_label = "Start receiving"
    bl_description = ("Listen for lprr (native OSC, VMC or Live Link Face) and drive the "
                      "object's shape keys")

    def execute(self, context):
        s = _settings(context.scene)
        if s.target is None:
            self.report({"ERROR"}, "pick the object whose shape keys lprr should drive")
            return {"CANCELLED"}
        try:
            port = start(scene=context.scene)
        except ImportError:
            self.report({"ERROR"}, PYTHON_OSC_HELP)
            return {"CANCELLED"}
        except OSError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"lprr receiver listening on {s.host}:{port}")
        return {"FINISHED"}


class LPRR_OT_stop(bpy.types.Operator):
    bl_idname = "lprr.receiver_stop"
    bl_label = "Stop"

    def execute(self, _context):
        stop()
        return {"FINISHED"}


class LPRR_OT_import_take(bpy.types.Operator, ImportHelper):
    bl_idname = "lprr.import_take"
    bl_label = "Import take..."
    bl_description = ("Keyframe a take recorded by lprr (--record .csv or .jsonl) onto the "
                      "active object's shape keys, at the scene's frame rate")
    bl_options = frozenset({"REGISTER", "UNDO"})

    filter_glob: StringProperty(default="*.csv;*.jsonl;*.json;*.ndjson", options={"HIDDEN"})
    take_fps: FloatProperty(name="Take fps", default=0.0, min=0.0,
                            description="Frame rate of a CSV take's timecodes (0: read from "
                                        "the timecodes, 30 for takes under a second)")
    use_scene_start: BoolProperty(name="At the scene start", default=True,
                                  description="Put the take's time 0 at the scene's start "
                                              "frame (else at Start frame)")
    start_frame: IntProperty(name="Start frame", default=1,
                             description="Scene frame of the take's time 0 (the source "
                                         "video's first frame)")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and obj.data.shape_keys is not None

    def execute(self, context):
        try:
            take = read_take(self.filepath, self.take_fps)
        except (ValueError, KeyError, IndexError, OSError) as e:
            self.report({"ERROR"}, f"cannot read take {self.filepath}: {e}")
            return {"CANCELLED"}
        start = None if self.use_scene_start else self.start_frame
        rep = keyframe_take(context.active_object, take, start, context.scene)
        msg = (f"keyed {len(rep.keyed)} shape keys on {rep.frames} frames "
               f"({rep.first_frame}-{rep.last_frame})")
        if rep.missing:
            msg += f"; the object lacks {', '.join(rep.missing)}"
        self.report({"WARNING"} if rep.missing else {"INFO"}, msg)
        return {"FINISHED"}


class LPRR_PT_receiver(bpy.types.Panel):
    bl_label = "lprr receiver"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "lprr"

    def draw(self, context):
        s = _settings(context.scene)
        lay = self.layout
        lay.prop(s, "target")
        row = lay.row()
        row.enabled = not is_running()
        row.prop(s, "host", text="")
        row.prop(s, "port")
        lay.prop(s, "record", icon="REC")
        lay.prop(s, "rename")
        if is_running():
            lay.operator(LPRR_OT_stop.bl_idname, icon="PAUSE")
            st = status()
            lay.label(text=f"port {st['port']}: {st['frames']} frames ({st['protocol'] or '-'})")
            if st["missing"]:
                box = lay.box()
                box.label(text=f"{len(st['missing'])} names not on the object:", icon="INFO")
                box.label(text=", ".join(st["missing"][:6]) + (" ..." if len(st["missing"]) > 6
                                                                else ""))
        else:
            lay.operator(LPRR_OT_start.bl_idname, icon="PLAY")
        lay.separator()
        lay.operator(LPRR_OT_import_take.bl_idname, icon="IMPORT")  # onto the active object


_classes = (LPRR_AddonPreferences, LPRR_ReceiverSettings, LPRR_OT_start, LPRR_OT_stop,
            LPRR_OT_import_take, LPRR_PT_receiver)


def register() -> None:
    for c in _classes:
        bpy.utils.register_class(c)
    bpy.types.Scene.lprr_receiver = PointerProperty(type=LPRR_ReceiverSettings)
    if _on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(_on_load_pre)


def unregister() -> None:
    stop()
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    del bpy.types.Scene.lprr_receiver
    for c in reversed(_classes):
        bpy.utils.unregister_class(c)
