"""Exceptions raised by videohub.

Every error message names what was wrong (file, line, key or shape) and what was expected.
"""


class VideohubError(Exception):
    """Base class of all videohub errors."""


class ConfigError(VideohubError, ValueError):
    """A configuration field or layer argument has an unknown name, a wrong type or a bad value."""


class ShapeError(VideohubError, ValueError):
    """A tensor has the wrong rank or size."""


class VideoDecodeError(VideohubError, RuntimeError):
    """A video file is missing, unreadable, corrupt or has no frames."""


class AnnotationError(VideohubError, ValueError):
    """An annotation file has a malformed line."""


class CheckpointError(VideohubError, ValueError):
    """A checkpoint does not match the model it is loaded into (missing or leftover keys)."""


class UsageError(VideohubError):
    """A user asked for something that cannot be done as given: a missing file or folder, an unknown
    model id, an unreachable server, or options that contradict each other or the model."""
