"""Tools mmaction2 users run around a model: complexity (``info``), Grad-CAM videos and long-video demos.

Submodules are imported on use (``from videohub.tools.model_info import model_complexity``) so that
importing this package costs nothing.
"""
