"""MediaPipe face-mesh topology: triangles, contours and regions of the 478-point layout.

Facts checked on mediapipe 0.10.21 (``FACEMESH_TESSELATION``, 2556 edge entries, 1322
unique edges over points 0..467):

- Its 3-cliques give 854 triangles. Two are spurious: (49, 64, 129) and (279, 294, 358)
  on the nose wings, whose three edges each belong to three cliques. Dropping them leaves
  852 triangles, a manifold where every interior edge is shared by exactly two triangles.
- The tessellation has **holes** at both eye openings and at the mouth opening: its 88
  boundary edges form four loops, the face oval (36), each eye's lid contour (16 each)
  and the inner-lip contour (20). So no triangle lies inside an eye or the mouth
  (``TRI_IN_EYE_L``, ``TRI_IN_EYE_R`` and ``TRI_IN_MOUTH`` are all False, kept so callers
  can say what they mean); a renderer fills the openings itself (eyeballs, mouth interior)
  from the opening polygons ``EYE_OPENING_L/R`` and ``MOUTH_OPENING``.
- The iris points 468..477 are not part of the tessellation.

``TRIANGLES`` is wound consistently so that, in MediaPipe's pixel frame (x right, y down,
z away from the camera), ``cross(b - a, c - a)`` points out of the face, towards the viewer
(negative z; negative 2D signed area in y-down image coordinates on a frontal face).
It is cached in ``assets/face_mesh/triangles.npy``; ``build_triangles()`` recomputes it
from mediapipe (only the build script needs that).

Left/Right are the subject's own (``..._L`` = subject's left = image right when unmirrored).
Contours are ordered from the outer end to the inner end (eyes: outer corner -> inner
corner; brows: inner -> outer is noted where used), upper and lower lists paired point by
point.
"""
from __future__ import annotations

import collections
import itertools
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

N_MESH = 468  # tessellated points
N_LANDMARKS = 478  # with irises
TRIANGLES_PATH = Path(__file__).resolve().parents[2] / "assets" / "face_mesh" / "triangles.npy"

# --- eyes (lid contours, both with the corners at each end, paired index by index) -------
# subject's left eye (image right): outer corner 263, inner corner 362
EYE_UPPER_L = (263, 466, 388, 387, 386, 385, 384, 398, 362)
EYE_LOWER_L = (263, 249, 390, 373, 374, 380, 381, 382, 362)
# subject's right eye (image left): outer corner 33, inner corner 133
EYE_UPPER_R = (33, 246, 161, 160, 159, 158, 157, 173, 133)
EYE_LOWER_R = (33, 7, 163, 144, 145, 153, 154, 155, 133)
EYE_CORNERS_L = (263, 362)  # (outer, inner)
EYE_CORNERS_R = (33, 133)
EYE_OUTER_L, EYE_INNER_L = EYE_CORNERS_L
EYE_OUTER_R, EYE_INNER_R = EYE_CORNERS_R
# the lid midpoints (upper, lower) and the inner lip midpoints (upper, lower)
LID_UP_L, LID_LO_L = 386, 374
LID_UP_R, LID_LO_R = 159, 145
LIP_INNER_UP, LIP_INNER_LO = 13, 14
# Points that move little with expression (eye corners, nose, forehead, temples): APEM's
# patch frame is fitted to them on video, Face2Face weights them up in its first alignment
# and the heuristic aligns a frame to the neutral with them.
RIGID_POINTS = (33, 133, 362, 263, 243, 463, 244, 464, 168, 6, 197, 195, 5, 4, 1, 10, 151,
                9, 8, 234, 454, 127, 356, 21, 251, 103, 332, 67, 297, 109, 338)
# rings of lid skin around each opening (upper: outer -> inner; lower likewise)
EYE_UPPER1_L = (467, 260, 259, 257, 258, 286, 414)
EYE_LOWER1_L = (359, 255, 339, 254, 253, 252, 256, 341, 463)
EYE_UPPER2_L = (342, 445, 444, 443, 442, 441, 413)
EYE_LOWER2_L = (446, 261, 448, 449, 450, 451, 452, 453, 464)
EYE_UPPER1_R = (247, 30, 29, 27, 28, 56, 190)
EYE_LOWER1_R = (130, 25, 110, 24, 23, 22, 26, 112, 243)
EYE_UPPER2_R = (113, 225, 224, 223, 222, 221, 189)
EYE_LOWER2_R = (226, 31, 228, 229, 230, 231, 232, 233, 244)
# the opening polygon: upper lid outer -> inner, then lower lid inner -> outer (no repeats)
EYE_OPENING_L = EYE_UPPER_L + tuple(reversed(EYE_LOWER_L[1:-1]))
EYE_OPENING_R = EYE_UPPER_R + tuple(reversed(EYE_LOWER_R[1:-1]))

