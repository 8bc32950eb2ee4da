"""``python -m videohub.hub serve --root DIR --port P`` (same as ``videohub hub serve``)."""

import sys

from .server import main

sys.exit(main())
