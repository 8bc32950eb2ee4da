"""One package per architecture (``configuration_<arch>.py`` + ``modeling_<arch>.py``).

Every package here is imported by :mod:`videohub.auto`, which registers its classes.
"""
