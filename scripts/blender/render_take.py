"""Render a character take labelled with its rig weights, in lprr's take format.

    blender -b character.blend --python scripts/blender/render_take.py -- \
        --object Face --landmarks landmarks.json --frames 2000 --resolution 256 --seed 0 \
        --out takes/char_000

or, for lprr's demo character (``lprr blender export-character DIR`` first)::

    blender -b --factory-startup --python scripts/blender/render_take.py -- \
        --demo-character DIR --frames 20 --out takes/demo

(``lprr blender render-take`` runs either for you.) It samples the shape-key weights (a
range of motion, then natural random trajectories; or ``--weights FILE.csv`` to render
given ones), renders every frame from a fixed camera (the scene camera, or one made to face
the object) and writes::

    OUT/frames/000000.png ...   the renders
    OUT/weights.csv             frame,time,<shape-key names...>  (the rendered values)
    OUT/landmarks.npy           (N, L, 3) float32: the landmark vertices projected to pixels
                                (x right, y down; z: depth in pixels, smaller is nearer)
    OUT/meta.json               controls, fps, frames, size, seed, object, camera, ...

For APEM the landmark list must be the 478 MediaPipe face-mesh points: vertex index of
landmark 0, 1, ... 477 (the demo character stores it in its ``lprr_landmarks`` property).
Blender's Python has no numpy here: this script is plain Python (``.npy`` written by hand).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import struct
import sys
import time

import bpy
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weight_sampler


# ------------------------------------------------------------------------- files
def write_npy(path: str, values: list[float], shape: tuple[int, ...]) -> None:
    """A float32 .npy file without numpy (format version 1.0)."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack(f"<{len(values)}f", *values))


