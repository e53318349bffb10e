"""Post-processing of rig weights (numpy only): calibration, smoothing, mapping, face loss."""
from engine.post.calibration import NeutralCalibration
from engine.post.mapping import ControlMap, WeightMapping
from engine.post.one_euro import SMOOTHING_PRESETS, OneEuroFilter
from engine.post.postprocess import FACE_STATES, PostConfig, PostProcessor

__all__ = ["FACE_STATES", "SMOOTHING_PRESETS", "ControlMap", "NeutralCalibration",
           "OneEuroFilter", "PostConfig", "PostProcessor", "WeightMapping"]
