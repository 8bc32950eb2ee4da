"""Spatio-temporal action detection (AVA): RoI extraction, RoI heads, feature banks, the detector."""

from .bbox_head_ava import BBoxHeadAVA
from .detector import AVARoIHead, FastRCNN, bbox2result, bbox2roi
from .fbo_head import FBOAvg, FBOHead, FBOMax, FBONonLocal, NonLocalLayer
from .lfb import LFB, load_lfb, save_lfb
from .lfb_infer_head import LFBInferHead
from .roi_extractor import SingleRoIExtractor3D

__all__ = [
    "AVARoIHead", "BBoxHeadAVA", "FBOAvg", "FBOHead", "FBOMax", "FBONonLocal", "FastRCNN", "LFB", "LFBInferHead",
    "NonLocalLayer", "SingleRoIExtractor3D", "bbox2result", "bbox2roi", "load_lfb", "save_lfb",
]
