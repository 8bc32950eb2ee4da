"""Point huggingface_hub (and transformers) at a local hub from inside a running process.

huggingface_hub reads ``HF_ENDPOINT`` and ``HF_HUB_DISABLE_XET`` once, at import, into
``huggingface_hub.constants``; the download URL template and the default ``HfApi`` instances are
built from them. Setting the environment variables later is therefore not enough. ``use_endpoint``
sets the variables (for subprocesses) *and* patches every place that froze the old value:

- ``huggingface_hub.constants.ENDPOINT``, ``HUGGINGFACE_CO_URL_TEMPLATE``, ``HF_URL_HOSTS`` and
  ``HF_HUB_DISABLE_XET``;
- the ``endpoint`` of huggingface_hub's module-level ``HfApi`` (behind ``huggingface_hub.create_repo``,
  ``upload_file``, ...) and of transformers' shared ``HfApi`` when transformers is already imported;
- ``datasets.config.HF_ENDPOINT`` and ``HUB_DATASETS_URL`` when datasets is already imported;
- fsspec's cache of ``HfFileSystem`` instances (cleared on entry and exit);

and restores all of it on exit (transformers' shared ``HfApi`` or datasets' config first created
inside the block are pointed back too). An ``HfApi`` built with ``endpoint=None`` *before* entering
keeps its old endpoint: build clients inside the block, or pass ``endpoint=hub.url`` explicitly.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator, List, Optional, Tuple
from urllib.parse import urlsplit

from .server import HubServer

_MISSING = object()


def _patch(target: Any, name: str, value: Any, undo: List[Tuple[Any, str, Any]]) -> None:
    undo.append((target, name, getattr(target, name, _MISSING)))
    setattr(target, name, value)


def _clear_filesystem_cache() -> None:
    """Drop cached ``HfFileSystem`` instances: fsspec reuses them, with the endpoint they were built with."""
    module = sys.modules.get("huggingface_hub.hf_file_system")
    if module is not None:
        module.HfFileSystem.clear_instance_cache()


def _forget_local_endpoint(url: str) -> None:
    """Point state that was first built inside the block (so it froze ``url``) back to the default."""
    from huggingface_hub import constants

    transformers_hub = sys.modules.get("transformers.utils.hub")
    shared = getattr(transformers_hub, "_hf_api", None) if transformers_hub is not None else None
    if shared is not None and shared.endpoint == url:
        transformers_hub._hf_api = None  # rebuilt lazily with the restored endpoint
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None and getattr(datasets_config, "HF_ENDPOINT", None) == url:
        datasets_config.HF_ENDPOINT = constants.ENDPOINT
        datasets_config.HUB_DATASETS_URL = constants.ENDPOINT + "/datasets/{repo_id}/resolve/{revision}/{path}"


@contextlib.contextmanager
def use_endpoint(url: str, token: Optional[str] = None) -> Iterator[str]:
    """Send huggingface_hub/transformers traffic of this process (and its children) to ``url``.

    Args:
        url: base URL of a hub, e.g. ``http://127.0.0.1:8000`` (no default).
        token: bearer token to use by default (set as ``HF_TOKEN``); default None leaves
            ``HF_TOKEN`` as it is.

    Yields:
        ``url`` without a trailing slash.
    """
    import huggingface_hub.hf_api  # noqa: F401 - builds the module-level HfApi now, so it is patched
    from huggingface_hub import constants

    url = url.rstrip("/")
    env_names = ["HF_ENDPOINT", "HF_HUB_DISABLE_XET"] + (["HF_TOKEN"] if token is not None else [])
    saved_env = {name: os.environ.get(name) for name in env_names}
    undo: List[Tuple[Any, str, Any]] = []
    try:
        os.environ["HF_ENDPOINT"] = url
        os.environ["HF_HUB_DISABLE_XET"] = "1"
        if token is not None:
            os.environ["HF_TOKEN"] = token
        _patch(constants, "ENDPOINT", url, undo)
        _patch(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}", undo)
        _patch(constants, "HF_HUB_DISABLE_XET", True, undo)
        host = (urlsplit(url).hostname or "").lower()
        if host and isinstance(getattr(constants, "HF_URL_HOSTS", None), frozenset):
            _patch(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {host}, undo)
        hf_api_module = sys.modules.get("huggingface_hub.hf_api")
        if hf_api_module is not None and getattr(hf_api_module, "api", None) is not None:
            _patch(hf_api_module.api, "endpoint", url, undo)
        transformers_hub = sys.modules.get("transformers.utils.hub")
        shared = getattr(transformers_hub, "_hf_api", None) if transformers_hub is not None else None
        if shared is not None:
            _patch(shared, "endpoint", url, undo)
        datasets_config = sys.modules.get("datasets.config")
        if datasets_config is not None and hasattr(datasets_config, "HF_ENDPOINT"):
            _patch(datasets_config, "HF_ENDPOINT", url, undo)
            _patch(datasets_config, "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}", undo)
        _clear_filesystem_cache()
        yield url
    finally:
        for target, name, value in reversed(undo):
            if value is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, value)
        _forget_local_endpoint(url)
        _clear_filesystem_cache()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def local_hub(root: str, token: str, host: str = "127.0.0.1", port: int = 0) -> Iterator[HubServer]:
    """Start a ``HubServer`` on ``root`` and point huggingface_hub/transformers of this process at it.

    Inside the block ``push_to_hub``, ``from_pretrained("org/name")``, ``HfApi()``,
    ``hf_hub_download`` and ``snapshot_download`` talk to the local server, authenticated with
    ``token``; on exit the server stops and every patched setting is restored.

    Args:
        root: directory of the hub's data (no default).
        token: the write token the server accepts and the clients send (no default).
        host: interface to bind; default ``"127.0.0.1"``.
        port: TCP port; default 0 (a free port).

    Yields:
        The running ``HubServer`` (its ``url`` is the endpoint).
    """
    server = HubServer(root, host=host, port=port, tokens=[token])
    server.start()
    try:
        with use_endpoint(server.url, token=token):
            yield server
    finally:
        server.stop()
