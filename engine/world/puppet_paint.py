"""What warping a photo cannot make: eyeballs with moving irises, lids that cover the eye,
and a mouth interior with a hint of teeth.

Colours and the iris texture are sampled once from the neutral photo; each frame paints
into small regions of interest around the openings, with anti-aliased masks.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lprr.engine.face import topology as topo

_SHIFT = 4
_ONE = 1 << _SHIFT


def _poly_mask(shape: tuple[int, ...], pts: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """(h, w) float32 0..1 anti-aliased mask of a polygon, in ROI coordinates."""
    m = np.zeros(shape, np.uint8)
    p = np.round((pts[:, :2] - origin) * _ONE).astype(np.int32)
    cv2.fillPoly(m, [p], (255,), cv2.LINE_AA, _SHIFT)
    return m.astype(np.float32) * (1 / 255)


def _line_mask(shape: tuple[int, ...], pts: np.ndarray, origin: np.ndarray,
               thickness: float) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    p = np.round((pts[:, :2] - origin) * _ONE).astype(np.int32)
    cv2.polylines(m, [p], False, (255,), max(1, round(thickness)), cv2.LINE_AA, _SHIFT)
    if thickness < 1:  # thinner than a pixel: fade instead
        m = (m.astype(np.float32) * thickness).astype(np.uint8)
    return m.astype(np.float32) * (1 / 255)


def _roi(points: np.ndarray, margin: float, h: int, w: int) -> tuple[int, int, int, int]:
    x0 = int(max(0, np.floor(points[:, 0].min() - margin)))
    y0 = int(max(0, np.floor(points[:, 1].min() - margin)))
    x1 = int(min(w, np.ceil(points[:, 0].max() + margin) + 1))
    y1 = int(min(h, np.ceil(points[:, 1].max() + margin) + 1))
    return x0, y0, x1, y1


def _blend(dst: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> None:
    """In place: dst = dst * (1 - a) + color * a (color (3,) or (h, w, 3))."""
    a = alpha[..., None]
    dst *= 1 - a
    dst += np.asarray(color, np.float32) * a


def polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


@dataclass
class EyeLook:
    opening: tuple[int, ...]
    upper: tuple[int, ...]
    lower: tuple[int, ...]
    iris: tuple[int, ...]  # centre first
    sclera: np.ndarray  # (3,) BGR float
    lid: np.ndarray  # (3,) upper lid skin
    lash: np.ndarray  # (3,) lash line
    iris_tex: np.ndarray  # (d, d, 3) float32, centred on the iris
    iris_alpha: np.ndarray  # (d, d) float32 soft disc
    iris_radius: float  # pixels in the neutral canvas


def _iris_radius(lm: np.ndarray, iris: tuple[int, ...]) -> float:
    c = lm[iris[0], :2]
    return float(np.mean(np.linalg.norm(lm[list(iris[1:]), :2] - c, axis=1)))


def sample_eye(img: np.ndarray, lm: np.ndarray, side: str) -> EyeLook:
    """Sample sclera, lid and lash colours and the iris texture of one eye ('L' or 'R')."""
    opening = topo.EYE_OPENING_L if side == "L" else topo.EYE_OPENING_R
    upper = topo.EYE_UPPER_L if side == "L" else topo.EYE_UPPER_R
    lower = topo.EYE_LOWER_L if side == "L" else topo.EYE_LOWER_R
    upper1 = topo.EYE_UPPER1_L if side == "L" else topo.EYE_UPPER1_R
    iris = topo.IRIS_L if side == "L" else topo.IRIS_R
    h, w = img.shape[:2]
    poly = lm[list(opening), :2]
    eye_w = float(np.linalg.norm(poly[0] - poly[len(upper) - 1]))
    x0, y0, x1, y1 = _roi(poly, 0.6 * eye_w, h, w)
    o = np.array([x0, y0], np.float64)
    roi = img[y0:y1, x0:x1].astype(np.float32)
    shp = roi.shape[:2]
    inside = _poly_mask(shp, poly, o) > 0.99
    r = _iris_radius(lm, iris)
    c = lm[iris[0], :2] - o
    yy, xx = np.mgrid[0:shp[0], 0:shp[1]]
    dist = np.hypot(xx - c[0], yy - c[1])
    px = roi.reshape(-1, 3)
    lum = roi.mean(2)

    # sclera: bright pixels of the opening away from the iris (robust to lashes, shadow)
    scl = inside & (dist > 1.15 * r)
    if scl.sum() >= 4:
        v = roi[scl]
        bright = v[lum[scl] >= np.percentile(lum[scl], 50)]
        sclera = np.median(bright, axis=0)
    else:
        sclera = np.array([200, 205, 215], np.float32)
    # keep the sclera plausible: light, slightly warm, never darker than the skin
    sclera = np.clip(sclera, 120, 245)

    # lid skin: a band above the upper lid ring (between it and the ring above)
    band = np.concatenate([lm[list(upper1), :2], lm[list(upper[::-1]), :2]])
    lid_m = (_poly_mask(shp, band, o) > 0.5) & ~inside
    lid = np.median(roi[lid_m], axis=0) if lid_m.sum() >= 4 else np.median(px, axis=0)
    # lash line: the darkest pixels along the upper lid margin
    lm_mask = _line_mask(shp, lm[list(upper), :2], o, max(2.0, 0.08 * eye_w)) > 0.5
    lash = (np.percentile(roi[lm_mask], 10, axis=0) if lm_mask.sum() >= 4
            else lid * 0.35)
    lash = np.minimum(lash, lid * 0.55)

    # iris texture: real pixels where the iris is visible, its median colour elsewhere
    d = int(np.ceil(2.6 * r)) | 1
    half = d // 2
    cx, cy = lm[iris[0], :2]
    m = np.array([[1, 0, half - cx], [0, 1, half - cy]], np.float32)
    tex = cv2.warpAffine(img, m, (d, d), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
    poly_t = poly + np.array([half - cx, half - cy])
    vis = _poly_mask((d, d), poly_t, np.zeros(2)) > 0.99
    ty, tx = np.mgrid[0:d, 0:d]
    tdist = np.hypot(tx - half, ty - half)
    disc = tdist <= r
    iris_px = tex[vis & disc & (tdist <= 0.92 * r)]
    if len(iris_px) >= 4:
        iris_col = np.median(iris_px, axis=0)
    else:
        iris_col = np.array([60, 70, 90], np.float32)
    iris_col = np.minimum(iris_col, sclera * 0.6)
    fill = ~(vis & disc)
    tex[fill] = iris_col
    # darker limbal ring and a pupil keep the iris readable at any size
    limbus = np.clip((tdist - 0.78 * r) / (0.22 * r), 0, 1)[..., None]
    tex = tex * (1 - 0.35 * limbus)
    pupil = np.clip(1 - (tdist - 0.35 * r) / 0.12 / r, 0, 1)[..., None]
    tex = tex * (1 - pupil) + iris_col * 0.25 * pupil
    alpha = np.clip((r + 0.5 - tdist), 0, 1).astype(np.float32)
    return EyeLook(opening, upper, lower, iris, sclera.astype(np.float32),
                   lid.astype(np.float32), lash.astype(np.float32), tex.astype(np.float32),
                   alpha, r)


def paint_eye(frame: np.ndarray, lm: np.ndarray, lm_rest: np.ndarray, look: EyeLook) -> None:
    """Paint one eye in place into a float32 BGR frame.

    ``lm``: the current landmarks; ``lm_rest``: the same frame without lid controls, whose
    opening is the area the lids cover as they close.
    """
    h, w = frame.shape[:2]
    op = lm[list(look.opening), :2].astype(np.float64)
    rest = lm_rest[list(look.opening), :2].astype(np.float64)
    eye_w = float(np.linalg.norm(op[0] - op[len(look.upper) - 1]))
    if eye_w < 2:
        return
    pts = np.concatenate([op, rest])
    x0, y0, x1, y1 = _roi(pts, 0.25 * eye_w + 3, h, w)
    if x1 <= x0 or y1 <= y0:
        return
    o = np.array([x0, y0], np.float64)
    roi = frame[y0:y1, x0:x1]
    shp = roi.shape[:2]
    m_open = _poly_mask(shp, op, o)
    m_rest = _poly_mask(shp, rest, o)
    area_rest = max(polygon_area(rest), 1e-6)
    closed = float(np.clip(1 - polygon_area(op) / area_rest, 0, 1))

    # 1. lids: the part of the resting opening that the lids now cover becomes lid skin,
    # shaded darker towards the lid edge (the lid curves away from the light there)
    covered = np.clip(m_rest - m_open, 0, 1)
    if covered.any():
        up_now = lm[list(look.upper), :2].astype(np.float64)
        edge = cv2.GaussianBlur(_line_mask(shp, up_now, o, max(1.0, 0.05 * eye_w)), (0, 0),
                                max(0.8, 0.08 * eye_w))
        edge = np.clip(edge / max(edge.max(), 1e-6), 0, 1)
        lid = look.lid[None, None, :] * (1 - 0.18 * edge[..., None])
        _blend(roi, lid, covered * 0.85)

    # 2. eyeball: sclera shaded at the corners and under the upper lid, then the iris
    if m_open.max() > 0:
        eye: np.ndarray = np.empty(shp + (3,), np.float32)
        eye[:] = look.sclera
        cx = op[:, 0].mean() - x0
        xx = np.arange(shp[1], dtype=np.float32)
        corner = np.clip(np.abs(xx - cx) / (0.5 * eye_w), 0, 1) ** 2
        eye *= (1 - 0.22 * corner)[None, :, None]
        ic = lm[look.iris[0], :2] - o
        r = _iris_radius(lm, look.iris)
        s = r / max(look.iris_radius, 1e-6)
        d = look.iris_tex.shape[0]
        half = d // 2
        a = np.array([[s, 0, ic[0] - s * half], [0, s, ic[1] - s * half]], np.float32)
        tex = cv2.warpAffine(look.iris_tex, a, (shp[1], shp[0]), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT)
        ia = cv2.warpAffine(look.iris_alpha, a, (shp[1], shp[0]), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT)
        eye = eye * (1 - ia[..., None]) + tex * ia[..., None]
        # the upper lid shades the top of the eyeball
        k = max(1, round(0.18 * eye_w))
        above = np.zeros_like(m_open)
        above[k:] = m_open[:-k] if k < shp[0] else 0
        shadow = cv2.GaussianBlur(1 - above, (0, 0), max(0.6, 0.06 * eye_w))
        eye *= (1 - 0.35 * shadow)[..., None]
        _blend(roi, eye, m_open)

    # 3. lash line on the upper margin (the closure line when shut), softer lower margin
    up = lm[list(look.upper), :2].astype(np.float64)
    lo = lm[list(look.lower), :2].astype(np.float64)
    t = max(0.8, 0.06 * eye_w)
    _blend(roi, look.lash, _line_mask(shp, up, o, t) * 0.9)
    _blend(roi, look.lash, _line_mask(shp, lo, o, max(0.6, 0.3 * t)) * 0.35 * (1 - closed))
    if closed > 0.3:
        # the lid crease of a closed eye: the resting upper margin, pulled up a little
        lift = np.array([0.0, 0.12 * eye_w])
        crease = lm_rest[list(look.upper), :2] - lift
        strength = 0.35 * (closed - 0.3) / 0.7
        _blend(roi, look.lash * 0.5 + look.lid * 0.5,
               _line_mask(shp, crease[1:-1], o, max(0.8, 0.04 * eye_w)) * strength)


@dataclass
class MouthLook:
    deep: np.ndarray  # darkest interior colour (BGR)
    edge: np.ndarray  # interior colour near the lips
    teeth: np.ndarray
    tongue: np.ndarray
    rest_gap: float = 0.0  # inner-lip opening of the photo, in mouth widths
    fade_gap: float = 0.04  # extra opening over which the painted interior fades in


def mouth_gap(lm: np.ndarray) -> float:
    """Mean inner-lip opening (upper to lower inner contour) in mouth widths."""
    up = lm[list(topo.LIP_INNER_UPPER[1:-1]), :2]
    lo = lm[list(topo.LIP_INNER_LOWER[1:-1]), :2]
    mw = float(np.linalg.norm(lm[topo.MOUTH_CORNER_L, :2] - lm[topo.MOUTH_CORNER_R, :2]))
    return float(np.linalg.norm(lo - up, axis=1).mean()) / max(mw, 1e-6)


def sample_mouth(img: np.ndarray, lm: np.ndarray) -> MouthLook:
    """Mouth interior colours, scaled to the photo's exposure."""
    lips = lm[list(topo.LIP_OUTER_UPPER + topo.LIP_OUTER_LOWER), :2]
    x0, y0 = np.floor(lips.min(0)).astype(int)
    x1, y1 = np.ceil(lips.max(0)).astype(int)
    patch = img[max(0, y0):max(1, y1), max(0, x0):max(1, x1)].reshape(-1, 3).astype(np.float32)
    expo = float(np.clip(np.median(patch.mean(1)) / 140.0, 0.6, 1.3)) if len(patch) else 1.0
    return MouthLook(deep=np.array([18, 14, 38], np.float32) * expo,
                     edge=np.array([50, 45, 105], np.float32) * expo,
                     teeth=np.array([212, 224, 232], np.float32) * min(expo, 1.05),
                     tongue=np.array([85, 85, 165], np.float32) * expo,
                     rest_gap=mouth_gap(lm))