# --- irises (refine_landmarks=True) -------------------------------------------------------
# Both rings run in the same image order (not mirrored): +x (image right), up, -x, down.
IRIS_R = (468, 469, 470, 471, 472)  # subject's right; 468 = centre, then the ring
IRIS_L = (473, 474, 475, 476, 477)  # subject's left; 473 = centre
IRIS_CENTER_R, IRIS_CENTER_L = 468, 473
IRIS = IRIS_R + IRIS_L

# --- brows (inner end -> outer end) -------------------------------------------------------
BROW_UPPER_L = (336, 296, 334, 293, 300)
BROW_LOWER_L = (285, 295, 282, 283, 276)
BROW_UPPER_R = (107, 66, 105, 63, 70)
BROW_LOWER_R = (55, 65, 52, 53, 46)
BROW_L = BROW_UPPER_L + BROW_LOWER_L
BROW_R = BROW_UPPER_R + BROW_LOWER_R

# --- lips (subject's right corner -> subject's left corner, upper/lower paired) ----------
LIP_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIP_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIP_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# the two rings between the outer and inner contours
LIP_SEMI_OUTER_UPPER = (76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306)
LIP_SEMI_OUTER_LOWER = (76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306)
LIP_SEMI_INNER_UPPER = (62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292)
LIP_SEMI_INNER_LOWER = (62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292)
MOUTH_CORNER_R, MOUTH_CORNER_L = 61, 291  # outer corners
MOUTH_INNER_CORNER_R, MOUTH_INNER_CORNER_L = 78, 308
LIP_UPPER_MID_OUTER, LIP_UPPER_MID_INNER = 0, 13
LIP_LOWER_MID_INNER, LIP_LOWER_MID_OUTER = 14, 17
# every point of the upper / lower lip body (corner columns excluded)
UPPER_LIP = tuple(sorted(set(LIP_OUTER_UPPER[1:-1] + LIP_SEMI_OUTER_UPPER[1:-1]
                             + LIP_SEMI_INNER_UPPER[1:-1] + LIP_INNER_UPPER[1:-1])))
LOWER_LIP = tuple(sorted(set(LIP_OUTER_LOWER[1:-1] + LIP_SEMI_OUTER_LOWER[1:-1]
                             + LIP_SEMI_INNER_LOWER[1:-1] + LIP_INNER_LOWER[1:-1])))
LIP_CORNERS_R = (61, 76, 62, 78)  # corner column, outer -> inner
LIP_CORNERS_L = (291, 306, 292, 308)
# the mouth opening polygon: inner upper R -> L, then inner lower L -> R (no repeats)
MOUTH_OPENING = LIP_INNER_UPPER + tuple(reversed(LIP_INNER_LOWER[1:-1]))

# --- face outline, jaw, chin, nose, cheeks -----------------------------------------------
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
             54, 103, 67, 109)  # clockwise on the image from the forehead top
# lower outline from the subject's right ear to the left ear, through the chin (152)
JAW = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365,
       397, 288, 361, 323, 454)
CHIN = 152
FOREHEAD_TOP = 10
NOSE_TIP = 1
NOSE_BOTTOM = 2
NOSE_BRIDGE = (168, 6, 197, 195, 5, 4)
NOSE_WINGS = (98, 327)  # subject's right, left
CHEEK_R, CHEEK_L = 205, 425  # cheek centres (by the nasolabial fold)
MIDWAY_BETWEEN_EYES = 168


def _tessellation_edges() -> set[tuple[int, int]]:
    from mediapipe.python.solutions import face_mesh_connections as fmc  # build-time only

    return {tuple(sorted(e)) for e in fmc.FACEMESH_TESSELATION}


def _edge(a: int, b: int) -> tuple[int, int]:
    """The edge (a, b) with its ends in increasing order."""
    return (a, b) if a <= b else (b, a)


def _sorted3(a: int, b: int, c: int) -> tuple[int, int, int]:
    x, y, z = sorted((a, b, c))
    return x, y, z


