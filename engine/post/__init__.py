"""Post-processing of rig weights (numpy only): calibration, smoothing, mapping, face loss."""
from lprr.engine.post.calibration import NeutralCalibration
from lprr.engine.post.mapping import ControlMap, WeightMapping
from lprr.engine.post.one_euro import SMOOTHING_PRESETS, OneEuroFilter
from lprr.engine.post.postprocess import FACE_STATES, PostConfig, PostProcessor

__all__ = ["FACE_STATES", "SMOOTHING_PRESETS", "ControlMap", "NeutralCalibration",
           "OneEuroFilter", "PostConfig", "PostProcessor", "WeightMapping"]
