"""``pulumi-resource-aws`` of the sandbox: hands the engine the emulated provider.

The engine starts a resource plugin and reads the port it serves on from its
first line of output. The provider itself runs in the sandbox process
(emulator/server.py), beside moto, so that what it created outlives one
``pulumi`` command exactly as long as moto's account does. This launcher
prints that address and waits until the engine stops it.
"""

from __future__ import annotations

import os
import socket
import sys
import time

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
    print(port, flush=True)
    # Until the engine stops us, or is gone (a killed CLI): its address is
    # our first argument, as for every plugin the engine starts.
    engine = sys.argv[1] if len(sys.argv) > 1 else ""
    misses = 0
    while misses < ENGINE_MISSES:
        time.sleep(ENGINE_PROBE_S)
        if not _reachable(engine):
            misses += 1
        else:
            misses = 0
    return 0


ENGINE_PROBE_S = 2.0
ENGINE_MISSES = 3


def _reachable(address: str) -> bool:
    name, _, port = address.rpartition(":")
    if not port.isdigit():
        return True  # no engine address given: wait for the signal
    try:
        socket.create_connection((name or "127.0.0.1", int(port)), timeout=1).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
