"""Create every resource the four layers register in moto (see core.py).

Importing the package registers every handler module.
"""

from . import compute, containers, iam, loadbalancing, network, observability  # noqa: F401 (registers handlers)
from .core import HANDLERS, Emulated, EmulationError, Emulator, UnemulatedTypeError

__all__ = ["HANDLERS", "Emulated", "EmulationError", "Emulator", "UnemulatedTypeError"]
