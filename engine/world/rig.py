"""A face rig on the 478-point MediaPipe topology, built from any neutral landmark set.

``control_deltas(neutral)`` gives one displacement field per control (in the order of
``lprr.engine.controls.CONTROL_NAMES``). Every field is sized by the face's own anatomy (eye
height and width, brow-to-lid distance, mouth width, lip thickness, inter-ocular
distance) and laid out in the face's own frame, so it works on a photo's pixel landmarks
(2D or 3D, y down, slightly rolled) and on a 3D character mesh in its own units alike.

The face frame: ``u`` from the subject's right eye to their left eye (image right for an
unmirrored frontal face), ``v`` down towards the mouth, ``w = u x v`` into the face (away
from the camera, like MediaPipe's z). 2D inputs ignore ``w``.

Fields are built from handle displacements on chosen contours, spread over the mesh by
inverse-distance weighting over *geodesic* (along-the-mesh) distances with a Gaussian
falloff. Geodesics go around the eye and mouth holes, so an upper lid never drags the
lower one and a lower lip never drags the upper one.

``deform(neutral, deltas, weights)`` combines the fields linearly and then applies
correctives that keep the face physical: blink closes the lids exactly (upper and lower
lid points meet at eyeBlink = 1 whatever else is active), lids never cross, and lips
never invert.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.face import topology as T
from lprr.engine.face.frame import FaceFrame

log = logging.getLogger(__name__)

N = T.N_LANDMARKS
_EPS = 1e-9


@dataclass
class RigProportions:
    """Multipliers of each control's amplitude (1.0 = human proportions)."""

    blink_meet: float = 0.3  # where closed lids meet: 0 = lower lid line, 1 = upper lid line
    lid_wide: float = 1.0
    squint: float = 1.0
    gaze_range: float = 1.0  # eye rotation angle
    eyeball_radius: float = 0.45  # in eye widths (rotation centre behind the iris)
    brow_raise: float = 1.0
    brow_down: float = 1.0
    jaw_drop: float = 1.0
    jaw_side: float = 1.0
    mouth_close: float = 1.0
    smile_width: float = 1.0
    smile_lift: float = 1.0
    frown: float = 1.0
    pucker: float = 1.0
    funnel: float = 1.0
    stretch: float = 1.0
    mouth_shift: float = 1.0
    roll: float = 1.0
    press: float = 1.0
    cheek_puff: float = 1.0
    cheek_squint: float = 1.0
    sneer: float = 1.0
    lip_raise: float = 1.0  # mouthUpperUp / mouthLowerDown
    dimple: float = 1.0
    shrug: float = 1.0
    jaw_forward: float = 1.0
    tongue: float = 1.0


HUMAN = RigProportions()
# The demo character's stylised rig: bigger, cartoonier motion.
CHARACTER = RigProportions(
    blink_meet=0.25, lid_wide=1.2, squint=1.1, gaze_range=1.15, jaw_drop=1.35,
    jaw_side=1.3, smile_width=1.3, smile_lift=1.4, frown=1.4, pucker=1.2, funnel=1.25,
    stretch=1.3, mouth_shift=1.3, brow_raise=1.5, brow_down=1.3, cheek_puff=1.4,
    cheek_squint=1.2, sneer=1.4, lip_raise=1.3, dimple=1.3, shrug=1.3, jaw_forward=1.3,
)


# --------------------------------------------------------------------------- geodesics
def _geodesic(loc: np.ndarray) -> np.ndarray:
    """All-pairs along-the-mesh distances (468, 468) (Floyd-Warshall, about 0.1 s)."""
    e = T.edges()
    dist = np.full((T.N_MESH, T.N_MESH), np.inf)
    np.fill_diagonal(dist, 0.0)
    lengths = np.linalg.norm(loc[e[:, 0]] - loc[e[:, 1]], axis=1)
    dist[e[:, 0], e[:, 1]] = lengths
    dist[e[:, 1], e[:, 0]] = lengths
    for k in range(T.N_MESH):
        np.minimum(dist, dist[:, k : k + 1] + dist[k : k + 1, :], out=dist)
    return dist


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


