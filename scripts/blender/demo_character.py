"""Build lprr's demo character in Blender: one mesh with all 52 ARKit shape keys.

First export it from lprr (OBJs plus character.json)::

    lprr blender export-character /tmp/demo_char

then, in Blender (headless or not)::

    blender -b --python scripts/blender/demo_character.py -- --obj-dir /tmp/demo_char \
        --save demo_character.blend

The OBJs all have the same vertices in the same order, so they are read directly (not with
Blender's OBJ importer, which may reorder vertices) and become shape keys of one mesh. The
object keeps the landmark map in its ``lprr_landmarks`` property (vertex index of each of the
478 MediaPipe landmarks), which ``render_take.py`` projects. The script also adds what the
face mesh leaves open: iris discs (extra vertices that follow the iris landmarks in every
shape key), white eyeballs, a dark mouth interior closing the lip hole, an orthographic camera framed like
lprr's own renderer, a sun and the background colour.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import bmesh
import bpy
from mathutils import Vector

OBJECT_NAME = "lprr_demo"
CAMERA_NAME = "lprr_camera"


def _srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def read_obj(path: str) -> tuple[list[tuple[float, float, float]], list[tuple[int, ...]]]:
    """Vertices (converted to Blender's Z up, -Y towards the viewer) and 0-based faces."""
    verts, faces = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("v "):
                x, y, z = (float(t) for t in line.split()[1:4])
                verts.append((x, -z, y))  # OBJ Y up / Z to viewer -> Blender Z up / -Y
            elif line.startswith("f "):
                faces.append(tuple(int(t.split("/")[0]) - 1 for t in line.split()[1:]))
    return verts, faces


def _iris_disc(co: list, iris: list[int], back: float, n: int = 16
               ) -> list[tuple[float, float, float]]:
    """Iris ring, pupil ring and centre, linear in the 5 iris points (so they follow every
    shape key exactly), pushed ``back`` into the head so closed lids cover them."""
    c, p1, p2, p3, p4 = (Vector(co[i]) for i in iris)
    a, b = 0.5 * (p1 - p3), 0.5 * (p2 - p4)
    shift = Vector((0.0, back, 0.0))
    ring = [c + math.cos(t) * a + math.sin(t) * b + shift
            for t in (2 * math.pi * k / n for k in range(n))]
    pupil = [c + 0.45 * (r - shift - c) + shift for r in ring]
    return [tuple(v) for v in ring + pupil + [c + shift]]


def _material(name: str, rgb, roughness: float = 0.6):
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    lin = [_srgb_to_linear(c) for c in rgb]
    mat.diffuse_color = (*lin, 1.0)  # Workbench and the viewport
    mat.roughness = roughness
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*lin, 1.0)
        bsdf.inputs["Roughness"].default_value = roughness
        bsdf.inputs["Specular"].default_value = 0.2
    return mat


def _sphere(name: str, centre, radius: float, mat, scale=(1.0, 1.0, 1.0), parent=None):
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=16, radius=radius)
    bm.to_mesh(me)
    bm.free()
    for p in me.polygons:
        p.use_smooth = True
    me.materials.append(mat)
    ob = bpy.data.objects.new(name, me)
    ob.location = centre
    ob.scale = scale
    bpy.context.scene.collection.objects.link(ob)
    if parent is not None:
        ob.parent = parent
    return ob


