"""A Python language host for the real Pulumi CLI (``pulumi-language-python``).

Why this file exists: the CLI is built from the Go module proxy (see
engine/build.sh), but the proxy here refuses the official Go language host
module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3:
"This module version is not available"). The language host is a small gRPC
server with one job: run the Python program with the SDK's own exec shim
(``pulumi-language-python-exec``, a file of the sdk/v3 module at the engine's
version) in the project's virtualenv, and run policy packs. This does the
same for what multilane uses: pip toolchain with a ``virtualenv`` option,
programs, policy packs (analyzer plugins) and the dependency reports. It is
not used when a real Pulumi install is on PATH (``make engine``).

Protocol: pulumi/proto/pulumi/language.proto, through the stubs the Python
SDK ships (``pulumi.runtime.proto``). The process prints its port on stdout,
as every plugin does, and serves until the engine kills it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

VERSION = (Path(__file__).resolve().parent / "version.txt").read_text().strip().lstrip("v")
BAIL_EXIT_CODE = 32  # the exec shim's "error already shown to the user"


class LanguageHostError(Exception):
    pass


def _options(info: Any) -> dict[str, Any]:
    return json_format.MessageToDict(info.options) if info.HasField("options") else {}


def python_of(info: Any) -> str:
    """The interpreter of the project's virtualenv (``runtime.options.virtualenv``)."""
    options = _options(info)
    if options.get("toolchain", "pip") != "pip":
        raise LanguageHostError(f"toolchain {options['toolchain']!r} is not supported by this language host; use pip")
    venv = options.get("virtualenv")
    if not venv:
        return sys.executable if not os.environ.get("PULUMI_PYTHON_CMD") else os.environ["PULUMI_PYTHON_CMD"]
    root = Path(info.root_directory or info.program_directory or ".")
    path = Path(venv) if Path(venv).is_absolute() else root / venv
    python = path / "bin" / "python"
    if not python.exists():
        raise LanguageHostError(f"the virtualenv {path} does not exist; run 'make setup' in {root}")
    return str(python)