class _Builder:
    """Builds the per-control fields of one face, in its local frame."""

    def __init__(self, neutral: np.ndarray, prop: RigProportions):
        self.p = prop
        self.frame = FaceFrame.from_landmarks(neutral)
        self.loc = self.frame.to_local(neutral)
        self.G = _geodesic(self.loc[: T.N_MESH])
        L = self.loc
        self.iod = self.frame.iod
        # eyes
        self.eye = {}
        for side, up, lo in (("Left", T.EYE_UPPER_L, T.EYE_LOWER_L),
                             ("Right", T.EYE_UPPER_R, T.EYE_LOWER_R)):
            U, Lo = np.array(up[1:-1]), np.array(lo[1:-1])
            width = float(np.linalg.norm(L[up[0], :2] - L[up[-1], :2]))
            height = float(np.mean(L[Lo[2:5], 1] - L[U[2:5], 1]))
            height = max(height, 0.2 * width)  # a squinting photo still gets a sane scale
            brow_lo = T.BROW_LOWER_L if side == "Left" else T.BROW_LOWER_R
            brow = float(np.mean(L[U[2:5], 1]) - np.mean(L[list(brow_lo), 1]))
            brow = max(brow, 0.5 * height)
            # position along the lid, 0 at the outer corner, 1 at the inner one -> taper
            t = np.linspace(0, 1, len(up))[1:-1]
            self.eye[side] = {"U": U, "L": Lo, "W": width, "H": height, "B": brow,
                              "taper": np.sin(np.pi * t) ** 0.7,
                              "sgn": 1.0 if side == "Left" else -1.0}
        # mouth
        self.mc = 0.5 * (L[T.MOUTH_CORNER_L] + L[T.MOUTH_CORNER_R])
        self.Wm = float(np.linalg.norm(L[T.MOUTH_CORNER_L, :2] - L[T.MOUTH_CORNER_R, :2]))
        self.rings_up = [np.array(r) for r in (T.LIP_OUTER_UPPER, T.LIP_SEMI_OUTER_UPPER,
                                               T.LIP_SEMI_INNER_UPPER, T.LIP_INNER_UPPER)]
        self.rings_lo = [np.array(r) for r in (T.LIP_OUTER_LOWER, T.LIP_SEMI_OUTER_LOWER,
                                               T.LIP_SEMI_INNER_LOWER, T.LIP_INNER_LOWER)]
        # upper/lower lip thickness per column (outer contour to inner contour)
        self.Tu = np.maximum(L[self.rings_up[3], 1] - L[self.rings_up[0], 1], 0.06 * self.Wm)
        self.Tl = np.maximum(L[self.rings_lo[0], 1] - L[self.rings_lo[3], 1], 0.06 * self.Wm)
        self.lip_pts = np.unique(np.concatenate(self.rings_up + self.rings_lo))
        # -1 (subject's right corner) .. +1 (left corner) across the mouth
        self.x = np.clip((L[:, 0] - self.mc[0]) / (0.5 * self.Wm), -1.5, 1.5)
        self.brow_pts = np.array(T.BROW_L + T.BROW_R)
        self.eye_pts = np.array(sorted(set(T.EYE_OPENING_L + T.EYE_OPENING_R)))
        self.nose = np.array(T.NOSE_BRIDGE + (T.NOSE_TIP, T.NOSE_BOTTOM) + T.NOSE_WINGS)

    # -- spreading handle displacements over the mesh
    def spread(self, handles, disp, anchors=(), sigma=None, power=2.0) -> np.ndarray:
        """(478, 3) field: exact at handles, zero at anchors, IDW + Gaussian falloff between."""
        h = np.asarray(handles, dtype=int)
        disp = np.broadcast_to(np.asarray(disp, dtype=np.float64), (len(h), 3))
        a = np.setdiff1d(np.asarray(anchors, dtype=int), h)
        sigma = sigma or 0.3 * self.iod
        out = np.zeros((N, 3))
        d = self.G[:, np.concatenate([h, a])]
        wts = 1.0 / (d**power + _EPS)
        field = (wts[:, : len(h)] @ disp) / wts.sum(1, keepdims=True)
        fall = np.exp(-((d[:, : len(h)].min(1) / sigma) ** 2))
        fall[fall < 1e-3] = 0.0  # compact support: far regions stay exactly still
        out[: T.N_MESH] = field * fall[:, None]
        out[h] = disp
        out[a] = 0.0
        return out

    # -- eyes
    def blink(self, side):
        e = self.eye[side]
        U, Lo = e["U"], e["L"]
        M = self.loc[Lo] + self.p.blink_meet * (self.loc[U] - self.loc[Lo])
        h = np.concatenate([U, Lo])
        disp = np.concatenate([M - self.loc[U], M - self.loc[Lo]])
        return self.spread(h, disp, self._eye_anchors(side), sigma=0.9 * e["H"])

    def _eye_anchors(self, side):
        up = T.EYE_UPPER_L if side == "Left" else T.EYE_UPPER_R
        brow = T.BROW_L if side == "Left" else T.BROW_R
        lower2 = T.EYE_LOWER2_L if side == "Left" else T.EYE_LOWER2_R
        other = T.EYE_OPENING_R if side == "Left" else T.EYE_OPENING_L
        return np.array((up[0], up[-1]) + brow + lower2 + T.NOSE_BRIDGE + other)

    def lids(self, side, up_dv, lo_dv, sigma_h=1.0):
        """Upper/lower lid moved along v by (fraction of eye height), tapered to the corners."""
        e = self.eye[side]
        du = np.zeros((len(e["U"]), 3))
        du[:, 1] = up_dv * e["H"] * e["taper"]
        dl = np.zeros((len(e["L"]), 3))
        dl[:, 1] = lo_dv * e["H"] * e["taper"]
        h = np.concatenate([e["U"], e["L"]])
        return self.spread(h, np.concatenate([du, dl]), self._eye_anchors(side),
                           sigma=sigma_h * e["H"])

    def gaze(self, side, direction):
        """Rotate the iris about the eyeball centre; lids follow up/down gaze a little."""
        e = self.eye[side]
        iris = np.array(T.IRIS_L if side == "Left" else T.IRIS_R)
        r = self.p.eyeball_radius * e["W"]
        centre = self.loc[iris[0]] + np.array([0.0, 0.0, r])
        deg = {"Up": 22.0, "Down": 26.0, "In": 30.0, "Out": 30.0}[direction]
        ang = np.deg2rad(deg * self.p.gaze_range)
        rel = self.loc[iris] - centre
        c, s = np.cos(ang), np.sin(ang)
        if direction in ("Up", "Down"):
            sign = -1.0 if direction == "Up" else 1.0  # up = -v
            # rotate in the v-w plane: the front of the eye (-w) moves towards sign * v
            v, w = rel[:, 1], rel[:, 2]
            new = np.stack([rel[:, 0], c * v - sign * s * w, sign * s * v + c * w], 1)
        else:
            toward_nose = -e["sgn"]
            sign = toward_nose if direction == "In" else -toward_nose
            u, w = rel[:, 0], rel[:, 2]
            new = np.stack([c * u - sign * s * w, rel[:, 1], sign * s * u + c * w], 1)
        out = np.zeros((N, 3))
        out[iris] = new - rel
        if direction == "Up":
            out += self.lids(side, -0.18 * self.p.gaze_range, -0.06 * self.p.gaze_range)
        elif direction == "Down":
            out += self.lids(side, 0.32 * self.p.gaze_range, 0.08 * self.p.gaze_range)
        out[iris] = new - rel
        return out

    # -- brows
    def _brow(self, side):
        idx = np.array(T.BROW_L if side == "Left" else T.BROW_R)
        inner = np.array((T.BROW_UPPER_L if side == "Left" else T.BROW_UPPER_R)[0])
        outer = np.array((T.BROW_UPPER_L if side == "Left" else T.BROW_UPPER_R)[-1])
        a, b = abs(self.loc[inner, 0]), abs(self.loc[outer, 0])
        t = np.clip((np.abs(self.loc[idx, 0]) - a) / max(b - a, _EPS), 0, 1)  # 0 inner
        return idx, t

    def _brow_anchors(self):
        return np.concatenate([self.eye_pts, self.nose[2:]])

    def brow_down(self, side):
        idx, t = self._brow(side)
        e = self.eye[side]
        B = e["B"] * self.p.brow_down
        disp = np.zeros((len(idx), 3))
        disp[:, 0] = -e["sgn"] * 0.15 * B * (1 - 0.6 * t)  # towards the nose
        disp[:, 1] = 0.35 * B * (1 - 0.5 * t)
        return self.spread(idx, disp, self._brow_anchors(), sigma=0.8 * e["B"])

    def brow_inner_up(self):
        hs, ds = [], []
        for side in ("Left", "Right"):
            idx, t = self._brow(side)
            e = self.eye[side]
            d = np.zeros((len(idx), 3))
            d[:, 1] = -0.45 * e["B"] * self.p.brow_raise * (1 - t) ** 1.3
            d[:, 0] = -e["sgn"] * 0.05 * e["B"] * (1 - t)
            hs.append(idx)
            ds.append(d)
        B = 0.5 * (self.eye["Left"]["B"] + self.eye["Right"]["B"])
        return self.spread(np.concatenate(hs), np.concatenate(ds), self._brow_anchors(),
                           sigma=1.2 * B)

    def brow_outer_up(self, side):
        idx, t = self._brow(side)
        e = self.eye[side]
        d = np.zeros((len(idx), 3))
        d[:, 1] = -0.45 * e["B"] * self.p.brow_raise * t**1.2
        return self.spread(idx, d, self._brow_anchors(), sigma=1.0 * e["B"])

    # -- mouth helpers
    def _mouth_anchors(self, extra=()):
        return np.unique(np.concatenate([self.nose, self.eye_pts, np.array(extra, dtype=int)]))

    def _jaw_factor(self) -> np.ndarray:
        """0..1 per point: how much it moves with the jaw bone."""
        jaw = np.array(T.JAW)
        k = len(jaw)
        ramp = np.abs(np.linspace(-1, 1, k))  # 1 at the ears, 0 at the chin
        jaw_w = np.clip(1.0 - _smooth((ramp - 0.25) / 0.75) * 1.0, 0, 1)
        lower = np.unique(np.concatenate(self.rings_lo))
        corners = np.array(T.LIP_CORNERS_R + T.LIP_CORNERS_L)
        corner_w = np.tile([0.35, 0.4, 0.45, 0.5], 2)
        lower = np.setdiff1d(lower, corners)
        upper = np.setdiff1d(np.unique(np.concatenate(self.rings_up)), corners)
        # lips blend towards the corners' value near the corners, so the opening is an
        # oval, not a box with vertical sides
        ax_lo = np.abs(np.clip(self.x[lower], -1, 1)) ** 3
        ax_up = np.abs(np.clip(self.x[upper], -1, 1)) ** 4
        h = np.concatenate([lower, upper, corners, jaw])
        vals = np.concatenate([1 - 0.55 * ax_lo, 0.45 * ax_up, corner_w, jaw_w])
        disp = np.zeros((len(h), 3))
        disp[:, 0] = vals
        f = self.spread(h, disp, self._mouth_anchors(), sigma=0.9 * self.Wm)[:, 0]
        return np.clip(f, 0, 1)

    def jaw(self):
        j = self._jaw_factor()
        self.jaw_j = j
        D = 0.42 * self.Wm
        open_ = np.zeros((N, 3))
        open_[:, 1] = j * D * self.p.jaw_drop
        open_[:, 2] = j * 0.25 * D * self.p.jaw_drop
        # corners pull in a little as the mouth opens
        for col, sgn in ((T.LIP_CORNERS_R, -1.0), (T.LIP_CORNERS_L, 1.0)):
            open_[list(col), 0] -= sgn * 0.05 * self.Wm * self.p.jaw_drop
        side = np.zeros((N, 3))
        side[:, 0] = j * 0.14 * self.Wm * self.p.jaw_side
        open_[T.N_MESH :] = 0.0
        side[T.N_MESH :] = 0.0
        return open_, side

    def mouth_close(self, jaw_open):
        """Lips meet while the jaw is open: with jawOpen = 1 the inner lips touch."""
        a = 0.35  # the upper lip's share of the closing
        J = jaw_open[self.rings_lo[3], 1] - jaw_open[self.rings_up[3], 1]  # gap per column
        J = J * self.p.mouth_close
        hs, ds = [], []
        for ring in self.rings_up:
            d = np.zeros((len(ring), 3))
            d[:, 1] = a * J
            hs.append(ring)
            ds.append(d)
        for ring in self.rings_lo:
            d = np.zeros((len(ring), 3))
            d[:, 1] = -(1 - a) * J
            d[:, 2] = -(1 - a) * J * 0.25  # undo the jaw's backward move of the lip
            hs.append(ring)
            ds.append(d)
        h = np.concatenate(hs)
        disp = np.concatenate(ds)
        h, first = np.unique(h, return_index=True)  # corners appear in both: take the first
        return self.spread(h, disp[first], self._mouth_anchors(T.JAW),
                           sigma=0.25 * self.Wm)

    def _lip_field(self, fn, anchors_extra=(), sigma=None):
        """Spread a displacement given per lip point by fn(index_array) -> (n, 3)."""
        h = self.lip_pts
        return self.spread(h, fn(h), self._mouth_anchors(anchors_extra),
                           sigma=sigma or 0.35 * self.Wm)

    def corner_move(self, side, disp, cheek=None, lift_lid=0.0, lateral=1.0):
        """Move one mouth corner; lips follow, fading to the other corner."""
        sgn = 1.0 if side == "Left" else -1.0
        disp = np.asarray(disp, dtype=np.float64)

        def fn(h):
            x = sgn * self.x[h]  # 1 at this corner, -1 at the other
            wgt = _smooth((x + 0.3) / 1.3) ** lateral
            return wgt[:, None] * disp[None, :]

        h = self.lip_pts
        hs, ds = [h], [fn(h)]
        if cheek is not None:
            hs.append(np.array([T.CHEEK_L if side == "Left" else T.CHEEK_R]))
            ds.append(np.asarray(cheek, dtype=np.float64)[None, :])
        if lift_lid:
            e = self.eye[side]
            lo = np.array(T.EYE_LOWER2_L if side == "Left" else T.EYE_LOWER2_R)
            d = np.zeros((len(lo), 3))
            d[:, 1] = -lift_lid * e["H"]
            hs.append(lo)
            ds.append(d)
        anchors = np.setdiff1d(self._mouth_anchors(T.JAW), np.concatenate(hs))
        return self.spread(np.concatenate(hs), np.concatenate(ds), anchors,
                           sigma=0.4 * self.Wm)

    def per_column(self, up_fn, lo_fn, anchors=T.JAW, sigma=None):
        """Handles on every lip ring; fn(ring_number 0 outer..3 inner, column idx) -> (n,3)."""
        hs, ds = [], []
        for k, ring in enumerate(self.rings_up):
            hs.append(ring)
            ds.append(up_fn(k, ring))
        for k, ring in enumerate(self.rings_lo):
            hs.append(ring)
            ds.append(lo_fn(k, ring))
        h = np.concatenate(hs)
        disp = np.concatenate(ds)
        h, first = np.unique(h, return_index=True)
        return self.spread(h, disp[first], self._mouth_anchors(anchors),
                           sigma=sigma or 0.3 * self.Wm)

    def build(self) -> np.ndarray:
        p = self.p
        Wm = self.Wm
        out = np.zeros((len(CONTROL_NAMES), N, 3))

        def put(name, field):
            out[INDEX[name]] = field

        for side in ("Left", "Right"):
            put(f"eyeBlink{side}", self.blink(side))
            put(f"eyeWide{side}", self.lids(side, -0.38 * p.lid_wide, 0.08 * p.lid_wide))
            sq = self.lids(side, 0.1 * p.squint, -0.34 * p.squint, sigma_h=1.2)
            put(f"eyeSquint{side}", sq)
            for d in ("Up", "Down", "In", "Out"):
                put(f"eyeLook{d}{side}", self.gaze(side, d))
            put(f"browDown{side}", self.brow_down(side))
            put(f"browOuterUp{side}", self.brow_outer_up(side))
        put("browInnerUp", self.brow_inner_up())

        jaw_open, jaw_side = self.jaw()
        put("jawOpen", jaw_open)
        put("jawLeft", jaw_side)
        put("jawRight", jaw_side * np.array([-1.0, 1.0, 1.0]))
        put("mouthClose", self.mouth_close(jaw_open))

        for side in ("Left", "Right"):
            sgn = 1.0 if side == "Left" else -1.0
            put(f"mouthSmile{side}", self.corner_move(
                side, [sgn * 0.11 * Wm * p.smile_width, -0.13 * Wm * p.smile_lift, 0.05 * Wm],
                cheek=[sgn * 0.02 * Wm, -0.07 * Wm * p.smile_lift, -0.03 * Wm],
                lift_lid=0.12 * p.smile_lift))
            put(f"mouthFrown{side}", self.corner_move(
                side, [sgn * 0.02 * Wm, 0.11 * Wm * p.frown, 0.0], lateral=1.5))
            put(f"mouthStretch{side}", self.corner_move(
                side, [sgn * 0.12 * Wm * p.stretch, 0.05 * Wm * p.stretch, 0.02 * Wm]))
            put(f"mouthPress{side}", self._press(side))
        put("mouthPucker", self._pucker())
        put("mouthFunnel", self._funnel())
        shift = self._lip_field(
            lambda h: np.tile([0.16 * Wm * p.mouth_shift, 0.0, 0.0], (len(h), 1)),
            anchors_extra=T.JAW, sigma=0.35 * Wm)
        put("mouthLeft", shift)
        put("mouthRight", shift * np.array([-1.0, 1.0, 1.0]))
        put("mouthRollLower", self._roll(lower=True))
        put("mouthRollUpper", self._roll(lower=False))
        put("cheekPuff", self._cheek_puff())
        for side in ("Left", "Right"):
            put(f"cheekSquint{side}", self._cheek_squint(side))
            put(f"noseSneer{side}", self._sneer(side))
            put(f"mouthUpperUp{side}", self._lip_side(side, upper=True))
            put(f"mouthLowerDown{side}", self._lip_side(side, upper=False))
            sgn = 1.0 if side == "Left" else -1.0
            put(f"mouthDimple{side}", self.corner_move(
                side, [sgn * 0.07 * Wm * p.dimple, 0.01 * Wm, 0.06 * Wm * p.dimple],
                lateral=2.0))
        put("mouthShrugUpper", self._shrug(upper=True))
        put("mouthShrugLower", self._shrug(upper=False))
        fwd = np.zeros((N, 3))
        fwd[:, 1] = self.jaw_j * 0.03 * Wm * p.jaw_forward
        fwd[:, 2] = -self.jaw_j * 0.16 * Wm * p.jaw_forward  # -w: towards the camera
        put("jawForward", fwd)
        # The tongue has no landmarks: the field only drops the lower lip a little (the
        # renderers draw the tongue itself over it).
        put("tongueOut", 0.25 * p.tongue * jaw_open)
        out[:, T.N_MESH :] = np.where(
            np.array([n.startswith("eyeLook") for n in CONTROL_NAMES])[:, None, None],
            out[:, T.N_MESH :], 0.0)  # irises move with gaze only
        return out

    def _profile(self, ring):
        return np.sqrt(np.clip(1 - self.x[ring] ** 2, 0, 1))  # 1 mid-lip, 0 at corners

    def _pucker(self):
        p, Wm = self.p.pucker, self.Wm

        def up(k, ring):
            d = np.zeros((len(ring), 3))
            d[:, 0] = -0.33 * p * (self.loc[ring, 0] - self.mc[0])
            d[:, 2] = -0.12 * Wm * p * (0.4 + 0.6 * self._profile(ring))
            d[:, 1] = -0.2 * self.Tu * p * (3 - k) / 3 * self._profile(ring)
            return d

        def lo(k, ring):
            d = up(k, ring)
            d[:, 1] = 0.2 * self.Tl * p * (3 - k) / 3 * self._profile(ring)
            return d

        return self.per_column(up, lo, sigma=0.35 * Wm)

    def _funnel(self):
        p, Wm = self.p.funnel, self.Wm
        part = [0.25, 0.5, 0.8, 1.0]  # outer ring moves least

        def up(k, ring):
            d = np.zeros((len(ring), 3))
            d[:, 0] = -0.18 * p * (self.loc[ring, 0] - self.mc[0])
            d[:, 1] = -0.08 * Wm * p * part[k] * self._profile(ring)
            d[:, 2] = -0.1 * Wm * p * (0.3 + 0.7 * self._profile(ring))
            return d

        def lo(k, ring):
            d = up(k, ring)
            d[:, 1] *= -1.2
            return d

        return self.per_column(up, lo, sigma=0.35 * Wm)

    def _roll(self, lower: bool):
        p = self.p.roll
        amount = [0.6, 0.42, 0.22, 0.05]  # outer contour rolls furthest towards the inner

        def rolled(k, ring, thick, sign):
            d = np.zeros((len(ring), 3))
            prof = self._profile(ring) ** 0.5
            d[:, 1] = sign * amount[k] * thick * p * prof
            d[:, 2] = 0.35 * thick * p * prof * (1 - k / 4)
            return d

        def none(k, ring):
            return np.zeros((len(ring), 3))

        if lower:
            return self.per_column(none, lambda k, r: rolled(k, r, self.Tl, -1.0))
        return self.per_column(lambda k, r: rolled(k, r, self.Tu, 1.0), none)

    def _press(self, side):
        p, Wm = self.p.press, self.Wm
        sgn = 1.0 if side == "Left" else -1.0
        amount = [0.35, 0.25, 0.12, 0.0]

        def wgt(ring):
            return _smooth((sgn * self.x[ring] + 0.7) / 1.4)

        def up(k, ring):
            d = np.zeros((len(ring), 3))
            d[:, 1] = amount[k] * self.Tu * p * wgt(ring)
            d[:, 0] = sgn * 0.03 * Wm * p * wgt(ring) ** 3
            return d

        def lo(k, ring):
            d = np.zeros((len(ring), 3))
            d[:, 1] = -amount[k] * self.Tl * p * wgt(ring)
            d[:, 0] = sgn * 0.03 * Wm * p * wgt(ring) ** 3
            return d

        return self.per_column(up, lo, sigma=0.25 * Wm)

    def _cheek_puff(self):
        p, L = self.p.cheek_puff, self.loc
        out = np.zeros((N, 3))
        for corner, jaw_pt, sgn in ((T.MOUTH_CORNER_L, 288, 1.0), (T.MOUTH_CORNER_R, 58, -1.0)):
            c = 0.5 * (L[corner] + L[jaw_pt])
            c[1] = L[corner, 1] - 0.1 * self.iod
            r = 0.33 * self.iod
            d2 = ((L[: T.N_MESH, :2] - c[:2]) ** 2).sum(1)
            g = np.exp(-d2 / (2 * r * r)) * (sgn * L[: T.N_MESH, 0] > 0.1 * self.Wm)
            out[: T.N_MESH, 0] += sgn * 0.16 * self.iod * p * g
            out[: T.N_MESH, 2] += -0.12 * self.iod * p * g
        out[self.lip_pts] *= 0.2
        # lips purse a little behind puffed cheeks
        lip = np.zeros((N, 3))
        lip[self.lip_pts, 0] = -0.08 * p * (L[self.lip_pts, 0] - self.mc[0])
        lip[self.lip_pts, 2] = -0.03 * self.Wm * p
        return out + lip


    def _cheek_squint(self, side):
        """The cheek rises and pushes the lower lid up (no squint of the lid itself)."""
        e = self.eye[side]
        p = self.p.cheek_squint
        lo2 = np.array(T.EYE_LOWER2_L if side == "Left" else T.EYE_LOWER2_R)
        cheek = np.array([T.CHEEK_L if side == "Left" else T.CHEEK_R])
        dl = np.zeros((len(e["L"]), 3))
        dl[:, 1] = -0.35 * p * e["H"] * e["taper"]
        d2 = np.zeros((len(lo2), 3))
        d2[:, 1] = -0.6 * p * e["H"]
        dc = np.array([[0.0, -0.8 * p * e["H"], -0.3 * p * e["H"]]])
        up = np.array(T.EYE_UPPER_L if side == "Left" else T.EYE_UPPER_R)
        brow = T.BROW_L if side == "Left" else T.BROW_R
        anchors = np.concatenate([up, np.array(brow), self.lip_pts, self.nose])
        return self.spread(np.concatenate([e["L"], lo2, cheek]), np.concatenate([dl, d2, dc]),
                           anchors, sigma=1.2 * e["H"])

    def _sneer(self, side):
        """The nose wing and the upper lip beside it rise; the inner brow dips."""
        p, Wm = self.p.sneer, self.Wm
        sgn = 1.0 if side == "Left" else -1.0
        wing = np.array([T.NOSE_WINGS[1] if side == "Left" else T.NOSE_WINGS[0]])
        dw = np.array([[sgn * 0.03 * Wm, -0.14 * Wm * p, -0.03 * Wm]])
        up = np.array(T.LIP_OUTER_UPPER)
        wgt = _smooth((sgn * self.x[up] + 0.6) / 1.2) * self._profile(up) ** 0.5
        du = np.zeros((len(up), 3))
        du[:, 1] = -0.06 * Wm * p * wgt
        idx, t = self._brow(side)
        db = np.zeros((len(idx), 3))
        db[:, 1] = 0.12 * self.eye[side]["B"] * p * (1 - t) ** 2
        hs = np.concatenate([wing, up, idx])
        anchors = np.concatenate([self.eye_pts, np.array(T.LIP_OUTER_LOWER), np.array(T.JAW),
                                  np.array(T.NOSE_BRIDGE[:2])])
        return self.spread(hs, np.concatenate([dw, du, db]), anchors, sigma=0.35 * Wm)

    def _lip_side(self, side, upper: bool):
        """mouthUpperUp (upper lip up, teeth show) / mouthLowerDown (lower lip down), one
        side, fading towards the other corner and to nothing at this corner."""
        p, Wm = self.p.lip_raise, self.Wm
        sgn = 1.0 if side == "Left" else -1.0

        def wgt(ring):
            return _smooth((sgn * self.x[ring] + 0.5) / 1.0) * self._profile(ring) ** 0.6

        part = [1.0, 0.95, 0.9, 0.85]

        def moved(k, ring):
            d = np.zeros((len(ring), 3))
            d[:, 1] = (-0.09 if upper else 0.12) * Wm * p * part[k] * wgt(ring)
            return d

        def none(k, ring):
            return np.zeros((len(ring), 3))

        if upper:
            return self.per_column(moved, none, sigma=0.3 * Wm)
        return self.per_column(none, moved, sigma=0.3 * Wm)

    def _shrug(self, upper: bool):
        """mouthShrugUpper lifts and pushes out the upper lip; mouthShrugLower pushes the
        lower lip and the chin up (the pout of doubt)."""
        p, Wm = self.p.shrug, self.Wm

        def moved(k, ring):
            d = np.zeros((len(ring), 3))
            prof = self._profile(ring) ** 0.5
            d[:, 1] = (-0.04 if upper else -0.07) * Wm * p * prof
            d[:, 2] = -0.04 * Wm * p * prof
            return d

        def none(k, ring):
            return np.zeros((len(ring), 3))

        if upper:
            return self.per_column(moved, none, sigma=0.3 * Wm)
        lip = self.per_column(none, moved, sigma=0.3 * Wm)
        chin = np.array([T.CHIN])
        dc = np.array([[0.0, -0.05 * Wm * p, -0.02 * Wm * p]])
        return lip + self.spread(chin, dc, self._mouth_anchors(self.lip_pts), sigma=0.4 * Wm)


