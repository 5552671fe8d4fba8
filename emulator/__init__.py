"""Create every resource the four layers register in moto (see core.py).

Importing the package registers every handler module.
"""

from . import (  # noqa: F401 (registers handlers)
    compute,
    containers,
    delivery,
    iam,
    loadbalancing,
    network,
    not_emulated,
    observability,
    scaling,
    storage,
)
from .core import HANDLERS, Emulated, EmulationError, Emulator, UnemulatedTypeError
from .not_emulated import NOT_EMULATED

__all__ = ["HANDLERS", "NOT_EMULATED", "Emulated", "EmulationError", "Emulator", "UnemulatedTypeError"]
