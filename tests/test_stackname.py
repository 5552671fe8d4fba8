"""Stack name -> Target, exactly as docs/contract.md says."""

from __future__ import annotations

import pytest

from components.errors import MultilaneError
from components.stackname import BootTarget, InfraTarget, LaneTarget, PipelinesTarget, Target, check_lane, resolve
from tests.conftest import write_service


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("infra-dev", InfraTarget("infra-dev", "dev")),
        ("infra-prod", InfraTarget("infra-prod", "prod")),
        ("pipelines-dev", PipelinesTarget("pipelines-dev", "dev")),
        ("boot-user-api-dev", BootTarget("boot-user-api-dev", "dev", service="user-api")),
        ("boot-order-api-prod", BootTarget("boot-order-api-prod", "prod", service="order-api")),
        ("user-api-dev-gray", LaneTarget("user-api-dev-gray", "dev", service="user-api", lane="gray")),
        ("user-api-dev-default", LaneTarget("user-api-dev-default", "dev", service="user-api", lane="default")),
        (
            "order-api-prod-feature-login",
            LaneTarget("order-api-prod-feature-login", "prod", service="order-api", lane="feature-login"),
        ),
    ],
)
def test_every_shape_resolves(stack: str, expected: Target) -> None:
    assert resolve(stack) == expected


def test_a_stack_name_that_reads_two_ways_is_refused(params_dir) -> None:
    # Both "user-dev" and "user-dev-x-dev" are a prefix with a params file:
    # "user-dev-x-dev-gray" is lane gray of user-dev-x or lane x-dev-gray of
    # user. Refused, not guessed; names that read one way still resolve.
    write_service(params_dir, "user", "dev")
    write_service(params_dir, "user-dev-x", "dev")
    with pytest.raises(
        MultilaneError,
        match=r"stack 'user-dev-x-dev-gray' is ambiguous: lane 'gray' of params/user-dev-x-dev.json or lane 'x-dev-gray' of params/user-dev.json",
    ):
        resolve("user-dev-x-dev-gray", params_dir)
    assert resolve("user-dev-blue", params_dir).service == "user"


def test_service_names_with_many_hyphens(params_dir) -> None:
    write_service(params_dir, "a-b-c-d", "prod")
    assert resolve("boot-a-b-c-d-prod", params_dir) == BootTarget("boot-a-b-c-d-prod", "prod", service="a-b-c-d")
    assert resolve("a-b-c-d-prod-e-f", params_dir).lane == "e-f"


def test_layer_files_are_not_services(params_dir) -> None:
    # boot-dev.json, infra-dev.json and pipelines-dev.json match "*-dev.json"
    # but are layer files: "boot-dev-gray" must not become a lane of "boot".
    from components.params import services

    assert services("dev", params_dir) == ["order-api", "user-api"]
    with pytest.raises(MultilaneError, match="does not name a"):
        resolve("boot-dev-gray", params_dir)
    with pytest.raises(MultilaneError, match="names env 'dev-gray'"):
        resolve("infra-dev-gray", params_dir)


@pytest.mark.parametrize(
    ("stack", "fragment"),
    [
        ("", "is not a lower-case name"),
        ("User-api-dev-gray", "is not a lower-case name"),
        ("user_api-dev-gray", "is not a lower-case name"),
        ("infra-qa", "names env 'qa', which has no params/infra-qa.json"),
        ("pipelines-staging", "names env 'staging'"),
        ("boot-payments-dev", "does not name a {service}-{env}"),
        ("payments-dev-gray", "does not start with a {service}-{env}"),
        ("user-api-dev", "does not start with a {service}-{env}"),
        ("user-api-staging-gray", "does not start with a {service}-{env}"),
        ("user-api-dev-gray-", "is not a lower-case name"),
        ("user-api-dev-1gray", "lane of stack 'user-api-dev-1gray' '1gray' is not a lane name"),
        ("user-api-dev-" + "x" * 41, "has 41 characters; use at most 40"),
    ],
)
def test_bad_names_fail_with_the_shapes_and_files(stack: str, fragment: str) -> None:
    with pytest.raises(MultilaneError) as err:
        resolve(stack)
    message = str(err.value)
    assert fragment in message
    if "lane of stack" not in message and "characters" not in message:
        assert "infra-{env}, boot-{service}-{env}, pipelines-{env} or {service}-{env}-{lane}" in message
        assert "user-api-dev.json" in message  # lists the params files found


@pytest.mark.parametrize("lane", ["gray", "blue", "default", "feature-login", "a1", "x" * 40])
def test_good_lanes(lane: str) -> None:
    assert check_lane(lane) == lane


@pytest.mark.parametrize(
    ("lane", "fragment"),
    [
        ("", "is empty"),
        ("Gray", "is not a lane name"),
        ("1gray", "is not a lane name"),
        ("gray-", "is not a lane name"),
        ("-gray", "is not a lane name"),
        ("gr_ay", "is not a lane name"),
        ("g", "is not a lane name"),
        ("x" * 41, "use at most 40"),
    ],
)
def test_bad_lanes(lane: str, fragment: str) -> None:
    with pytest.raises(MultilaneError, match=fragment):
        check_lane(lane)


def test_a_reading_with_an_impossible_lane_does_not_make_a_name_ambiguous(params_dir) -> None:
    # "a-dev-1b-dev-gray" could only be lane "1b-dev-gray" of a (not a lane
    # name: it starts with a digit), so it is lane gray of a-dev-1b.
    write_service(params_dir, "a", "dev")
    write_service(params_dir, "a-dev-1b", "dev")
    assert resolve("a-dev-1b-dev-gray", params_dir) == LaneTarget(
        "a-dev-1b-dev-gray", "dev", service="a-dev-1b", lane="gray"
    )
