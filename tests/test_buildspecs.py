"""ci/buildspec.yaml and ci/deploy-buildspec.yaml: the structure CodeBuild
requires, and their commands run in bash the way CodeBuild runs them (one
shell per build, phases in order) with fake tools first on PATH."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.layers.pipelines import stages as pipelines
from tests.test_build_sh import REPO_URI, calls, env_for, sandbox  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("install", "pre_build", "build", "post_build")  # CodeBuild's order
PHASE_KEYS = {"run-as", "on-failure", "runtime-versions", "commands", "finally"}
ENV_KEYS = {"shell", "variables", "parameter-store", "secrets-manager", "exported-variables", "git-credential-helper"}


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def check_structure(spec: dict) -> None:
    """What CodeBuild's buildspec 0.2 parser insists on."""
    assert str(spec["version"]) == "0.2"
    assert set(spec) <= {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
    env = spec.get("env", {})
    assert set(env) <= ENV_KEYS
    assert env.get("shell") == "bash"
    for name, value in env.get("variables", {}).items():
        assert isinstance(name, str) and isinstance(value, str), f"env variable {name} must be a string"
    assert set(spec["phases"]) <= set(PHASES)
    for name, phase in spec["phases"].items():
        assert set(phase) <= PHASE_KEYS, name
        assert phase["commands"], f"phase {name} has no commands"
        assert all(isinstance(c, str) for c in phase["commands"]), name


def shell_script(spec: dict) -> str:
    """The phases' commands, in CodeBuild's order, as one bash script."""
    lines: list[str] = []
    for name, value in spec.get("env", {}).get("variables", {}).items():
        # Buildspec variables are defaults: project and action values win.
        lines.append(f': "${{{name}:={shlex.quote(value)}}}"; export {name}')
    for phase in PHASES:
        for command in spec["phases"].get(phase, {}).get("commands", []):
            lines.append(command)
    return "\n".join(lines)


# --- ci/buildspec.yaml ----------------------------------------------------------------


def test_the_build_buildspec_has_the_structure_codebuild_requires():
    spec = load(pipelines.BUILDSPEC)
    check_structure(spec)
    assert spec["env"]["exported-variables"] == list(pipelines.BUILD_EXPORTS)
    assert spec["artifacts"]["files"] == [pipelines.PARAMS_FILE]
    assert spec["env"]["variables"]["PARAMS_FILE"] == pipelines.PARAMS_FILE


def test_every_build_phase_calls_a_function_build_sh_defines():
    spec = load(pipelines.BUILDSPEC)
    defined = subprocess.run(
        ["bash", "-c", ". ci/build.sh && declare -F"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    called = {
        phase: [c.split("&&")[-1].strip() for c in spec["phases"][phase]["commands"] if c.startswith(". ci/build.sh")]
        for phase in ("pre_build", "build", "post_build")
    }
    assert called == {"pre_build": ["prebuild"], "build": ["build"], "post_build": ["postbuild"]}
    for names in called.values():
        assert all(n in defined for n in names)


def test_running_the_build_buildspec_exports_the_image_and_writes_the_artifact(sandbox):  # noqa: F811
    spec = load(pipelines.BUILDSPEC)
    script = shell_script(spec) + '\necho "ECR_REPO_URI=$ECR_REPO_URI"\necho "IMAGE_TAG_URI=$IMAGE_TAG_URI"\n'
    result = subprocess.run(
        ["bash", "-c", script], cwd=sandbox["infra"], env=env_for(sandbox), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines() if "_URI=" in line)
    assert exported == {"ECR_REPO_URI": REPO_URI, "IMAGE_TAG_URI": f"{REPO_URI}:sha-abc1234-b7"}
    # The artifact CodeBuild packs is the file the buildspec names.
    for name in spec["artifacts"]["files"]:
        data = json.loads((sandbox["infra"] / name).read_text())
        assert data["Parameters"]["ImageUri"] == exported["IMAGE_TAG_URI"]
    steps = [c[:2] for c in calls(sandbox)]
    # login's two ends run concurrently; everything after is in phase order.
    assert sorted(steps[:2]) == [["aws", "ecr"], ["docker", "login"]]
    assert steps[2:] == [["docker", "build"], ["docker", "push"]]


# --- ci/deploy-buildspec.yaml ---------------------------------------------------------

FAKE_PYTHON = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def test_the_deploy_buildspec_has_the_structure_codebuild_requires():
    spec = load(pipelines.DEPLOY_BUILDSPEC)
    check_structure(spec)
    install = "\n".join(spec["phases"]["install"]["commands"])
    # the pinned CLI from params, verified against ci/pulumi-cli.sha256 (issue 12)
    assert 'bash ci/install-pulumi.sh "$PULUMI_VERSION"' in install
    assert "pip install" in install and "-r requirements.txt" in install
    assert "python -m automation" in "\n".join(spec["phases"]["build"]["commands"])


def test_the_deploy_runs_the_program_in_the_pinned_venv_pulumi_yaml_names():
    # Pulumi.yaml says virtualenv: venv; the deploy must create that venv and
    # install into it with constraints.txt, not into the system Python (the
    # CLI would then build its own venv without the pins).
    project = load(ROOT / "Pulumi.yaml")
    venv = project["runtime"]["options"]["virtualenv"]
    install = load(pipelines.DEPLOY_BUILDSPEC)["phases"]["install"]["commands"]
    create = install.index(f"python -m venv {venv}")
    activate = next(i for i, c in enumerate(install) if f'PATH="$PWD/{venv}/bin:$PATH"' in c)
    pip = next(i for i, c in enumerate(install) if "pip install" in c)
    assert create < activate < pip
    assert "-c constraints.txt" in install[pip] and install[pip].startswith("python -m pip")


def run_deploy(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "python.log"
    spec = load(pipelines.DEPLOY_BUILDSPEC)
    script = "\n".join(spec["phases"]["build"]["commands"])
    full_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "PARAMS_FILE": spec["env"]["variables"]["PARAMS_FILE"],
        **env,
    }
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60)
    argv = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, argv


def parameter_file(tmp_path: Path) -> Path:
    out = tmp_path / "BuildOut"
    out.mkdir()
    (out / "cfn-params.json").write_text(
        json.dumps(
            {
                "Parameters": {
                    "ServiceName": "user-api",
                    "Env": "dev",
                    "Lane": "gray",
                    "ImageUri": f"{REPO_URI}:sha-abc1234",
                }
            }
        )
    )
    return out


def test_an_app_deploy_runs_the_runner_on_the_lane_with_the_parameter_file(tmp_path):
    out = parameter_file(tmp_path)
    result, argv = run_deploy(
        tmp_path,
        {
            "DEPLOY_STACK": "user-api-dev-gray",
            "CODEBUILD_SRC_DIR_BuildOut": str(out),
            "SERVICE_NAME": "user-api",
            "APP_ENV": "dev",
            "LANE": "gray",
            "BRANCH": "release/1.2.3",
        },
    )
    assert result.returncode == 0, result.stderr
    assert argv == [
        [
            "-m",
            "automation",
            "up",
            "user-api-dev-gray",
            "--params-file",
            str(out / "cfn-params.json"),
            "--var",
            "SERVICE=user-api",
            "--var",
            "LANE=gray",
            "--var",
            "BRANCH=release/1.2.3",
        ]
    ]
    # ... and the real runner accepts exactly that command line.
    from automation.cli import build_parser
    from automation.inputs import build_request

    args = build_parser().parse_args(argv[0][2:])
    request = build_request(args.stacks, args.var, args.params_file, {"APP_ENV": "dev"})
    assert [t.stack for t in request.targets] == ["user-api-dev-gray"]
    assert request.image == f"{REPO_URI}:sha-abc1234"


@pytest.mark.parametrize("stack", ["infra-dev", "boot-user-api-dev"])
def test_a_layer_deploy_runs_the_runner_on_its_stack_only(tmp_path, stack):
    result, argv = run_deploy(tmp_path, {"DEPLOY_STACK": stack, "APP_ENV": "dev"})
    assert result.returncode == 0, result.stderr
    assert argv == [["-m", "automation", "up", stack]]
    from automation.cli import build_parser
    from automation.inputs import build_request

    args = build_parser().parse_args(argv[0][2:])
    assert [t.stack for t in build_request(args.stacks, args.var, None, {"APP_ENV": "dev"}).targets] == [stack]


def test_a_deploy_without_a_stack_fails_with_a_clear_message(tmp_path):
    result, argv = run_deploy(tmp_path, {"APP_ENV": "dev"})
    assert result.returncode != 0
    assert "DEPLOY_STACK is not set" in result.stderr
    assert argv == []


def test_a_missing_parameter_file_fails_before_the_runner_starts(tmp_path):
    empty = tmp_path / "BuildOut"
    empty.mkdir()
    result, argv = run_deploy(
        tmp_path,
        {"DEPLOY_STACK": "user-api-dev-gray", "CODEBUILD_SRC_DIR_BuildOut": str(empty), "APP_ENV": "dev"},
    )
    assert result.returncode != 0
    assert "parameter file cfn-params.json is missing" in result.stderr
    assert argv == []


def test_the_pulumi_version_check_rejects_an_unpinned_cli(tmp_path):
    spec = load(pipelines.DEPLOY_BUILDSPEC)
    check = next(c for c in spec["phases"]["install"]["commands"] if "pulumi version" in c)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text("#!/bin/sh\necho v3.999.0\n")
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    bad = subprocess.run(
        ["bash", "-c", check], env={**env, "PULUMI_VERSION": "3.272.0"}, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "params pin 3.272.0" in bad.stderr
    good = subprocess.run(
        ["bash", "-c", check], env={**env, "PULUMI_VERSION": "3.999.0"}, capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr


# --- issue 12: supply chain -------------------------------------------------------------------

INSTALL = ROOT / "ci" / "install-pulumi.sh"


def test_no_buildspec_or_workflow_pipes_a_download_into_a_shell():
    piped = re.compile(r"(curl|wget)[^\n|]*\|\s*(sudo\s+)?(ba|z)?sh\b")
    for path in [*ROOT.glob("ci/*"), *ROOT.glob(".github/workflows/*"), ROOT / "Makefile"]:
        assert not piped.search(path.read_text()), path
    install = load(pipelines.DEPLOY_BUILDSPEC)["phases"]["install"]["commands"]
    assert 'bash ci/install-pulumi.sh "$PULUMI_VERSION"' in install


def test_the_install_script_verifies_before_it_extracts():
    text = INSTALL.read_text()
    assert text.index("sha256sum -c") < text.index("tar -xzf")
    assert not re.search(r"\|\s*(ba)?sh\b", text)


def test_the_checksum_file_lists_the_pinned_cli_for_both_architectures():
    from components import params

    sums = (ROOT / "ci" / "pulumi-cli.sha256").read_text()
    lines = [line.split() for line in sums.splitlines() if line and not line.startswith("#")]
    assert all(len(parts) == 2 and len(parts[0]) == 64 for parts in lines)
    files = {parts[1] for parts in lines}
    for env in params.envs():
        version = params.load_pipelines(env).pulumi_version
        assert {f"pulumi-v{version}-linux-x64.tar.gz", f"pulumi-v{version}-linux-arm64.tar.gz"} <= files


def _fake_release(tmp_path: Path, version: str) -> tuple[Path, str]:
    """A release archive, a fake curl that 'downloads' it and its real sum."""
    import hashlib
    import tarfile

    tree = tmp_path / "tree" / "pulumi"
    tree.mkdir(parents=True)
    (tree / "pulumi").write_text(f"#!/bin/sh\necho v{version}\n")
    (tree / "pulumi").chmod(0o755)
    arch = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x64"
    archive = tmp_path / f"pulumi-v{version}-linux-{arch}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="pulumi")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    # curl ... -o <file> <url>: copy the archive, log the URL.
    curl.write_text(
        "#!/bin/bash\nwhile [ $# -gt 0 ]; do case $1 in -o) out=$2; shift;; http*) url=$1;; esac; shift; done\n"
        f'echo "$url" >> {tmp_path}/curl.log\ncp {archive} "$out"\n'
    )
    curl.chmod(0o755)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def _install(tmp_path: Path, version: str, sums_text: str) -> subprocess.CompletedProcess[str]:
    sums = tmp_path / "sums"
    sums.write_text(sums_text)
    env = {
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "PULUMI_CLI_SUMS": str(sums),
    }
    return subprocess.run(["bash", str(INSTALL), version], env=env, capture_output=True, text=True, timeout=60)


def test_a_verified_archive_is_installed(tmp_path):
    archive, digest = _fake_release(tmp_path, "3.274.1")
    result = _install(tmp_path, "3.274.1", f"{digest}  {archive.name}\n")
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "home" / ".pulumi" / "bin" / "pulumi"
    assert subprocess.run([str(installed)], capture_output=True, text=True).stdout == "v3.274.1\n"
    assert (tmp_path / "curl.log").read_text() == (
        f"https://github.com/pulumi/pulumi/releases/download/v3.274.1/{archive.name}\n"
    )


@pytest.mark.parametrize(
    ("sums", "says"),
    [
        ("{wrong}  {name}\n", "does not match its sum in ci/pulumi-cli.sha256"),
        ("{zero}  {name}\n", "is a placeholder; fill it from the release's pulumi-3.274.1-checksums.txt"),
        ("", "has no sum for"),
    ],
    ids=["mismatch", "placeholder", "missing"],
)
def test_an_unverified_archive_is_never_extracted(tmp_path, sums, says):
    archive, _ = _fake_release(tmp_path, "3.274.1")
    text = sums.format(wrong="ab" * 32, zero="0" * 64, name=archive.name)
    result = _install(tmp_path, "3.274.1", text)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("install-pulumi: error: ") and says in line
    assert not (tmp_path / "home" / ".pulumi").exists()
