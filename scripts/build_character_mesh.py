"""Rebuild the demo character's base mesh (assets/character/base_mesh.npz).

Detects MediaPipe's 478 landmarks (with z) on a neutral frontal photo (default:
matplotlib's grace_hopper.jpg), moves them into the face's own frame (IOD = 1), makes them
left/right symmetric and stylises them (lprr.engine.world.character_mesh.stylise). Also
refreshes the cached face-mesh triangles (assets/face_mesh/triangles.npy).

    python scripts/build_character_mesh.py [--photo PATH]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.face import topology as T
from lprr.engine.face.landmarks import FaceLandmarker
from lprr.engine.world import character_mesh as cm
from lprr.engine.world import rig

log = logging.getLogger("build_character_mesh")


def default_photo() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", type=Path, default=default_photo())
    ap.add_argument("--out", type=Path, default=cm.BASE_MESH_PATH)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    tris = T.build_triangles()
    T.TRIANGLES_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.save(T.TRIANGLES_PATH, tris)

    img = cv2.imread(str(args.photo))
    if img is None:
        raise SystemExit(f"cannot read {args.photo}")
    with FaceLandmarker(static=True) as fl:
        lm = fl.detect(img)
    if lm is None:
        raise SystemExit(f"no face found in {args.photo}")
    local = cm.to_face_frame(lm.astype(np.float64))
    mirror = cm.mirror_map(local)
    sym = cm.symmetrise(local, mirror)
    verts = cm.stylise(sym)
    # store a neutral the rig's correctives leave alone (closed lips exactly closed)
    zero = np.zeros(len(CONTROL_NAMES))
    verts = rig.deform(verts, rig.control_deltas(verts, rig.CHARACTER), zero).astype(np.float64)
    again = rig.deform(verts, rig.control_deltas(verts, rig.CHARACTER), zero)
    assert np.abs(again - verts).max() < 1e-5
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, vertices=verts.astype(np.float32), mirror=mirror,
                        human=sym.astype(np.float32), source=str(args.photo.name))
    log.info("wrote %s (%d vertices) and %s (%d triangles)", args.out, len(verts),
                 T.TRIANGLES_PATH, len(tris))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
