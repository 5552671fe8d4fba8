"""Params that would fail on the first real release (issue 11, items 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import params
from components.errors import MultilaneError
from harness.offline import run_stack
from tests.conftest import edit_json


def _container(rec) -> dict:
    task = rec.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    (c,) = json.loads(task["containerDefinitions"])
    return c


@pytest.mark.parametrize(
    "image",
    [
        "public.ecr.aws/docker/library/httpd:2.4",
        "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:bootstrap",
    ],
)
def test_a_bootstrap_image_that_cannot_serve_the_port_and_health_path_is_refused(params_dir: Path, image: str):
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.update(bootstrapImage=image))
    with pytest.raises(MultilaneError) as err:
        params.load_service("user-api", "dev", params_dir)
    assert str(err.value).startswith("params/user-api-dev.json: field 'bootstrapImage': ")
    assert "would never turn healthy" in str(err.value)


@pytest.mark.parametrize("stack", ["user-api-dev-default", "user-api-dev-gray", "order-api-dev-gray"])
def test_the_bootstrap_lane_listens_on_container_port_and_answers_the_health_path(stack: str):
    rec = run_stack(stack)
    service = stack.split("-dev-")[0]
    svc = params.load_service(service, "dev")
    c = _container(rec)
    assert c["image"] == svc.bootstrap_image
    assert c["portMappings"] == [{"containerPort": svc.container_port, "protocol": "tcp"}]
    script = c["command"][-1]
    assert c["command"][:2] == ["sh", "-c"]
    assert f"listen {svc.container_port};" in script
    # One location / answering 200 covers healthCheckPath, whatever it is.
    assert "location / { return 200" in script and "nginx" in script
    tg_path = (
        rec.one("aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]["path"]
        if not stack.endswith("default")
        else None
    )
    assert tg_path in (None, svc.health_check_path)


def test_a_built_image_runs_its_own_command():
    image = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc1234-b7"
    c = _container(run_stack("user-api-dev-gray", config={"imageUri": image}))
    assert c["image"] == image and "command" not in c


@pytest.mark.parametrize(("kind", "count"), [("lane", 1), ("default", 2)])
def test_healthy_hosts_min_above_a_lane_kinds_desired_count_is_refused(params_dir: Path, kind: str, count: int):
    def change(d):
        d["desiredCount"] = {"default": 2, "lane": 1, kind: count}
        d["alarms"]["healthyHostsMin"] = count + 1

    edit_json(params.service_path("user-api", "dev", params_dir), change)
    with pytest.raises(MultilaneError) as err:
        params.load_service("user-api", "dev", params_dir)
    assert f"alarms.healthyHostsMin ({count + 1}) is above desiredCount.{kind} ({count})" in str(err.value)


def test_shipped_params_agree_with_their_lane_kinds():
    for env in params.envs():
        for service in params.services(env):
            svc = params.load_service(service, env)
            assert svc.alarms.healthy_hosts_min <= min(svc.desired_count.default, svc.desired_count.lane)


@pytest.mark.parametrize(
    ("stack", "provider"),
    [
        ("user-api-dev-default", "FARGATE"),
        ("user-api-dev-gray", "FARGATE_SPOT"),
        ("user-api-prod-gray", "FARGATE"),
    ],
)
def test_services_use_the_clusters_capacity_providers_not_a_launch_type(stack: str, provider: str):
    image = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/prod/user-api:sha-abc1234-b7"
    rec = run_stack(stack, config={"imageUri": image} if "-prod-" in stack else None)
    svc = rec.one("aws:ecs/service:Service").inputs
    assert "launchType" not in svc
    assert svc["capacityProviderStrategies"] == [{"capacityProvider": provider, "weight": 1, "base": 0}]


def test_a_capacity_provider_the_cluster_does_not_register_is_refused(params_dir: Path):
    edit_json(
        params.service_path("user-api", "prod", params_dir),
        lambda d: d.update(capacityProvider={"default": "FARGATE", "lane": "FARGATE_SPOT"}),
    )
    image = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/prod/user-api:sha-abc1234-b7"
    with pytest.raises(MultilaneError) as err:
        run_stack("user-api-prod-gray", config={"imageUri": image}, params_dir=params_dir)
    assert "capacityProvider.lane is FARGATE_SPOT, but the cluster of prod registers only FARGATE" in str(err.value)
    assert err.value.registered == []


def test_the_bootstrap_lane_runs_hardened_with_only_tmp_writable(params_dir: Path):
    edit_json(
        params_dir / "user-api-dev.json",
        lambda d: d.update(readonlyRootFilesystem=True, runAsNonRoot=True, writablePaths=["/tmp"]),
    )
    c = _container(run_stack("user-api-dev-default", params_dir=params_dir))
    svc = params.load_service("user-api", "dev", params_dir)
    assert c["image"] == svc.bootstrap_image
    assert c["readonlyRootFilesystem"] is True and c["user"]
    assert [m["containerPath"] for m in c["mountPoints"]] == ["/tmp"]
    script = c["command"][-1]
    # Every file nginx writes is under /tmp or a standard stream; nothing under /etc or /var.
    assert "> /tmp/nginx.conf" in script and "-c /tmp/nginx.conf" in script
    for written in (
        "pid /tmp/nginx.pid",
        "error_log /dev/stderr",
        "access_log /dev/stdout",
        "client_body_temp_path /tmp/",
    ):
        assert written in script
    assert "/etc/nginx" not in script and "/var/" not in script


def test_a_read_only_bootstrap_lane_without_a_writable_tmp_is_refused(params_dir: Path):
    edit_json(params_dir / "user-api-dev.json", lambda d: d.update(readonlyRootFilesystem=True, writablePaths=[]))
    with pytest.raises(MultilaneError, match=r"params/user-api-dev.json: the bootstrap image needs /tmp writable"):
        run_stack("user-api-dev-default", params_dir=params_dir)
