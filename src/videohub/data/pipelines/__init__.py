"""Every mmaction2 pipeline step, registered in ``videohub.registry.PIPELINES``.

Each submodule registers its steps on import; importing this package imports them all, so
``PIPELINES.build(dict(type="SampleFrames", ...))`` and ``Compose`` see every step.
"""

from ...utils.imports import import_submodules

import_submodules(__name__, __path__)