def tongue_ellipse(lm: np.ndarray, amount: float
                   ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre and half-axes (px) of a tongue stuck out by ``amount`` (tongueOut, 0..1):
    from between the lips down over the lower lip. The landmarks have no tongue, so both
    renderers draw it from this."""
    mouth_w = float(np.linalg.norm(lm[topo.MOUTH_CORNER_L, :2] - lm[topo.MOUTH_CORNER_R, :2]))
    lo_mid = lm[topo.LIP_LOWER_MID_INNER, :2]
    a = float(np.clip(amount, 0, 1))
    return ((float(lo_mid[0]), float(lo_mid[1]) + (0.02 + 0.1 * a) * mouth_w),
            (0.19 * mouth_w, (0.04 + 0.12 * a) * mouth_w))


def paint_tongue(frame: np.ndarray, lm: np.ndarray, amount: float,
                 colour: np.ndarray) -> None:
    """Draw the stuck-out tongue over the lips (in place, float32 frame)."""
    if amount <= 0.02:
        return
    (cx, cy), (ax, ay) = tongue_ellipse(lm, amount)
    h, w = frame.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (round(cx * _ONE), round(cy * _ONE)),
                (max(1, int(ax * _ONE)), max(1, int(ay * _ONE))), 0, 0, 360, (1.0,), -1,
                cv2.LINE_AA, _SHIFT)
    _blend(frame, colour, mask * float(np.clip(amount * 3, 0, 1)))


def paint_mouth(frame: np.ndarray, lm: np.ndarray, look: MouthLook) -> None:
    """Dark interior with upper and lower teeth inside the inner-lip polygon (in place).

    It fades in as the lips part beyond the photo's own opening, so the neutral frame
    keeps the photo's real mouth (closed lips, or its own teeth).
    """
    h, w = frame.shape[:2]
    poly = lm[list(topo.MOUTH_OPENING), :2].astype(np.float64)
    mouth_w = float(np.linalg.norm(lm[topo.MOUTH_CORNER_L, :2] - lm[topo.MOUTH_CORNER_R, :2]))
    x0, y0, x1, y1 = _roi(poly, 3, h, w)
    if x1 <= x0 or y1 <= y0 or mouth_w < 2:
        return
    strength = float(np.clip((mouth_gap(lm) - look.rest_gap) / look.fade_gap, 0, 1))
    if strength <= 0:
        return
    o = np.array([x0, y0], np.float64)
    roi = frame[y0:y1, x0:x1]
    shp = roi.shape[:2]
    full = _poly_mask(shp, poly, o)
    if full.max() <= 0:
        return
    m = full * strength
    # interior: lighter near the lips, darker deep inside
    depth = cv2.GaussianBlur(full, (0, 0), max(0.8, 0.05 * mouth_w))
    depth = np.clip((depth - 0.3) / 0.7, 0, 1)[..., None]
    inner = look.edge * (1 - depth) + look.deep * depth
    # tongue low in the mouth
    lo_mid = lm[topo.LIP_LOWER_MID_INNER, :2] - o
    tongue = np.zeros(shp, np.float32)
    cv2.ellipse(tongue, (round(lo_mid[0] * _ONE), round(lo_mid[1] * _ONE)),
                (int(0.22 * mouth_w * _ONE), int(0.09 * mouth_w * _ONE)), 0, 0, 360, (0.6,),
                -1, cv2.LINE_AA, _SHIFT)
    inner = inner * (1 - tongue[..., None]) + look.tongue * tongue[..., None]
    _blend(roi, inner, m)
    # teeth: bands hanging from the inner upper lip and rising from the inner lower lip
    up = lm[list(topo.LIP_INNER_UPPER[2:-2]), :2]
    lo = lm[list(topo.LIP_INNER_LOWER[3:-3]), :2]
    t_up = _line_mask(shp, up + [0, 0.045 * mouth_w], o, 0.09 * mouth_w)
    t_lo = _line_mask(shp, lo - [0, 0.03 * mouth_w], o, 0.06 * mouth_w)
    _blend(roi, look.teeth, np.minimum(t_up, m) * 0.95)
    _blend(roi, look.teeth * 0.8, np.minimum(t_lo, m) * 0.8)
    # a faint gap line between the upper teeth and the interior edge keeps them readable
    _blend(roi, look.deep, _line_mask(shp, up + [0, 0.09 * mouth_w], o, 0.8) * m * 0.3)
