"""``python -m sandbox start|stop|status DIR``: try multilane with no AWS account.

``start DIR`` runs the emulated AWS account in the background (moto and the
emulated provider, emulator/server.py) and writes ``DIR/env.sh``. After
``. DIR/env.sh`` the shell has the real ``pulumi`` CLI (``make engine``), the
emulated ``pulumi-resource-aws`` on PATH, a file backend under DIR, a
passphrase, and the AWS endpoint and test credentials, so the README's
"Deploying for real" commands work as written. Everything AWS in it is moto:
in memory, gone at ``stop``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from emulator.core import REGION
from emulator.plugin import ADDRESS_VARIABLE
from emulator.provider import aws_plugin_version

ROOT = Path(__file__).resolve().parent.parent
ENGINE_BIN = ROOT / ".engine" / "bin"
PASSPHRASE = "multilane-sandbox"  # protects nothing real: the account is moto's
START_TIMEOUT_S = 90


class SandboxError(Exception):
    """One sentence for the user; exit code 2."""


def _state_file(dir_: Path) -> Path:
    return dir_ / "sandbox.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(dir_: Path) -> dict | None:
    """The state of the sandbox running in DIR, or None."""
    try:
        state = json.loads(_state_file(dir_).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return state if isinstance(state.get("pid"), int) and _alive(state["pid"]) else None


def project_files(root: Path = ROOT) -> list[str]:
    """The project's files as git lists them (tracked and new, not ignored), without tests."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    names = [n for n in listed.stdout.decode().split("\0") if n] if listed.returncode == 0 else []
    return [n for n in names if not n.startswith(("tests/", ".git")) and n != "venv" and (root / n).is_file()]


def copy_project(dest: Path, root: Path = ROOT) -> Path:
    """A scratch copy of the project sharing this checkout's venv (stack files land there)."""
    for name in project_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    (dest / "venv").symlink_to(root / "venv")
    return dest


def process_env(dir_: Path, state: dict) -> dict[str, str]:
    """This process's environment with env.sh applied (for subprocesses)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "AWS_"))}
    for key, value in environment(dir_, state).items():
        env[key] = value.replace("$PATH", os.environ.get("PATH", "")) if key == "PATH" else value
    return env


def engine_bin() -> Path | None:
    """Where the real CLI is: make engine's .engine/bin, else None (then it must be on PATH)."""
    if (ENGINE_BIN / "pulumi").exists():
        return ENGINE_BIN
    if shutil.which("pulumi"):
        return None
    raise SandboxError("no Pulumi CLI: run `make engine` first (it builds one, or uses the pulumi on your PATH)")


def _write_plugin(dir_: Path) -> Path:
    """Install the emulated provider in the sandbox's own plugin cache (PULUMI_HOME).

    There the engine finds it for the exact version pulumi_aws asks for,
    without a PATH entry (an ambient plugin is warned about on every run)
    and without touching the user's ~/.pulumi.
    """
    bin_dir = dir_ / "pulumi-home" / "plugins" / f"resource-aws-v{aws_plugin_version()}"
    bin_dir.mkdir(parents=True, exist_ok=True)
    plugin = bin_dir / "pulumi-resource-aws"
    plugin.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S {shlex.quote(str(ROOT / "emulator" / "plugin.py"))} "$@"\n'
    )
    plugin.chmod(0o755)
    return bin_dir


def environment(dir_: Path, state: dict) -> dict[str, str]:
    """The variables env.sh exports (the engine tests use the same)."""
    engine = engine_bin()
    path = [str(engine)] if engine is not None else []
    return {
        "PATH": os.pathsep.join([*path, "$PATH"]),
        "PULUMI_BACKEND_URL": f"file://{dir_ / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_HOME": str(dir_ / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        ADDRESS_VARIABLE: state["provider_address"],
        "AWS_ENDPOINT_URL": state["aws_endpoint"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "MULTILANE_SANDBOX": str(dir_),
    }


def start(dir_: Path) -> dict:
    if dir_.exists() and not dir_.is_dir():
        raise SandboxError(f"{dir_} is a file, not a folder; name a folder for the sandbox")
    state = running(dir_)
    if state is not None:
        raise SandboxError(f"a sandbox is already running in {dir_} (pid {state['pid']}); stop it first")
    dir_.mkdir(parents=True, exist_ok=True)
    engine_bin()  # fail before starting anything
    (dir_ / "state").mkdir(exist_ok=True)
    _write_plugin(dir_)
    _state_file(dir_).unlink(missing_ok=True)
    print(f"sandbox: starting the emulated AWS account in {dir_} ...", file=sys.stderr, flush=True)
    with open(dir_ / "sandbox.log", "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "emulator.server", str(_state_file(dir_))],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while (state := running(dir_)) is None:
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            raise SandboxError(f"the emulated AWS account did not start; see {dir_ / 'sandbox.log'}")
        time.sleep(0.1)
    env = environment(dir_, state)
    lines = ["# multilane sandbox: . this file; `python -m sandbox stop DIR` ends it"]
    for key, value in env.items():
        quoted = shlex.quote(value) if key != "PATH" else '"' + value + '"'
        lines.append(f"export {key}={quoted}")
    (dir_ / "env.sh").write_text("\n".join(lines) + "\n")
    return state


def stop(dir_: Path) -> None:
    state = running(dir_)
    if state is None:
        raise SandboxError(f"no sandbox is running in {dir_}")
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(state["pid"]):
        os.kill(state["pid"], signal.SIGKILL)
    _state_file(dir_).unlink(missing_ok=True)


def repair(dir_: Path) -> list[Path]:
    """Undo what a killed CLI can leave in the file backend; return the files removed.

    The file backend writes each checkpoint to a temp file and renames it, but
    its metadata sidecar (``<stack>.json.attrs``) in place: a CLI killed at
    that moment leaves it empty, and every later command fails with "failed
    to load checkpoint: EOF". An empty sidecar carries nothing (the backend
    reads the checkpoint without one), so removing it, and the orphaned temp
    files, is safe; then ``pulumi cancel`` and ``pulumi refresh`` recover.
    """
    state = dir_ / "state" / ".pulumi" / "stacks"
    removed = [p for p in state.rglob("*.attrs") if p.stat().st_size == 0]
    removed += list(state.rglob("*.tmp"))
    for p in removed:
        p.unlink()
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "repair"])
    parser.add_argument("dir", type=Path, help="the sandbox's folder (state, logs, env.sh)")
    args = parser.parse_args(argv)
    dir_ = args.dir.resolve()
    try:
        if args.command == "start":
            state = start(dir_)
            print(f"sandbox: running (pid {state['pid']}, AWS at {state['aws_endpoint']}); now run: . {dir_}/env.sh")
        elif args.command == "stop":
            stop(dir_)
            print(f"sandbox: stopped; the emulated account is gone (state files stay in {dir_})")
        elif args.command == "repair":
            removed = repair(dir_)
            print(f"sandbox: removed {len(removed)} file(s) a killed update left: " + ", ".join(map(str, removed)))
        else:
            state = running(dir_)
            if state is None:
                raise SandboxError(f"no sandbox is running in {dir_}")
            print(json.dumps(state))
    except SandboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.filename or dir_}: {err.strerror or err}; pick a folder you can write", file=sys.stderr)
        return 2
    return 0
