"""ci/review-buildspec.yaml and ci/reaper-buildspec.yaml: CodeBuild's structure,
and the runner command each one runs (a fake python records its argv)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components import review_pipeline
from tests.test_buildspecs import FAKE_PYTHON, ROOT, check_structure, load

IMAGE = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc1234-b9"


def run_build(tmp_path: Path, spec_path: str, env: dict[str, str], exit_code: int = 0):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "python"
    fake.write_text(FAKE_PYTHON + f"sys.exit({exit_code})\n")
    fake.chmod(0o755)
    log = tmp_path / "python.log"
    spec = load(spec_path)
    script = "\n".join(spec["phases"]["build"]["commands"])
    full_env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(log), **env}
    work = tmp_path / "src"
    work.mkdir(exist_ok=True)
    result = subprocess.run(["bash", "-c", script], cwd=work, env=full_env, capture_output=True, text=True, timeout=60)
    argv = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, argv


@pytest.mark.parametrize("path", [review_pipeline.REVIEW_BUILDSPEC, review_pipeline.REAPER_BUILDSPEC])
def test_the_structure_and_the_pinned_install(path: str) -> None:
    spec = load(path)
    check_structure(spec)
    install = spec["phases"]["install"]["commands"]
    assert install == load("ci/deploy-buildspec.yaml")["phases"]["install"]["commands"]  # the same pinned CLI and venv


BASE = {"SERVICE_NAME": "user-api", "APP_ENV": "dev", "PR_NUMBER": "42"}


def test_a_push_deploys_the_lane_with_the_builds_image_and_a_token_comments_on_github(tmp_path) -> None:
    env = {**BASE, "PR_EVENT": "synchronize", "IMAGE_URI": IMAGE, "GITHUB_TOKEN": "t"}
    result, argv = run_build(tmp_path, review_pipeline.REVIEW_BUILDSPEC, env)
    assert result.returncode == 0, result.stderr
    assert argv == [
        ["-m", "automation", "review", "user-api-dev", "--pr", "42", "--event", "synchronize", "--image", IMAGE]
    ]


def test_a_close_needs_no_image_and_without_a_token_the_comment_goes_to_the_log(tmp_path) -> None:
    result, argv = run_build(tmp_path, review_pipeline.REVIEW_BUILDSPEC, {**BASE, "PR_EVENT": "closed"})
    assert result.returncode == 0, result.stderr
    assert argv == [
        [
            "-m",
            "automation",
            "review",
            "user-api-dev",
            "--pr",
            "42",
            "--event",
            "closed",
            "--comment-dir",
            "review-comment",
        ]
    ]


def test_a_failed_review_fails_the_build(tmp_path) -> None:
    env = {**BASE, "PR_EVENT": "opened", "IMAGE_URI": IMAGE, "GITHUB_TOKEN": "t"}
    result, _ = run_build(tmp_path, review_pipeline.REVIEW_BUILDSPEC, env, exit_code=1)
    assert result.returncode == 1


def test_the_reaper_reaps_its_service_in_its_env(tmp_path) -> None:
    result, argv = run_build(
        tmp_path, review_pipeline.REAPER_BUILDSPEC, {"SERVICE_NAME": "order-api", "APP_ENV": "dev"}
    )
    assert result.returncode == 0, result.stderr
    assert argv == [["-m", "automation", "reap", "dev", "--service", "order-api", "--json"]]
    assert (ROOT / "ci" / "reaper-buildspec.yaml").exists()