def write_weights_csv(path: str, names: list[str], rows: list[list[float]], fps: float) -> None:
    """The same layout as lprr's lprr.engine.take.write_weights_csv."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "time", *names])
        for i, row in enumerate(rows):
            w.writerow([i, f"{i / fps:.6f}", *(f"{v:.6f}" for v in row)])


def read_weights_csv(path: str) -> tuple[list[str], list[list[float]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    skip = 2 if head[:2] == ["frame", "time"] else 0
    return head[skip:], [[float(v) for v in r[skip:]] for r in rows[1:]]


def parse_landmarks(spec: str | None, obj) -> list[int]:
    """A JSON file (a list, or {"landmark_vertices": [...]}), "a,b,c", or the object's
    ``lprr_landmarks`` property when ``spec`` is empty or "object"."""
    if not spec or spec == "object":
        if "lprr_landmarks" not in obj:
            raise SystemExit(f"object {obj.name!r} has no 'lprr_landmarks' property: give "
                             "--landmarks FILE.json (vertex index of each landmark)")
        return [int(i) for i in obj["lprr_landmarks"]]
    if os.path.isfile(spec):
        with open(spec) as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = data["landmark_vertices"]
        return [int(i) for i in data]
    return [int(t) for t in spec.split(",") if t.strip()]


# ------------------------------------------------------------------------- scene
def ensure_camera(scene, obj, size: tuple[int, int]):
    """The scene camera, or an orthographic one in front of the object (-Y side) that
    frames its bounding box in a ``size`` (width, height) image."""
    if scene.camera is not None:
        return scene.camera
    corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
    lo = Vector([min(c[i] for c in corners) for i in range(3)])
    hi = Vector([max(c[i] for c in corners) for i in range(3)])
    centre = 0.5 * (lo + hi)
    data = bpy.data.cameras.new("lprr_camera")
    data.type = "ORTHO"
    w, h = size  # ortho_scale spans the longer image side
    data.ortho_scale = 1.15 * max((hi.x - lo.x) * max(w, h) / w, (hi.z - lo.z) * max(w, h) / h)
    cam = bpy.data.objects.new("lprr_camera", data)
    scene.collection.objects.link(cam)
    cam.location = (centre.x, lo.y - 10.0, centre.z)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)
    data.clip_end = 10.0 + (hi.y - lo.y) + 10.0
    scene.camera = cam
    return cam


def configure_render(scene, engine: str, resolution: tuple[int, int], samples: int) -> None:
    r = scene.render
    r.engine = engine
    r.resolution_x, r.resolution_y = resolution
    r.resolution_percentage = 100
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.image_settings.color_depth = "8"
    r.film_transparent = False
    if engine == "CYCLES":
        scene.cycles.device = "CPU"
        scene.cycles.samples = samples
        scene.cycles.use_adaptive_sampling = False
        scene.cycles.use_denoising = False  # this build has no OpenImageDenoise
        scene.cycles.max_bounces = 2
        scene.cycles.seed = 0
    elif engine == "BLENDER_WORKBENCH":
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
        scene.display.render_aa = "8"
    elif engine == "BLENDER_EEVEE":
        scene.eevee.taa_render_samples = samples


def project_landmarks(scene, cam, obj, vertex_ids: list[int], size: tuple[int, int]
                      ) -> list[tuple[float, float, float]]:
    """Pixel x, y (top-left origin) and z (depth in pixels, relative to the points' mean)."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    mesh = ev.to_mesh()
    try:
        mw = ev.matrix_world
        pts = [mw @ mesh.vertices[i].co for i in vertex_ids]
    finally:
        ev.to_mesh_clear()
    w, h = size
    ndc = [world_to_camera_view(scene, cam, p) for p in pts]
    # pixels per world unit at the points' mean: project a unit step along the camera x
    mean = sum(pts, Vector()) / len(pts)
    right = cam.matrix_world.to_3x3() @ Vector((1.0, 0.0, 0.0))
    a, b = world_to_camera_view(scene, cam, mean), world_to_camera_view(scene, cam, mean + right)
    ppu = abs(b.x - a.x) * w
    z0 = sum(q.z for q in ndc) / len(ndc)
    return [(q.x * w, (1.0 - q.y) * h, (q.z - z0) * ppu) for q in ndc]


# ------------------------------------------------------------------------- main
def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="render_take.py", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="take folder to write")
    ap.add_argument("--object", help="mesh with the shape keys (default: the demo character)")
    ap.add_argument("--landmarks", default="object",
                    help="JSON file of vertex indices, 'a,b,c', or 'object' (the object's "
                         "lprr_landmarks property; default)")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--resolution", default="256", help="N or WxH pixels (default 256)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--rom-share", type=float, default=0.5,
                    help="at most this share of the frames is range of motion (default 0.5)")
    ap.add_argument("--keys", help="comma-separated shape keys to drive (default: all)")
    ap.add_argument("--weights", help="render these weights (CSV: [frame,time,]<names...>) "
                                      "instead of sampling")
    ap.add_argument("--engine", default="CYCLES",
                    choices=["CYCLES", "BLENDER_WORKBENCH", "BLENDER_EEVEE"])
    ap.add_argument("--samples", type=int, default=16, help="Cycles/EEVEE samples")
    ap.add_argument("--demo-character", metavar="DIR",
                    help="first build lprr's demo character from `lprr blender "
                         "export-character DIR` (replaces the scene's objects)")
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    scene = bpy.context.scene
    if a.demo_character:
        import demo_character

        demo_character.clear_scene()
        obj = demo_character.import_character(a.demo_character)
        demo_character.setup_scene(obj, 256, a.demo_character)
        a.object = a.object or obj.name
    if not a.object or a.object not in bpy.data.objects:
        raise SystemExit(f"no object {a.object!r}; objects: {', '.join(bpy.data.objects.keys())}")
    obj = bpy.data.objects[a.object]
    if obj.type != "MESH" or obj.data.shape_keys is None:
        raise SystemExit(f"object {obj.name!r} has no shape keys")
    blocks = obj.data.shape_keys.key_blocks
    ref = obj.data.shape_keys.reference_key.name
    names = [kb.name for kb in blocks if kb.name != ref]
    if a.keys:
        wanted = [k.strip() for k in a.keys.split(",") if k.strip()]
        missing = [k for k in wanted if k not in blocks]
        if missing:
            raise SystemExit(f"no shape keys named {missing} on {obj.name!r}")
        names = wanted
    vertex_ids = parse_landmarks(a.landmarks, obj)
    n_verts = len(obj.data.vertices)
    bad = [i for i in vertex_ids if not 0 <= i < n_verts]
    if bad:
        raise SystemExit(f"landmark vertex ids out of range (mesh has {n_verts}): {bad[:5]}")

    if a.weights:
        csv_names, rows = read_weights_csv(a.weights)
        idx = {n: i for i, n in enumerate(csv_names)}
        rows = [[r[idx[n]] if n in idx else 0.0 for n in names] for r in rows][: a.frames]
    else:
        rows = weight_sampler.sample(names, a.frames, a.fps, a.seed, a.rom_share)
    size = tuple(int(v) for v in a.resolution.lower().split("x"))
    size = (size[0], size[-1])

    cam = ensure_camera(scene, obj, size)
    configure_render(scene, a.engine, size, a.samples)
    out = os.path.abspath(a.out)
    os.makedirs(os.path.join(out, "frames"), exist_ok=True)
    for kb in blocks:  # everything not driven stays at rest
        if kb.name != ref:
            kb.value = 0.0
    landmarks: list[float] = []
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        for n, v in zip(names, row):
            blocks[n].value = v
        bpy.context.view_layer.update()
        for p in project_landmarks(scene, cam, obj, vertex_ids, size):
            landmarks.extend(p)
        scene.render.filepath = os.path.join(out, "frames", f"{i:06d}.png")
        bpy.ops.render.render(write_still=True)
    seconds = time.perf_counter() - t0

    write_weights_csv(os.path.join(out, "weights.csv"), names, rows, a.fps)
    write_npy(os.path.join(out, "landmarks.npy"), landmarks, (len(rows), len(vertex_ids), 3))
    meta = {
        "controls": names, "fps": a.fps, "frames": len(rows), "size": list(size),
        "source": "blender", "kind": "character", "seed": a.seed, "object": obj.name,
        "engine": a.engine, "samples": a.samples, "camera": cam.name,
        "landmark_vertices": vertex_ids, "rom_share": a.rom_share,
        "weights_from": a.weights or "sampled", "blender": bpy.app.version_string,
        "render_seconds_per_frame": round(seconds / max(len(rows), 1), 3),
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"lprr: wrote {len(rows)} frames to {out} ({seconds / max(len(rows), 1):.2f} s a "
          "frame)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []))
