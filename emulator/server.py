"""The emulated AWS account as one background process: moto's server and the provider.

``python -m emulator.server STATE_FILE`` starts moto's threaded server and
the emulated provider's gRPC service (emulator/provider.py) on 127.0.0.1,
both on free ports, then writes STATE_FILE (JSON: pid, aws_endpoint,
provider_address) and serves until SIGTERM or SIGINT. moto keeps the
account in memory, and the provider's ledger (what it created, and how to
update or delete it) lives in the same process, so the two always agree:
stopping the process ends the account.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc
from moto.server import ThreadedMotoServer
from pulumi.runtime.proto import provider_pb2_grpc

from .core import REGION, Emulator
from .provider import EmulatedAwsProvider


def serve(state_file: Path) -> None:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # boto3 in this process (the emulator) talks to moto through its server,
    # like every other client of the sandbox.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import emulator  # noqa: F401 (registers every handler)

    provider = EmulatedAwsProvider(Emulator(endpoint_url=endpoint, region=os.environ.get("AWS_REGION", REGION)))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(provider, server)
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"pid": os.getpid(), "aws_endpoint": endpoint, "provider_address": f"127.0.0.1:{grpc_port}"})
    )
    tmp.replace(state_file)
    done.wait()
    server.stop(grace=1)
    moto.stop()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
