"""videohub: the mmaction2 video-understanding toolbox in the Hugging Face ecosystem."""

__version__ = "0.1.0"
