"""Keyframe a recorded lprr take onto an object's shape keys in a .blend, and save it.

``lprr blender import-take`` runs this (it parses the take with lprr's own reader and passes
the rows as JSON with ``--rows``); by hand, give the take itself with ``--take``::

    blender -b character.blend --python scripts/blender/import_take.py -- \\
        --take take.csv --object Face [--start 1] [--take-fps 30] [--out keyed.blend]

The keyframing is ``lprr_receiver/take_import.py``'s (the add-on's "Import take..." uses the
same function); the module docstring there says which row goes to which frame. Prints one
``LPRR_RESULT {json}`` line on success, or ``LPRR_ERROR message`` and exits 2 on a user error
(the CLI turns that into its one-line error).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))


def _take_import():
    """The source tree's take_import.py, by file: an older lprr_receiver add-on enabled in
    the user's Blender may own the package name."""
    path = os.path.join(HERE, "lprr_receiver", "take_import.py")
    spec = importlib.util.spec_from_file_location("lprr_take_import", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


class TakeError(Exception):
    """A user error: reported as one LPRR_ERROR line."""


def main(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="import_take.py", description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--take", help="recorder CSV or JSON lines")
    src.add_argument("--rows", help="JSON {names, times, values} (what lprr passes)")
    ap.add_argument("--object", required=True, help="mesh with the shape keys")
    ap.add_argument("--start", type=int, default=None,
                    help="scene frame of the take's time 0 (default: the scene's frame_start)")
    ap.add_argument("--take-fps", type=float, default=0.0,
                    help="frame rate of a CSV take's timecodes (default: inferred)")
    ap.add_argument("--out", help="save here (default: the opened .blend, in place)")
    a = ap.parse_args(argv)
    ti = _take_import()
    if not bpy.data.filepath:
        raise TakeError("no .blend is open: run blender -b FILE.blend --python import_take.py")
    obj = bpy.data.objects.get(a.object)
    if obj is None:
        meshes = [o.name for o in bpy.data.objects if o.type == "MESH"]
        raise TakeError(f"no object {a.object!r} in {bpy.data.filepath} (meshes: "
                        f"{', '.join(meshes) or 'none'})")
    if obj.type != "MESH" or obj.data.shape_keys is None:
        raise TakeError(f"object {obj.name!r} has no shape keys")
    try:
        if a.rows:
            with open(a.rows, encoding="utf-8") as f:
                d = json.load(f)
            take = ti.TakeRows(d["names"], d["times"], d["values"])
        else:
            take = ti.read_take(a.take, a.take_fps)
    except (OSError, ValueError, KeyError, IndexError) as e:
        raise TakeError(f"cannot read take {a.take or a.rows}: {e}") from None
    rep = ti.keyframe_take(obj, take, a.start, bpy.context.scene)
    out = os.path.abspath(a.out) if a.out else bpy.data.filepath
    if a.out:
        bpy.ops.wm.save_as_mainfile(filepath=out)
    else:
        bpy.ops.wm.save_mainfile()
    return {**rep.as_dict(), "object": obj.name, "saved": out,
            "scene_fps": bpy.context.scene.render.fps / bpy.context.scene.render.fps_base}


if __name__ == "__main__":
    try:
        result = main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else [])
    except TakeError as e:
        print(f"LPRR_ERROR {e}", flush=True)
        sys.exit(2)
    print(f"LPRR_RESULT {json.dumps(result)}", flush=True)
