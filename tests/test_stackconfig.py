"""Optional stack config keys: defaults, validation, one sentence per error."""

from __future__ import annotations

import pytest

from components.errors import MultilaneError
from components.stackconfig import StackConfig, parse


def test_defaults_when_nothing_is_set() -> None:
    assert parse("user-api-dev-gray", {}) == StackConfig(org="organization", image_uri=None, priority=None)
    # Pulumi.yaml's declared defaults ("" and 0) mean "not set".
    assert parse("user-api-dev-gray", {"imageUri": "", "priority": "0"}) == StackConfig()


def test_values_are_parsed() -> None:
    image = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc123"
    cfg = parse("user-api-dev-gray", {"imageUri": image, "priority": "1234", "stackOrg": "acme"})
    assert cfg == StackConfig(org="acme", image_uri=image, priority=1234)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"imageUri": "user-api"}, "stacks/Pulumi.user-api-dev-gray.yaml: multilane:imageUri 'user-api' is not an image"),
        ({"priority": "high"}, "multilane:priority 'high' is not a whole number"),
        ({"priority": "50001"}, "multilane:priority 50001 is outside 1..50000"),
        ({"stackOrg": "a b"}, "multilane:stackOrg 'a b' is not an organization name"),
    ],
)
def test_bad_values(raw: dict, fragment: str) -> None:
    with pytest.raises(MultilaneError) as err:
        parse("user-api-dev-gray", raw)
    assert fragment in str(err.value)