def _cliques(edges: set[tuple[int, int]]) -> list[tuple[int, int, int]]:
    nb: dict[int, set[int]] = collections.defaultdict(set)
    for a, b in edges:
        nb[a].add(b)
        nb[b].add(a)
    tris = {_sorted3(a, b, x) for a, b in edges for x in nb[a] & nb[b]}
    # spurious cliques: all three edges shared by three cliques (a filled 'tetrahedron')
    count = collections.Counter(e for t in tris for e in itertools.combinations(t, 2))
    good = [t for t in tris if not all(count[e] == 3 for e in itertools.combinations(t, 2))]
    return sorted(good)


def _orient(tris: list[tuple[int, int, int]]) -> np.ndarray:
    """Wind all triangles consistently (neighbours traverse a shared edge oppositely)."""
    rows = [list(t) for t in tris]
    by_edge: dict[tuple[int, int], list[int]] = collections.defaultdict(list)
    for i, t in enumerate(rows):
        for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
            by_edge[_edge(a, b)].append(i)
    done = [False] * len(rows)
    for seed in range(len(rows)):
        if done[seed]:
            continue
        done[seed] = True
        queue = collections.deque([seed])
        while queue:
            i = queue.popleft()
            t = rows[i]
            for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
                for j in by_edge[_edge(a, b)]:
                    if j == i or done[j]:
                        continue
                    u = rows[j]
                    directed = {(u[0], u[1]), (u[1], u[2]), (u[2], u[0])}
                    if (a, b) in directed:  # same direction: flip the neighbour
                        rows[j] = [u[0], u[2], u[1]]
                    done[j] = True
                    queue.append(j)
    return np.asarray(rows, dtype=np.int32)


# Winding of one triangle (on the upper lip) that faces the viewer; checked on the
# detected landmarks of grace_hopper.jpg (negative signed area with y down).
_KNOWN_OUTWARD = (0, 37, 11)


def build_triangles(reference: np.ndarray | None = None) -> np.ndarray:
    """Triangles from mediapipe's tessellation (needs mediapipe), wound to face the viewer.

    ``reference``: optional (>=468, 2|3) landmarks of a frontal face in pixels (y down) to
    pick the global winding from; without it the known winding of one triangle is used.
    """
    tris = _orient(_cliques(_tessellation_edges()))
    if reference is not None:
        p = np.asarray(reference, dtype=np.float64)[:, :2]
        a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
        signed = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
        flip = np.sum(signed) > 0  # outward normal must point to -z: negative area
    else:
        k = int(np.flatnonzero((np.sort(tris, axis=1) == sorted(_KNOWN_OUTWARD)).all(1))[0])
        t = list(tris[k])
        r = t.index(_KNOWN_OUTWARD[0])
        flip = tuple(t[r:] + t[:r]) != _KNOWN_OUTWARD
    if flip:
        tris = tris[:, [0, 2, 1]]
    return np.ascontiguousarray(tris, dtype=np.int32)


def _load_triangles() -> np.ndarray:
    if TRIANGLES_PATH.exists():
        return np.load(TRIANGLES_PATH).astype(np.int32)
    log.warning("%s is missing; rebuilding it from mediapipe's tessellation", TRIANGLES_PATH)
    tris = build_triangles()
    TRIANGLES_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.save(TRIANGLES_PATH, tris)
    return tris


TRIANGLES: np.ndarray = _load_triangles()  # (852, 3) int32


def edges(tris: np.ndarray = TRIANGLES) -> np.ndarray:
    """Unique undirected edges (E, 2) of a triangle list."""
    e = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def triangles_inside(polygon: tuple[int, ...], tris: np.ndarray = TRIANGLES) -> np.ndarray:
    """Mask of triangles whose three corners all lie on ``polygon`` (i.e. that would fill it).

    For the MediaPipe tessellation this is all False for the eye and mouth openings (they
    are holes); it is here so the claim is checked, not assumed.
    """
    on = np.zeros(max(N_LANDMARKS, int(tris.max()) + 1), dtype=bool)
    on[list(polygon)] = True
    return on[tris].all(axis=1)


TRI_IN_EYE_L = triangles_inside(EYE_OPENING_L)
TRI_IN_EYE_R = triangles_inside(EYE_OPENING_R)
TRI_IN_MOUTH = triangles_inside(MOUTH_OPENING)
