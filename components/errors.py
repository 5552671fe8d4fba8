"""The one exception type that carries a user-facing sentence.

Everything a user can get wrong (stack names, params files, lane names, images,
CLI arguments) raises ``MultilaneError`` with one sentence that names the file,
field or value and the fix. Entry points print that sentence and exit non-zero
without a traceback; nothing is registered because validation happens before
the first resource is declared.
"""

from typing import Any


class MultilaneError(Exception):
    """A user error: ``str(err)`` is the whole message, fit to print as is."""

    # What the program had registered when it raised: set by the offline
    # harness (harness/offline.py), which tests use to show it is nothing.
    registered: list[Any]
