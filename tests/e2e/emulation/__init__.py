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
    observability,
    storage,
)
from .core import HANDLERS, Emulated, EmulationError, Emulator, UnemulatedTypeError

__all__ = ["HANDLERS", "Emulated", "EmulationError", "Emulator", "UnemulatedTypeError"]