def _venv_env(python: str) -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(python).parent)
    env["VIRTUAL_ENV"] = str(Path(bindir).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    return env


def _installed_packages(python: str) -> list[dict[str, Any]]:
    """Every pulumi-plugin.json of the venv's distributions (what Pulumi calls packages)."""
    code = (
        "import json, importlib.metadata as m\n"
        "out=[]\n"
        "for d in m.distributions():\n"
        "    for f in d.files or []:\n"
        "        if f.name == 'pulumi-plugin.json':\n"
        "            out.append(json.loads(f.read_text()))\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LanguageHostError(f"could not list the packages of {python}: {done.stderr.strip()}")
    return json.loads(done.stdout)


class PythonLanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, executor: str, engine_address: str) -> None:
        self.executor = executor
        self.engine_address = engine_address
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # --- bookkeeping -------------------------------------------------------

    def _start(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(argv, **kwargs)
        with self._lock:
            self._children.add(child)
        return child

    def _reap(self, child: subprocess.Popen[bytes]) -> int:
        code = child.wait()
        with self._lock:
            self._children.discard(child)
        return code

    def _fail(self, context: Any, err: Exception) -> Any:
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))

    # --- RPCs --------------------------------------------------------------

    def Handshake(self, request: Any, context: Any) -> Any:
        self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "GetRequiredPlugins is superseded by GetRequiredPackages")

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        try:
            found = _installed_packages(python_of(request.info))
        except LanguageHostError as err:
            return self._fail(context, err)
        packages = [
            plugin_pb2.PackageDependency(
                name=p["name"], kind="resource", version=p.get("version", ""), server=p.get("server", "")
            )
            for p in found
            if p.get("resource") and p.get("name")
        ]
        return language_pb2.GetRequiredPackagesResponse(packages=packages)

    def Run(self, request: Any, context: Any) -> Any:
        try:
            python = python_of(request.info)
        except LanguageHostError as err:
            return language_pb2.RunResponse(error=str(err))
        args = [python, "-u", self.executor]
        for flag, value in (
            ("monitor", request.monitor_address),
            ("engine", self.engine_address),
            ("project", request.project),
            ("root_directory", request.info.root_directory),
            ("stack", request.stack),
            ("pwd", request.pwd),
            ("dry_run", "true" if request.dryRun else "false"),
            ("parallel", str(request.parallel)),
            ("organization", request.organization),
        ):
            if value:
                args += [f"--{flag}", value]
        args.append(request.info.entry_point or ".")
        args += list(request.args)
        env = _venv_env(python)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        # The program's output goes to ours, which the engine reads.
        child = self._start(args, env=env, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
        code = self._reap(child)
        sys.stdout.flush()
        sys.stderr.flush()
        if code == 0:
            return language_pb2.RunResponse()
        if code == BAIL_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")

    def RunPlugin(self, request: Any, context: Any) -> Any:
        """Policy packs (kind analyzer) run as ``python -m pulumi.policy ARGS DIR`` in DIR."""
        try:
            python = python_of(request.info)
        except LanguageHostError as err:
            return self._fail(context, err)
        program_dir = request.info.program_directory
        if request.kind == "analyzer":
            argv = [python, "-u", "-m", "pulumi.policy", *request.args, program_dir]
            cwd = program_dir
        else:
            argv = [python, "-u", program_dir, *request.args]
            cwd = request.pwd or program_dir
        env = _venv_env(python)
        env.update(item.split("=", 1) for item in request.env if "=" in item)
        child = self._start(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        chunks: queue.Queue[tuple[str, bytes] | None] = queue.Queue()

        def pump(stream: Any, kind: str) -> None:
            for data in iter(lambda: stream.read1(65536), b""):
                chunks.put((kind, data))
            chunks.put(None)

        for stream, kind in ((child.stdout, "stdout"), (child.stderr, "stderr")):
            threading.Thread(target=pump, args=(stream, kind), daemon=True).start()
        open_streams = 2
        while open_streams:
            item = chunks.get()
            if item is None:
                open_streams -= 1
                continue
            kind, data = item
            yield language_pb2.RunPluginResponse(**{kind: data})
        yield language_pb2.RunPluginResponse(exitcode=self._reap(child))

    def InstallDependencies(self, request: Any, context: Any) -> Any:
        """``pulumi install``: the project's own set-up (make setup) owns the venv."""
        root = Path(request.info.root_directory or request.directory)
        try:
            python = python_of(request.info)
            message = f"using the virtualenv of {python}\n"
        except LanguageHostError:
            message = f"no virtualenv yet: run 'make setup' in {root}\n"
        yield language_pb2.InstallDependenciesResponse(stdout=message.encode())

    def About(self, request: Any, context: Any) -> Any:
        try:
            python = python_of(request.info)
        except LanguageHostError as err:
            return self._fail(context, err)
        version = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:
        try:
            python = python_of(request.info)
        except LanguageHostError as err:
            return self._fail(context, err)
        done = subprocess.run(
            [python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=False,
        )
        deps = json.loads(done.stdout or "[]")
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[language_pb2.DependencyInfo(name=d["name"], version=d["version"]) for d in deps]
        )

    def Cancel(self, request: Any, context: Any) -> Any:
        with self._lock:
            children = list(self._children)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        return empty_pb2.Empty()


ENGINE_PROBE_S = 2.0
ENGINE_MISSES = 3


def watch_engine(address: str, host: PythonLanguageHost, stopped: threading.Event) -> None:
    """Exit when the engine is gone (a killed CLI): Pulumi's hosts do the same health check."""
    name, _, port = address.rpartition(":")
    if not port.isdigit():
        return
    misses = 0
    while not stopped.wait(ENGINE_PROBE_S):
        try:
            socket.create_connection((name or "127.0.0.1", int(port)), timeout=1).close()
            misses = 0
        except OSError:
            misses += 1
            if misses >= ENGINE_MISSES:
                host.Cancel(None, None)
                stopped.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pulumi-language-python")
    parser.add_argument("-use-executor", "--use-executor", dest="executor", default="")
    parser.add_argument("-tracing", "--tracing", default="")
    parser.add_argument("-version", "--version", action="store_true")
    parser.add_argument("engine", nargs="?", default="")
    args, _ = parser.parse_known_args(argv)
    if args.version:
        print(VERSION)
        return
    executor = args.executor or str(Path(sys.argv[0]).resolve().parent / "pulumi-language-python-exec")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    host = PythonLanguageHost(executor, args.engine)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # The engine ends its plugins with a signal when it is done: stop quietly.
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    print(port, flush=True)
    threading.Thread(target=watch_engine, args=(args.engine, host, stopped), daemon=True).start()
    stopped.wait()
    server.stop(grace=None)


if __name__ == "__main__":
    main()
