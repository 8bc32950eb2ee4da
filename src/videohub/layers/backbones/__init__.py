"""Registered layers of this kind; every module here is imported so its registrations run."""

from ...utils.imports import import_submodules

import_submodules(__name__, __path__)
