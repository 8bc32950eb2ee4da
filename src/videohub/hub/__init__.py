"""videohub's local Hugging Face Hub: an HTTP server and helpers to point clients at it.

- ``HubServer(root, host="127.0.0.1", port=0, tokens=())``: the server (``videohub hub serve``).
- ``local_hub(root, token)``: start a server and route this process's huggingface_hub/transformers
  traffic to it (context manager).
- ``use_endpoint(url, token=None)``: route this process's traffic to an already running hub.
"""

from .local import local_hub, use_endpoint
from .server import DEFAULT_USER, HubServer, add_cli_parser, run_serve
from .storage import LFS_SIZE_THRESHOLD, HubError, HubStorage

__all__ = [
    "DEFAULT_USER",
    "HubError",
    "HubServer",
    "HubStorage",
    "LFS_SIZE_THRESHOLD",
    "add_cli_parser",
    "local_hub",
    "run_serve",
    "use_endpoint",
]
