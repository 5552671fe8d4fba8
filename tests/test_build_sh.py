"""ci/build.sh, run for real with fake `docker` and `aws` first on PATH.

The fakes log their argv (one JSON list per line) and can be told to fail;
the tests assert the commands the script sent and the parameter file it
wrote, exactly as the Deploy stage will read it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_SH = ROOT / "ci" / "build.sh"
REPO_URI = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api"
COMMIT = "abc1234def5678901234567890abcdef12345678"

FAKE = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
entry = [name, *sys.argv[1:]]
if name == "aws" and sys.argv[1:3] == ["ecr", "get-login-password"]:
    print("fake-password")
if name == "docker" and sys.argv[1:2] == ["login"]:
    entry.append("stdin=" + sys.stdin.read().strip())
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(entry) + "\\n")
fail = os.environ.get("FAKE_FAIL", "")
if fail and " ".join([name, *sys.argv[1:]]).startswith(fail):
    print(f"{name}: simulated failure", file=sys.stderr)
    sys.exit(17)
# ECR with IMMUTABLE tags: a tag already in the repository cannot be pushed again.
if name == "docker" and sys.argv[1:2] == ["push"]:
    registry = os.environ["FAKE_REGISTRY"]
    pushed = open(registry).read().split() if os.path.exists(registry) else []
    if sys.argv[2] in pushed:
        tag = sys.argv[2].rsplit(":", 1)[1]
        print(
            f"tag invalid: The image tag '{tag}' already exists in the repository and cannot be overwritten "
            "because the repository is immutable. (ImageTagAlreadyExistsException)",
            file=sys.stderr,
        )
        sys.exit(1)
    with open(registry, "a") as f:
        f.write(sys.argv[2] + "\\n")
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("docker", "aws"):
        exe = bin_dir / name
        # The interpreter running the tests: fast, and independent of PATH.
        exe.write_text(FAKE.replace("{python}", sys.executable))
        exe.chmod(0o755)
    infra = tmp_path / "InfraOut"
    (infra / "ci").mkdir(parents=True)
    shutil.copy(BUILD_SH, infra / "ci" / "build.sh")
    app = tmp_path / "AppOut"
    (app / "services" / "user").mkdir(parents=True)
    (app / "services" / "user" / "Dockerfile").write_text("FROM scratch\n")
    return {"bin": bin_dir, "infra": infra, "app": app, "log": tmp_path / "calls.log", "registry": tmp_path / "ecr"}


def env_for(sb: dict[str, Path], **overrides: str) -> dict[str, str]:
    env = {
        "PATH": f"{sb['bin']}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "FAKE_LOG": str(sb["log"]),
        "FAKE_REGISTRY": str(sb["registry"]),
        "AWS_REGION": "ap-southeast-2",
        "SERVICE_NAME": "user-api",
        "SERVICE": "user-api",
        "APP_ENV": "dev",
        "LANE": "gray",
        "APP_BRANCH": "release/1.2.3",
        "APP_COMMIT": COMMIT,
        "CODEBUILD_BUILD_NUMBER": "7",
        "ECR_REPO_URI": REPO_URI,
        "MODULE_PATH": "services/user",
        "DOCKERFILE": "Dockerfile",
        "PARAMS_FILE": "cfn-params.json",
        "CODEBUILD_SRC_DIR": str(sb["infra"]),
        "CODEBUILD_SRC_DIR_AppOut": str(sb["app"]),
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def phase(sb: dict[str, Path], name: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    """Run a phase the way ci/buildspec.yaml does: source, then call."""
    return subprocess.run(
        ["bash", "-c", f". ci/build.sh && {name}"],
        cwd=sb["infra"],
        env=env_for(sb, **overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def calls(sb: dict[str, Path]) -> list[list[str]]:
    if not sb["log"].exists():
        return []
    return [json.loads(line) for line in sb["log"].read_text().splitlines()]


def test_prebuild_logs_docker_in_to_the_service_registry(sandbox):
    result = phase(sandbox, "prebuild")
    assert result.returncode == 0, result.stderr
    # The two ends of a pipe run concurrently: compare without order.
    assert sorted(calls(sandbox)) == [
        ["aws", "ecr", "get-login-password", "--region", "ap-southeast-2"],
        [
            "docker",
            "login",
            "--username",
            "AWS",
            "--password-stdin",
            "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com",
            "stdin=fake-password",
        ],
    ]


def test_build_tags_one_unique_tag_commit_and_build_number(sandbox):
    result = phase(sandbox, "build")
    assert result.returncode == 0, result.stderr
    [docker] = calls(sandbox)
    context = str(sandbox["app"] / "services" / "user")
    assert docker[:2] == ["docker", "build"]
    assert docker[-1] == context
    assert ["--file", f"{context}/Dockerfile"] == docker[2:4]
    tags = [docker[i + 1] for i, a in enumerate(docker) if a == "--tag"]
    assert tags == [f"{REPO_URI}:sha-abc1234-b7"]
    assert "org.opencontainers.image.ref.name=release/1.2.3" in docker


def test_postbuild_pushes_and_writes_a_valid_parameter_file(sandbox):
    result = phase(sandbox, "postbuild")
    assert result.returncode == 0, result.stderr
    assert calls(sandbox) == [["docker", "push", f"{REPO_URI}:sha-abc1234-b7"]]
    written = json.loads((sandbox["infra"] / "cfn-params.json").read_text())
    assert written == {
        "Parameters": {
            "ServiceName": "user-api",
            "Env": "dev",
            "Lane": "gray",
            "ImageUri": f"{REPO_URI}:sha-abc1234-b7",
        }
    }


def test_the_parameter_file_is_what_the_runner_reads(sandbox):
    from automation.inputs import read_params_file

    assert phase(sandbox, "postbuild").returncode == 0
    values = read_params_file(str(sandbox["infra"] / "cfn-params.json"))
    assert values["IMAGE_URI"] == f"{REPO_URI}:sha-abc1234-b7"
    assert values["LANE"] == "gray"


def test_image_uri_prints_the_immutable_sha_tag(sandbox):
    result = phase(sandbox, "image_uri")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{REPO_URI}:sha-abc1234-b7"


def test_a_failing_docker_build_fails_the_script_with_a_clear_message(sandbox):
    result = phase(sandbox, "build", FAKE_FAIL="docker build")
    assert result.returncode != 0
    assert "docker build of user-api failed" in result.stderr
    assert "nothing was pushed" in result.stderr


def test_postbuild_refuses_to_push_after_a_failed_build_phase(sandbox):
    result = phase(sandbox, "postbuild", CODEBUILD_BUILD_SUCCEEDING="0")
    assert result.returncode != 0
    assert "the build phase failed" in result.stderr
    assert calls(sandbox) == []
    assert not (sandbox["infra"] / "cfn-params.json").exists()


def test_a_failing_push_fails_before_the_parameter_file_is_written(sandbox):
    result = phase(sandbox, "postbuild", FAKE_FAIL="docker push")
    assert result.returncode != 0
    assert "docker push of" in result.stderr
    assert not (sandbox["infra"] / "cfn-params.json").exists()


def test_a_failing_login_fails_prebuild(sandbox):
    result = phase(sandbox, "prebuild", FAKE_FAIL="docker login")
    assert result.returncode != 0
    assert "docker login to 123456789012.dkr.ecr.ap-southeast-2.amazonaws.com failed" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LANE": "Gray!"}, "LANE 'Gray!' is not a lane name"),
        ({"SERVICE": "order-api"}, "SERVICE=order-api does not match this pipeline's service user-api"),
        ({"ECR_REPO_URI": ""}, "environment variable ECR_REPO_URI is not set"),
    ],
)
def test_bad_input_stops_prebuild_with_one_sentence(sandbox, overrides, message):
    result = phase(sandbox, "prebuild", **overrides)
    assert result.returncode != 0
    assert message in result.stderr
    assert calls(sandbox) == []


def test_a_missing_module_path_is_named(sandbox):
    result = phase(sandbox, "build", MODULE_PATH="nope")
    assert result.returncode != 0
    assert "module path 'nope' does not exist" in result.stderr
    assert calls(sandbox) == []


def test_a_bad_commit_id_is_rejected(sandbox):
    result = phase(sandbox, "build", APP_COMMIT="not-a-sha")
    assert result.returncode != 0
    assert "APP_COMMIT 'not-a-sha' is not a git commit id" in result.stderr


def test_sourcing_does_not_leak_strict_mode_into_the_callers_shell(sandbox):
    # CodeBuild keeps one shell across commands: a failing phase must fail its
    # own command, not turn on `set -e` for everything after it.
    result = subprocess.run(
        ["bash", "-c", ". ci/build.sh; build; echo still-here; false; echo after-false"],
        cwd=sandbox["infra"],
        env=env_for(sandbox, FAKE_FAIL="docker build"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "still-here" in result.stdout and "after-false" in result.stdout


def test_running_the_script_directly_works_too(sandbox):
    result = subprocess.run(
        ["bash", "ci/build.sh", "image_uri"],
        cwd=sandbox["infra"],
        env=env_for(sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == f"{REPO_URI}:sha-abc1234-b7"
    bad = subprocess.run(
        ["bash", "ci/build.sh", "deploy"], cwd=sandbox["infra"], env=env_for(sandbox), capture_output=True, text=True
    )
    assert bad.returncode != 0 and "usage: bash ci/build.sh" in bad.stderr


def _release(sb: dict[str, Path], **overrides: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """build + postbuild of one pipeline run; returns postbuild and the image it wrote."""
    assert phase(sb, "build", **overrides).returncode == 0
    result = phase(sb, "postbuild", **overrides)
    params_file = sb["infra"] / "cfn-params.json"
    image = json.loads(params_file.read_text())["Parameters"]["ImageUri"] if result.returncode == 0 else ""
    if params_file.exists():
        params_file.unlink()
    return result, image


def test_two_builds_of_one_branch_push_into_the_immutable_repository(sandbox):
    first, image1 = _release(sandbox, CODEBUILD_BUILD_NUMBER="7", APP_COMMIT=COMMIT)
    second, image2 = _release(sandbox, CODEBUILD_BUILD_NUMBER="8", APP_COMMIT="fed4321" + COMMIT[7:])
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert image1 != image2


def test_one_commit_built_for_two_lanes_gets_two_images(sandbox):
    gray, image_gray = _release(sandbox, LANE="gray", CODEBUILD_BUILD_NUMBER="7")
    blue, image_blue = _release(sandbox, LANE="blue", CODEBUILD_BUILD_NUMBER="8")
    assert gray.returncode == 0, gray.stderr
    assert blue.returncode == 0, blue.stderr
    assert {image_gray, image_blue} == {f"{REPO_URI}:sha-abc1234-b7", f"{REPO_URI}:sha-abc1234-b8"}
    pushed = sandbox["registry"].read_text().split()
    assert sorted(pushed) == sorted([image_gray, image_blue])


def test_the_fake_rejects_a_repushed_tag_like_ecr(sandbox):
    # The guard the two tests above rely on: a retried build number is refused.
    assert _release(sandbox)[0].returncode == 0
    again, _ = _release(sandbox)
    assert again.returncode != 0
    assert "ImageTagAlreadyExistsException" in again.stderr
    assert "docker push of" in again.stderr


def test_a_missing_build_number_is_named(sandbox):
    result = phase(sandbox, "build", CODEBUILD_BUILD_NUMBER="")
    assert result.returncode != 0
    assert "CODEBUILD_BUILD_NUMBER is not set" in result.stderr
