"""Video processors: decoding, sampling and transforms that turn videos into model inputs."""

from .video_processor import IMAGENET_MEAN, IMAGENET_STD, PROCESSOR_CONFIG_NAME, VideoProcessor

__all__ = ["VideoProcessor", "IMAGENET_MEAN", "IMAGENET_STD", "PROCESSOR_CONFIG_NAME"]
