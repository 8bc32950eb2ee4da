"""Utilities: logging, atomic writes, Grad-CAM and mmaction2's small helpers (``mmaction.utils``)."""

from .gradcam import GradCAM
from .misc import (
    get_random_string,
    get_root_logger,
    get_shm_dir,
    get_thread_id,
    import_module_error_class,
    import_module_error_func,
)

__all__ = ["GradCAM", "get_random_string", "get_root_logger", "get_shm_dir", "get_thread_id",
           "import_module_error_class", "import_module_error_func"]