def import_character(obj_dir: str, name: str = OBJECT_NAME):
    """Create the demo character from lprr's export; returns the mesh object."""
    with open(os.path.join(obj_dir, "character.json")) as f:
        info = json.load(f)
    controls = info["controls"]
    base, faces = read_obj(os.path.join(obj_dir, "neutral.obj"))
    shapes = {}
    for c in controls:
        v, _ = read_obj(os.path.join(obj_dir, f"{c}.obj"))
        if len(v) != len(base):
            raise ValueError(f"{c}.obj has {len(v)} vertices, neutral.obj {len(base)}")
        shapes[c] = v
    n0 = len(base)
    colours = info["colours"]
    eyes = info["eyes"]
    # extra vertices after the exported ones, computed in every shape from the landmarks so
    # they follow every shape key exactly: iris discs and a mouth "bag" closing the lip hole
    back = 0.04  # iris discs sit this far (IOD units) behind the iris landmarks
    n_ring = 16
    mouth_ring = list(info["mouth_opening"])

    def with_extras(co):
        extra = []
        for eye in eyes:
            extra += _iris_disc(co, eye["iris"], back, n_ring)
        m = sum((Vector(co[i]) for i in mouth_ring), Vector()) / len(mouth_ring)
        extra.append(tuple(m + Vector((0.0, 0.35, 0.0))))
        return list(co) + extra

    verts = with_extras(base)
    all_faces = [tuple(f) for f in faces]
    n_skin = len(all_faces)
    face_kind = ["skin"] * n_skin
    for k in range(len(eyes)):
        o = n0 + k * (2 * n_ring + 1)
        ring, pupil, centre = o, o + n_ring, o + 2 * n_ring
        for j in range(n_ring):
            j2 = (j + 1) % n_ring
            all_faces.append((ring + j, ring + j2, pupil + j2, pupil + j))
            face_kind.append("iris")
        for j in range(n_ring):
            all_faces.append((centre, pupil + j, pupil + (j + 1) % n_ring))
            face_kind.append("pupil")
    bag = len(verts) - 1
    for j in range(len(mouth_ring)):
        all_faces.append((mouth_ring[j], mouth_ring[(j + 1) % len(mouth_ring)], bag))
        face_kind.append("mouth")

    me = bpy.data.meshes.new(name)
    me.from_pydata(verts, [], all_faces)
    me.update()
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)

    # materials: skin, lips, brows (a face is a region's when all its vertices are), iris...
    mats = {k: _material(f"lprr_{k}", colours[k]) for k in ("skin", "lips", "brows", "iris")}
    mats["pupil"] = _material("lprr_pupil", (0.06, 0.04, 0.06), 0.3)
    mats["mouth"] = _material("lprr_mouth", colours["mouth"], 0.9)
    order = ["skin", "lips", "brows", "iris", "pupil", "mouth"]
    for k in order:
        me.materials.append(mats[k])
    lips, brows = set(info["regions"]["lips"]), set(info["regions"]["brows"])
    for p in me.polygons:
        kind = face_kind[p.index]
        if kind == "skin":
            vs = set(p.vertices)
            kind = "lips" if vs <= lips else "brows" if vs <= brows else "skin"
        p.material_index = order.index(kind)
        p.use_smooth = True

    # shape keys, named exactly like the controls (what the receiver matches on)
    obj.shape_key_add(name="Basis", from_mix=False)
    for c in controls:
        kb = obj.shape_key_add(name=c, from_mix=False)
        co = with_extras(shapes[c])
        kb.data.foreach_set("co", [x for v in co for x in v])
        kb.slider_min, kb.slider_max = 0.0, 1.0
    me.update()
    obj["lprr_landmarks"] = list(info["landmark_vertices"])

    # white eyeballs behind the eye openings
    sclera = _material("lprr_sclera", colours["sclera"], 0.3)
    for eye in eyes:
        ring = [Vector(base[i]) for i in eye["opening"]]
        centre = sum(ring, Vector()) / len(ring)
        radius = 1.15 * max((Vector((p.x, 0.0, p.z)) - Vector((centre.x, 0.0, centre.z))).length
                            for p in ring)
        iris_y = Vector(base[eye["iris"][0]]).y + back
        _sphere(f"{name}_eye_{eye['side']}", (centre.x, iris_y + radius + 0.01, centre.z),
                radius, sclera, parent=obj)
    return obj


def setup_scene(obj, resolution: int = 256, info_dir: str | None = None):
    """Orthographic front camera framed like lprr's renderer, a sun, the background."""
    scene = bpy.context.scene
    framing = {"iod_fraction": 0.25, "centre_v": 0.62}
    background = (0.306, 0.329, 0.361)
    if info_dir:
        with open(os.path.join(info_dir, "character.json")) as f:
            info = json.load(f)
        framing = info.get("framing", framing)
        background = info["colours"].get("background", background)
    cam_data = bpy.data.cameras.get(CAMERA_NAME) or bpy.data.cameras.new(CAMERA_NAME)
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = 1.0 / framing["iod_fraction"]  # image width in IOD units
    cam_data.clip_start, cam_data.clip_end = 0.1, 100.0
    cam = bpy.data.objects.get(CAMERA_NAME) or bpy.data.objects.new(CAMERA_NAME, cam_data)
    if cam.name not in scene.collection.objects:
        scene.collection.objects.link(cam)
    cam.location = (0.0, -20.0, -framing["centre_v"])
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)  # look along +Y at the face
    scene.camera = cam
    sun_data = bpy.data.lights.get("lprr_sun") or bpy.data.lights.new("lprr_sun", "SUN")
    sun_data.energy = 3.0
    sun = bpy.data.objects.get("lprr_sun") or bpy.data.objects.new("lprr_sun", sun_data)
    if sun.name not in scene.collection.objects:
        scene.collection.objects.link(sun)
    sun.rotation_euler = (math.radians(55), math.radians(-20), math.radians(-25))
    world = scene.world or bpy.data.worlds.new("lprr_world")
    scene.world = world
    world.use_nodes = True
    bg = world.node_tree.nodes.get("Background")
    lin = [_srgb_to_linear(c) for c in background]
    if bg is not None:
        bg.inputs["Color"].default_value = (*lin, 1.0)
        bg.inputs["Strength"].default_value = 1.0
    world.color = lin
    scene.view_settings.view_transform = "Standard"  # colours as given, not Filmic
    scene.render.resolution_x = scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    return cam


def clear_scene() -> None:
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob, do_unlink=True)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="demo_character.py")
    ap.add_argument("--obj-dir", required=True, help="folder from `lprr blender export-character`")
    ap.add_argument("--name", default=OBJECT_NAME)
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--save", help="write the scene to this .blend")
    ap.add_argument("--keep", action="store_true", help="keep the objects already in the scene")
    a = ap.parse_args(argv)
    if not a.keep:
        clear_scene()
    obj = import_character(a.obj_dir, a.name)
    setup_scene(obj, a.resolution, a.obj_dir)
    print(f"lprr: built {obj.name} with {len(obj.data.shape_keys.key_blocks) - 1} shape keys")
    if a.save:
        bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(a.save))


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else [])