# -------------------------------------------------------------------------- public API
def control_deltas(neutral: np.ndarray, proportions: RigProportions = HUMAN) -> np.ndarray:
    """Per-control displacement fields (C, 478, D) for a neutral face (478, D), D = 2 or 3.

    ``neutral`` is any MediaPipe-layout landmark set: a photo's pixel landmarks (y down) or
    a 3D mesh in its own units. Order: ``lprr.engine.controls.CONTROL_NAMES``.
    """
    neutral = np.asarray(neutral, dtype=np.float64)
    if neutral.ndim != 2 or neutral.shape[0] != N or neutral.shape[1] not in (2, 3):
        raise ValueError(f"expected (478, 2|3) landmarks, got {neutral.shape}")
    b = _Builder(neutral, proportions)
    local = b.build()
    return b.frame.vectors_to_world(local).astype(np.float32)


def _blink_ratio(neutral: np.ndarray, deltas: np.ndarray, k: int, up, lo) -> np.ndarray:
    """Where along lower -> upper the lids meet, per lid pair (from the blink field)."""
    u0, l0 = neutral[up], neutral[lo]
    m0 = u0 + deltas[k, up]
    span = u0 - l0
    den = (span * span).sum(1)
    r = ((m0 - l0) * span).sum(1) / np.maximum(den, _EPS)
    return np.where(den > _EPS, np.clip(r, 0, 1), 0.5)


