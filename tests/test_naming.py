"""Derived AWS names: deterministic, within limits, never colliding."""

from __future__ import annotations

import random
import string

from components import naming


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
