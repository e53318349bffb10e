"""The face-geometry core: MediaPipe's mesh topology and landmark index sets
(``topology``), the face's own frame (``frame``), the landmarkers (``landmarks``,
``tasks``, ``onnx_landmarks``) and MediaPipe's blendshape network (``blendshapes``),
APEM's aligned patches (``apem``) and the landmark sketch (``sketch``).

The demo world (``engine.world``), Face2Face (``engine.f2f``) and the heuristic build on
it; it imports none of them.
"""