def deform(neutral: np.ndarray, deltas: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Landmarks (478, D) for control weights (C,) in [0, 1], with correctives.

    Linear blend of ``deltas`` (from ``control_deltas``), then: each eyeBlink closes its
    lids exactly at 1 (from wherever the other controls put them); lids never cross; the
    inner lips never invert (overlapping columns are pushed apart symmetrically) and the
    outer lip contours stay outside the inner ones.
    """
    neutral = np.asarray(neutral, dtype=np.float64)
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, 1.0)
    x = neutral + np.tensordot(w, deltas, axes=1)
    frame = FaceFrame.from_landmarks(neutral)
    down = frame.axes[1]

    for side, up_ring, lo_ring in (("Left", T.EYE_UPPER_L, T.EYE_LOWER_L),
                                   ("Right", T.EYE_UPPER_R, T.EYE_LOWER_R)):
        up, lo = list(up_ring[1:-1]), list(lo_ring[1:-1])
        k = INDEX[f"eyeBlink{side}"]
        b = w[k]
        if b > 0:
            xu = x[up] - b * deltas[k, up]  # lids without the blink
            xl = x[lo] - b * deltas[k, lo]
            r = _blink_ratio(neutral, deltas, k, up, lo)[:, None]
            m = xl + r * (xu - xl)
            x[up] = xu + b * (m - xu)
            x[lo] = xl + b * (m - xl)
            if b >= 1.0:
                x[lo] = x[up]
        gap = (x[lo] - x[up]) @ down
        crossed = gap < 0
        if crossed.any():
            mid = 0.5 * (x[up] + x[lo])
            xu, xl = x[up], x[lo]
            xu[crossed] = mid[crossed]
            xl[crossed] = mid[crossed]
            x[up], x[lo] = xu, xl

    # lips: inner contours never cross; push whole lip columns apart
    iu, il = np.array(T.LIP_INNER_UPPER[1:-1]), np.array(T.LIP_INNER_LOWER[1:-1])
    gap = (x[il] - x[iu]) @ down
    over = np.minimum(gap, 0.0)
    if (over < 0).any():
        cols_u = [np.array(r[1:-1]) for r in (T.LIP_OUTER_UPPER, T.LIP_SEMI_OUTER_UPPER,
                                              T.LIP_SEMI_INNER_UPPER, T.LIP_INNER_UPPER)]
        cols_l = [np.array(r[1:-1]) for r in (T.LIP_OUTER_LOWER, T.LIP_SEMI_OUTER_LOWER,
                                              T.LIP_SEMI_INNER_LOWER, T.LIP_INNER_LOWER)]
        shift = 0.5 * over[:, None] * down[None, :]
        for c in cols_u:
            x[c] += shift  # over < 0: moves up
        for c in cols_l:
            x[c] -= shift
        x[il] = np.where((over < 0)[:, None], x[iu], x[il])  # exactly closed, not crossed
    for outer, inner, sign in ((T.LIP_OUTER_UPPER, T.LIP_INNER_UPPER, 1.0),
                               (T.LIP_OUTER_LOWER, T.LIP_INNER_LOWER, -1.0)):
        o, i = list(outer[1:-1]), list(inner[1:-1])
        d = sign * ((x[i] - x[o]) @ down)  # must stay >= 0 (outer outside inner)
        bad = d < 0
        if bad.any():
            xo = x[o]
            xo[bad] += (sign * d[bad])[:, None] * down[None, :]
            x[o] = xo
    return x.astype(np.float32)
