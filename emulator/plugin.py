"""``pulumi-resource-aws`` of the sandbox: hands the engine the emulated provider.

The engine starts a resource plugin and reads the port it serves on from its
first line of output. The provider itself runs in the sandbox process
(emulator/server.py), beside moto, so that what it created outlives one
``pulumi`` command exactly as long as moto's account does. This launcher
prints that address and waits until the engine stops it.
"""

from __future__ import annotations

import os
import signal
import sys

ADDRESS_VARIABLE = "MULTILANE_EMULATED_PROVIDER"


def main() -> int:
    address = os.environ.get(ADDRESS_VARIABLE, "")
    host, _, port = address.rpartition(":")
    if host != "127.0.0.1" or not port.isdigit():
        print(
            f"pulumi-resource-aws (emulated): {ADDRESS_VARIABLE} is {address!r}, not a sandbox address; "
            "start one with `venv/bin/python -m sandbox start DIR` and run `. DIR/env.sh`",
            file=sys.stderr,
        )
        return 1
    stops = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    print(port, flush=True)
    signal.sigwait(stops)
    return 0


if __name__ == "__main__":
    sys.exit(main())
