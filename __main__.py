"""Pulumi entry point: resolve the stack, build its layer, export.

All logic lives in components/; see components/program.py.
"""

import pulumi

from components import program
from components.errors import MultilaneError

try:
    program.run(pulumi.get_stack())
except MultilaneError as err:
    # RunError prints the sentence without a Python traceback.
    raise pulumi.RunError(str(err)) from None
