"""The demo character: a stylised 3D face on the MediaPipe topology, rigged and rendered on
the CPU with numpy and OpenCV only.

Its mesh vertices *are* MediaPipe-layout landmarks, so projecting them gives the 478
landmarks APEM needs: no face detector ever runs on the character.

Rendering (painter's algorithm, at ``supersample`` times the size, then INTER_AREA down):
background, then what lies behind the skin - the dark mouth interior, tongue and two rows
of teeth (the lower row rides on the jaw), the eyeballs (sclera filling the eye opening,
an iris ellipse from the iris landmarks, pupil, highlight) - then the skin triangles,
back-to-front, Lambert-shaded, with lips and brows in their own colours, and finally a lash
line along each upper lid. The tessellation has holes at the eyes and the mouth, so what is
behind shows exactly through the openings; when the lids meet (blink = 1) the eye opening
collapses and only the lash line is left.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.face import topology as T
from lprr.engine.world import character_mesh as cm
from lprr.engine.world import rig
from lprr.engine.world.puppet_paint import tongue_ellipse

log = logging.getLogger(__name__)

C = len(CONTROL_NAMES)


@dataclass
class CameraPose:
    """Orthographic camera. Angles in degrees; ``scale`` multiplies the default framing;
    ``tx``, ``ty`` shift the face by fractions of the image size.

    yaw > 0 turns the face towards the image right (the subject's left), pitch > 0 tilts
    the chin down, roll > 0 turns the face clockwise on the image.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0

    @classmethod
    def jitter(cls, rng: np.random.Generator, amount: float = 1.0,
               base: CameraPose | None = None) -> CameraPose:
        """A lightly jittered pose around ``base`` (default: frontal). amount=1: a few
        degrees, a few percent of scale and shift."""
        b = base or cls()
        n = rng.normal(size=6) * amount
        return cls(b.yaw + 5.0 * n[0], b.pitch + 4.0 * n[1], b.roll + 3.0 * n[2],
                   b.scale * float(np.exp(0.04 * n[3])), b.tx + 0.02 * n[4],
                   b.ty + 0.02 * n[5])

    def rotation(self) -> np.ndarray:
        y, p, r = np.deg2rad([self.yaw, self.pitch, self.roll])
        # frame: x right, y down, z into the screen
        ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
        rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
        rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
        return rz @ rx @ ry


@dataclass
class CharacterLook:
    """Colours (BGR) and framing of the demo character."""

    skin: tuple[int, int, int] = (176, 168, 64)  # teal
    lips: tuple[int, int, int] = (122, 70, 150)  # plum
    brows: tuple[int, int, int] = (70, 40, 60)
    iris: tuple[int, int, int] = (20, 150, 235)  # amber
    sclera: tuple[int, int, int] = (235, 240, 240)
    mouth: tuple[int, int, int] = (45, 20, 55)
    tongue: tuple[int, int, int] = (95, 70, 185)
    teeth: tuple[int, int, int] = (225, 235, 240)
    lashes: tuple[int, int, int] = (40, 25, 40)
    background: tuple[int, int, int] = (92, 84, 78)
    light: tuple[float, float, float] = (-0.35, -0.55, -1.0)  # towards the light
    ambient: float = 0.38
    pixels_per_unit: float = 0.25  # inter-ocular distance, as a fraction of the size
    centre_v: float = 0.62  # the model point (in IOD units, v down) put at the image centre


@dataclass
class _Layout:
    """Index sets and constant geometry derived once from the base mesh."""

    tris: np.ndarray
    tri_colour: np.ndarray  # (T, 3) float base colour per triangle
    teeth_up: np.ndarray  # (k, 3) polygon in the local frame
    teeth_lo: np.ndarray
    tongue: np.ndarray
    gaps_up: list = field(default_factory=list)
    gaps_lo: list = field(default_factory=list)


class DemoCharacter:
    """The stylised demo character.

    ``render(weights, camera)`` -> (BGR uint8 (size, size, 3), landmarks (478, 3) pixels);
    landmarks are x, y in pixels of the returned image and z (towards the camera smaller)
    scaled like x, the same convention as ``lprr.engine.face.landmarks.FaceLandmarker``.
    """

    def __init__(self, size: int = 256, look: CharacterLook | None = None,
                 proportions: rig.RigProportions = rig.CHARACTER, supersample: int = 2,
                 base_mesh: Path | None = None):
        self.size = int(size)
        self.look = look or CharacterLook()
        self.supersample = max(1, int(supersample))
        self.base = cm.load_base(base_mesh or cm.BASE_MESH_PATH)
        self.deltas = rig.control_deltas(self.base, proportions).astype(np.float64)
        self.skirt = cm.build_skirt(self.base)
        self._layout = self._build_layout()
        self._pivot = np.array([0.0, self.look.centre_v, 0.6])

    # ------------------------------------------------------------------ geometry
    def _build_layout(self) -> _Layout:
        lk = self.look
        tris = np.concatenate([T.TRIANGLES, self.skirt.triangles]).astype(np.int32)
        n_v = T.N_MESH + 2 * len(T.FACE_OVAL)
        colour = np.tile(np.array(lk.skin, np.float64), (len(tris), 1))
        lip = np.zeros(n_v, bool)
        lip[list(T.UPPER_LIP + T.LOWER_LIP + T.LIP_CORNERS_L + T.LIP_CORNERS_R)] = True
        colour[lip[tris].all(1)] = lk.lips
        for brow in (T.BROW_L, T.BROW_R):
            m = np.zeros(n_v, bool)
            m[list(brow)] = True
            colour[m[tris].all(1)] = lk.brows
        b = self.base
        mw = np.linalg.norm(b[T.MOUTH_CORNER_L, :2] - b[T.MOUTH_CORNER_R, :2])
        lip_v = 0.5 * (b[13, 1] + b[14, 1])
        lip_w = b[13, 2]
        mc = 0.5 * (b[T.MOUTH_CORNER_L, 0] + b[T.MOUTH_CORNER_R, 0])

        def band(top, bottom, half, depth, n=9):
            u = np.linspace(-half, half, n)
            w = depth + 0.55 * (u / half) ** 2 * half
            upper = np.column_stack([mc + u, np.full(n, top), w])
            lower = np.column_stack([mc + u[::-1], np.full(n, bottom), w[::-1]])
            return np.concatenate([upper, lower])

        half = 0.36 * mw
        depth = lip_w + 0.06 * mw
        teeth_up = band(lip_v - 0.08 * mw, lip_v + 0.09 * mw, half, depth)
        teeth_lo = band(lip_v - 0.13 * mw, lip_v + 0.03 * mw, half * 0.92, depth + 0.02 * mw)
        t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        tongue = np.column_stack([mc + 0.3 * mw * np.cos(t), lip_v + 0.24 * mw
                                  + 0.1 * mw * np.sin(t), np.full(16, depth + 0.15 * mw)])
        gaps_up = [np.array([[mc + x, lip_v - 0.02 * mw, depth], [mc + x, lip_v + 0.09 * mw,
                                                                   depth]])
                   for x in np.linspace(-half, half, 7)[1:-1]]
        gaps_lo = [np.array([[mc + x, lip_v - 0.13 * mw, depth], [mc + x, lip_v + 0.0 * mw,
                                                                   depth]])
                   for x in np.linspace(-half * 0.92, half * 0.92, 7)[1:-1]]
        return _Layout(tris, colour, teeth_up, teeth_lo, tongue, gaps_up, gaps_lo)

    def _weights(self, weights) -> np.ndarray:
        w = np.zeros(C) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (C,):
            raise ValueError(f"expected {C} weights in CONTROL_NAMES order, got {w.shape}")
        return np.clip(w, 0.0, 1.0)

    def shape(self, weights=None) -> np.ndarray:
        """Deformed mesh (478, 3) in the model's local frame (IOD units)."""
        return rig.deform(self.base, self.deltas, self._weights(weights)).astype(np.float64)

    def _jaw_offset(self, w: np.ndarray) -> np.ndarray:
        """How the jaw bone moved (for the lower teeth and the tongue)."""
        pt = T.LIP_LOWER_MID_OUTER
        return sum(w[INDEX[n]] * self.deltas[INDEX[n], pt] for n in ("jawOpen", "jawLeft",
                                                                     "jawRight"))

    def _projector(self, camera: CameraPose | None, scale: float):
        cam = camera or CameraPose()
        rot = cam.rotation()
        ppu = self.look.pixels_per_unit * self.size * cam.scale * scale
        centre = np.array([(0.5 + cam.tx) * self.size, (0.5 + cam.ty) * self.size]) * scale

        def project(p: np.ndarray) -> np.ndarray:
            q = (p - self._pivot) @ rot.T
            out = np.empty_like(q)
            out[:, :2] = q[:, :2] * ppu + centre
            out[:, 2] = q[:, 2] * ppu
            return out

        return project, rot

    def landmarks(self, weights=None, camera: CameraPose | None = None) -> np.ndarray:
        """(478, 3) float32 projected landmarks in pixels of a ``size`` image."""
        project, _ = self._projector(camera, 1.0)
        return project(self.shape(weights)).astype(np.float32)

    # ------------------------------------------------------------------ rendering
    def render(self, weights=None, camera: CameraPose | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Render one frame: (BGR uint8 (size, size, 3), landmarks (478, 3) float32)."""
        w = self._weights(weights)
        ss = self.supersample
        lk = self.look
        lay = self._layout
        mesh = self.shape(w)
        verts = np.concatenate([mesh[: T.N_MESH], self.skirt.vertices(mesh)])
        project, _ = self._projector(camera, ss)
        pv = project(verts)
        big = self.size * ss
        img: np.ndarray = np.empty((big, big, 3), np.uint8)
        img[:] = lk.background
        sh = 3  # fractional bits for sub-pixel polygon corners
        k = float(1 << sh)

        def poly(pts2d, colour, convex=True):
            p = np.round(pts2d[:, :2] * k).astype(np.int32)
            if convex:
                cv2.fillConvexPoly(img, p, colour, cv2.LINE_8, sh)
            else:
                cv2.fillPoly(img, [p], colour, cv2.LINE_8, sh)

        # --- behind the skin: mouth interior, tongue, teeth
        jaw = self._jaw_offset(w)
        outer = list(T.LIP_OUTER_UPPER) + list(reversed(T.LIP_OUTER_LOWER[1:-1]))
        poly(pv[outer], lk.mouth, convex=False)
        poly(project(lay.tongue + jaw), lk.tongue)
        teeth_lo = project(lay.teeth_lo + jaw)
        poly(teeth_lo, lk.teeth)
        gap_col = tuple(int(0.75 * c) for c in lk.teeth)
        for g in lay.gaps_lo:
            q = np.round(project(g + jaw)[:, :2] * k).astype(np.int32)
            cv2.line(img, tuple(q[0]), tuple(q[1]), gap_col, max(1, ss // 2), cv2.LINE_8, sh)
        poly(project(lay.teeth_up), lk.teeth)
        for g in lay.gaps_up:
            q = np.round(project(g)[:, :2] * k).astype(np.int32)
            cv2.line(img, tuple(q[0]), tuple(q[1]), gap_col, max(1, ss // 2), cv2.LINE_8, sh)

        # --- eyeballs: sclera fills the opening, iris and pupil from the iris landmarks
        pm = project(mesh)
        for opening, iris in ((T.EYE_OPENING_L, T.IRIS_L), (T.EYE_OPENING_R, T.IRIS_R)):
            op = pm[list(opening)]
            if _area(op) < 1.0:
                continue  # closed
            poly(op, lk.sclera, convex=False)
            c = pm[iris[0], :2]
            a = 0.5 * (pm[iris[1], :2] - pm[iris[3], :2])
            b = 0.5 * (pm[iris[2], :2] - pm[iris[4], :2])
            ring = c + np.outer(_COS, a) + np.outer(_SIN, b)
            poly(ring, lk.iris)
            poly(c + 0.75 * (ring - c), tuple(int(0.7 * x) for x in lk.iris))
            poly(c + 0.42 * (ring - c), (15, 10, 15))
            rad = 0.5 * (np.linalg.norm(a) + np.linalg.norm(b))
            hl = c + np.array([-0.35, -0.35]) * rad
            cv2.circle(img, tuple(np.round(hl * k).astype(int)), int(0.16 * rad * k),
                       (250, 250, 250), -1, cv2.LINE_8, sh)
            # a shadow under the upper lid makes the eye read as round
            up = pm[list(opening[: len(T.EYE_UPPER_L)]), :2]
            q = np.round(up * k).astype(np.int32)
            cv2.polylines(img, [q], False, tuple(int(0.55 * x) for x in lk.sclera),
                          max(1, int(0.1 * rad)), cv2.LINE_8, sh)

        # --- skin: back-face culled, back to front, Lambert
        t = lay.tris
        a, b, c = pv[t[:, 0]], pv[t[:, 1]], pv[t[:, 2]]
        e1, e2 = b - a, c - a
        n = np.cross(e1, e2)
        front = n[:, 2] < 0  # outward normal points at the camera (-z)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        light = np.asarray(lk.light, np.float64)
        light /= np.linalg.norm(light)
        shade = lk.ambient + (1 - lk.ambient) * np.clip(n @ light, 0, 1)
        col = np.clip(lay.tri_colour * shade[:, None], 0, 255).astype(np.int32)
        depth = a[:, 2] + b[:, 2] + c[:, 2]
        order = np.flatnonzero(front)
        order = order[np.argsort(-depth[order], kind="stable")]
        pts = np.round(np.stack([a, b, c], 1)[:, :, :2] * k).astype(np.int32)
        cols = col.tolist()
        fill = cv2.fillConvexPoly
        for i in order:
            fill(img, pts[i], cols[i], cv2.LINE_8, sh)

        # --- a stuck-out tongue lies over the lower lip
        amount = float(w[INDEX["tongueOut"]])
        if amount > 0.02:
            (cx, cy), (ax, ay) = tongue_ellipse(pm, amount)
            cv2.ellipse(img, (round(cx * k), round(cy * k)), (int(ax * k), int(ay * k)), 0, 0,
                        360, tuple(int(min(255, 1.15 * c)) for c in lk.tongue), -1,
                        cv2.LINE_8, sh)

        # --- lash lines on the upper lids (after the skin)
        for up in (T.EYE_UPPER_L, T.EYE_UPPER_R):
            q = np.round(pm[list(up), :2] * k).astype(np.int32)
            thick = max(1, round(0.012 * big))
            cv2.polylines(img, [q], False, lk.lashes, thick, cv2.LINE_8, sh)

        if ss > 1:
            img = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        lm = pm.copy()
        lm /= ss
        return img, lm.astype(np.float32)

    # ------------------------------------------------------------------ export
    def export_obj(self, out_dir: str | Path) -> list[Path]:
        """Write neutral.obj and one OBJ per control (the shape at weight 1), all with the
        same vertices in the same order (face mesh, skirt rings, then the 10 iris points)
        and the same faces, so Blender can join them as shape keys. Y up, Z towards the
        viewer, 1 unit = inter-ocular distance."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tris = self._layout.tris
        paths = []

        def write(path: Path, mesh: np.ndarray, name: str) -> None:
            verts = np.concatenate([mesh[: T.N_MESH], self.skirt.vertices(mesh),
                                    mesh[T.N_MESH :]])
            blender = verts * np.array([1.0, -1.0, -1.0])  # u, -v, -w: Y up, Z to viewer
            lines = [f"# lprr demo character: {name}", f"o {name}"]
            lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in blender]
            lines += [f"f {i + 1} {j + 1} {k + 1}" for i, j, k in tris]
            path.write_text("\n".join(lines) + "\n")
            paths.append(path)

        write(out / "neutral.obj", self.shape(None), "neutral")
        for name in CONTROL_NAMES:
            w = np.zeros(C)
            w[INDEX[name]] = 1.0
            # the plain linear shape (no correctives): what a blendshape rig can replay
            write(out / f"{name}.obj", self.base + self.deltas[INDEX[name]], name)
        return paths


_T16 = np.linspace(0, 2 * np.pi, 20, endpoint=False)
_COS, _SIN = np.cos(_T16), np.sin(_T16)


def _area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


