"""Derived AWS names: deterministic, within limits, never colliding."""

from __future__ import annotations

import random
import string

import pytest

from components import naming
from components.errors import MultilaneError


def test_short_names_are_kept_as_is() -> None:
    assert naming.alb_name("user-api", "dev") == "user-api-dev"
    assert naming.log_group_name("user-api", "dev") == "/ecs/dev/user-api"
    assert naming.stack_ref("infra-dev") == "organization/multilane/infra-dev"
    assert naming.stack_ref("boot-user-api-dev", "acme") == "acme/multilane/boot-user-api-dev"


def test_long_names_fit_and_stay_distinct() -> None:
    rng = random.Random(7)
    seen: dict[str, tuple[str, str]] = {}
    for _ in range(2000):
        service = "svc-" + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(20, 36)))
        lane = "lane-" + "".join(rng.choices(string.ascii_lowercase + "-", k=rng.randint(1, 30))).strip("-") + "x"
        tg = naming.target_group_name(service, "prod", lane, port=8080, protocol="HTTP", target_type="ip")
        assert len(tg) <= naming.LIMIT_TARGET_GROUP_NAME
        assert tg[0].isalnum() and tg[-1].isalnum() and not tg.startswith("internal-")
        assert set(tg) <= set(string.ascii_lowercase + string.digits + "-")
        assert tg not in seen or seen[tg] == (service, lane)
        seen[tg] = (service, lane)
        assert len(naming.alb_name(service, "prod")) <= naming.LIMIT_ALB_NAME
        assert len(naming.lane_role_name(service, "prod", lane, "exec")) <= naming.LIMIT_IAM_ROLE_NAME


def test_truncation_never_collides_on_a_shared_prefix() -> None:
    a = naming.fit("a-very-long-service-name-dev-feature-one", 32)
    b = naming.fit("a-very-long-service-name-dev-feature-two", 32)
    assert a != b and len(a) == len(b) == 32
    assert a.startswith("a-very-long-service-nam-") and b.startswith("a-very-long-service-nam-")


def test_target_group_name_changes_with_replace_forcing_properties() -> None:
    # A new port means a new target group; a new name lets Pulumi create the
    # replacement before deleting the old one (a fixed name cannot).
    base = naming.target_group_name("user-api", "dev", "gray", port=8080, protocol="HTTP", target_type="ip")
    assert base == naming.target_group_name("user-api", "dev", "gray", port=8080, protocol="HTTP", target_type="ip")
    assert base != naming.target_group_name("user-api", "dev", "gray", port=9090, protocol="HTTP", target_type="ip")
    assert base != naming.target_group_name("user-api", "dev", "gray", port=8080, protocol="HTTPS", target_type="ip")
    assert len(base) <= 32


def test_tags_carry_the_contract_keys() -> None:
    assert naming.tags("dev", "lane", "user-api", "gray") == {
        "Env": "dev",
        "Layer": "lane",
        "ManagedBy": "multilane",
        "Service": "user-api",
        "Lane": "gray",
    }
    assert set(naming.tags("dev", "infra")) == {"Env", "Layer", "ManagedBy"}


def test_longest_stack_name_fits_pulumi() -> None:
    stack = naming.lane_stack("s" * naming.MAX_SERVICE_LEN, "e" * naming.MAX_ENV_LEN, "l" * naming.MAX_LANE_LEN)
    assert len(stack) <= naming.LIMIT_STACK_NAME


# --- naming owns every AWS name, and refuses parts that are too long ----------------


def test_derived_names_written_out() -> None:
    assert naming.infra_stack("dev") == "infra-dev"
    assert naming.boot_stack("user-api", "dev") == "boot-user-api-dev"
    assert naming.lane_stack("user-api", "dev", "gray") == "user-api-dev-gray"
    assert naming.log_group_name("user-api", "dev") == "/ecs/dev/user-api"
    assert naming.ecr_repository_name("user-api", "dev") == "dev/user-api"
    assert naming.ecr_repository_url("123456789012", "ap-southeast-2", "user-api", "dev") == (
        "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api"
    )
    assert naming.app_pipeline_role_name("user-api", "dev", "build") == "multilane-dev-app-user-api-build"
    assert naming.alarm_glob("user-api", "dev") == "user-api-dev-*"
    assert naming.alarm_glob("*", "dev") == "*-dev-*"
    assert naming.arn("aws", "ecs", "ap-southeast-2", "123456789012", "cluster/multilane-dev") == (
        "arn:aws:ecs:ap-southeast-2:123456789012:cluster/multilane-dev"
    )
    assert naming.s3_arn("aws", "state", ".pulumi/meta.yaml") == "arn:aws:s3:::state/.pulumi/meta.yaml"
    assert naming.s3_arn("aws", "state") == "arn:aws:s3:::state"
    assert naming.layer_state_keys("boot") == ".pulumi/*/multilane/boot-*"
    assert naming.state_meta_key() == ".pulumi/meta.yaml"


def test_an_over_long_service_or_env_is_refused_in_one_sentence() -> None:
    service = "s" * 41
    with pytest.raises(MultilaneError) as err:
        naming.alb_name(service, "dev")
    assert str(err.value) == (
        f"service name {service!r} has 41 characters; AWS names built from it allow at most 40: "
        "rename its params/{service}-{env}.json"
    )
    with pytest.raises(MultilaneError) as err:
        naming.cluster_name("e" * 17)
    assert str(err.value) == (
        f"env name {'e' * 17!r} has 17 characters; AWS names built from it allow at most 16: "
        "rename its params/infra-{env}.json"
    )
    with pytest.raises(MultilaneError, match=r"^lane name 'lll.*' has 41 characters"):
        naming.task_family("user-api", "dev", "l" * 41)
    # At the limits every derived name still fits (hash-fitted or within AWS's cap).
    assert len(naming.alb_name("s" * 40, "e" * 16)) == naming.LIMIT_ALB_NAME
    assert naming.log_group_name("s" * 40, "e" * 16) == f"/ecs/{'e' * 16}/{'s' * 40}"


def test_a_name_over_an_aws_limit_is_refused_not_truncated() -> None:
    with pytest.raises(MultilaneError) as err:
        naming.bounded("x" * 101, naming.LIMIT_PIPELINE_NAME, "pipeline name")
    assert str(err.value) == (
        f"pipeline name {'x' * 101!r} has 101 characters, over AWS's limit of 100; use shorter service or env names"
    )
