"""AVA spatio-temporal action detection (mmdet ``FastRCNN`` + mmaction2 ``AVARoIHead``), with RoI
extraction, the ``BBoxHeadAVA`` multi-label head and long-term feature banks (FBO, LFB)."""

from .acrn_head import ACRNHead
from .assign_sample import MaxIoUAssignerAVA, RandomSampler
from .bbox_head_ava import BBoxHeadAVA
from .configuration_ava import AVAConfig
from .detector import AVARoIHead, FastRCNN, bbox2result, bbox2roi
from .fbo_head import FBOAvg, FBOHead, FBOMax, FBONonLocal, NonLocalLayer
from .lfb import LFB, load_lfb, save_lfb
from .lfb_infer_head import LFBInferHead
from .modeling_ava import AVAForSpatioTemporalActionDetection
from .roi_extractor import SingleRoIExtractor3D

__all__ = [
    "ACRNHead", "AVAConfig", "AVAForSpatioTemporalActionDetection", "AVARoIHead", "BBoxHeadAVA", "FBOAvg", "FBOHead", "FBOMax", "FBONonLocal", "FastRCNN", "LFB", "LFBInferHead",
    "MaxIoUAssignerAVA", "NonLocalLayer", "RandomSampler", "SingleRoIExtractor3D", "bbox2result", "bbox2roi", "load_lfb", "save_lfb",
]
