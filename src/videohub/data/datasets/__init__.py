"""mmaction2's dataset classes (torch-style) and the Hugging Face ``datasets`` builders."""

from .activitynet import ActivityNetDataset
from .ava import AVADataset, convert_ava_proposals, load_ava_proposals, read_labelmap
from .base import DATASETS, AnnotationSource, BaseDataset, RepeatDataset, build_dataset
from .builders import (
    BUILDERS,
    PipelineTransform,
    VideohubBuilderConfig,
    load_dataset,
    make_transform,
    row_to_results,
)
from .recognition import (
    VIDEO_EXTENSIONS,
    AudioDataset,
    AudioFeatureDataset,
    AudioVisualDataset,
    HVUDataset,
    ImageDataset,
    RawframeDataset,
    RawVideoDataset,
    VideoDataset,
    scan_class_folders,
)
from .pose import PoseDataset, convert_pose_annotations, read_pose_annotations
from .ssn import SSNDataset, SSNInstance

__all__ = [
    "ActivityNetDataset",
    "AVADataset",
    "AudioDataset",
    "AudioFeatureDataset",
    "AudioVisualDataset",
    "AnnotationSource",
    "BaseDataset",
    "BUILDERS",
    "DATASETS",
    "HVUDataset",
    "ImageDataset",
    "PipelineTransform",
    "PoseDataset",
    "RawframeDataset",
    "RawVideoDataset",
    "RepeatDataset",
    "SSNDataset",
    "SSNInstance",
    "VIDEO_EXTENSIONS",
    "VideoDataset",
    "VideohubBuilderConfig",
    "build_dataset",
    "convert_ava_proposals",
    "convert_pose_annotations",
    "load_ava_proposals",
    "load_dataset",
    "make_transform",
    "read_labelmap",
    "read_pose_annotations",
    "row_to_results",
    "scan_class_folders",
]
