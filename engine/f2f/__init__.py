"""Face2Face-style training-free retargeting (Thies et al., CVPR 2016), numpy only.

- ``rigid``: IRLS-weighted Procrustes to the canonical face frame; the neutral bundled
  over keyframes;
- ``expression``: the performer's expression subspace and robust per-frame fitting;
- ``transfer``: subspace deformation transfer onto a character rig;
- ``calibrate``: neutral and subspace from an unlabelled performer take;
- ``mouth``: mouth-patch retrieval from the character's render set;
- ``method``: ``F2FMethod``, registered as ``f2f`` in ``lprr.engine.methods``.
"""
