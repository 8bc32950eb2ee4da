"""BSN: Boundary-Sensitive Network (Lin et al., ECCV 2018): ``TEM`` (temporal evaluation) and ``PEM``
(proposal evaluation); proposal generation between them is in :mod:`videohub.localization`."""

from .pem import PEM
from .tem import TEM

__all__ = ["PEM", "TEM"]
