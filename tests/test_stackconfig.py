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
        (
            {"imageUri": "user-api"},
            "stacks/Pulumi.user-api-dev-gray.yaml: multilane:imageUri 'user-api' is not an image",
        ),
        ({"priority": "high"}, "multilane:priority 'high' is not a whole number"),
        ({"priority": "50001"}, "multilane:priority 50001 is outside 1..50000"),
        ({"stackOrg": "a b"}, "multilane:stackOrg 'a b' is not an organization name"),
    ],
)
def test_bad_values(raw: dict, fragment: str) -> None:
    with pytest.raises(MultilaneError) as err:
        parse("user-api-dev-gray", raw)
    assert fragment in str(err.value)


def test_stack_files_are_read_like_pulumi_up_reads_them(tmp_path) -> None:
    from components.stackconfig import stack_file_config
    from harness.offline import config_for

    assert stack_file_config("user-api-dev-gray", tmp_path) == {}
    (tmp_path / "Pulumi.user-api-dev-gray.yaml").write_text(
        "config:\n  multilane:priority: 4321\n  aws:secretKey:\n    secure: AAAA\n"
    )
    assert stack_file_config("user-api-dev-gray", tmp_path) == {"multilane:priority": 4321}
    assert config_for("x", {"multilane:priority": 4321, "imageUri": "a/b:c"}) == {
        "multilane:priority": "4321",
        "multilane:imageUri": "a/b:c",
    }
    (tmp_path / "Pulumi.user-api-dev-gray.yaml").write_text("config: [1, 2]\n")
    with pytest.raises(MultilaneError, match="'config' must be a map"):
        stack_file_config("user-api-dev-gray", tmp_path)


def test_shipped_example_stack_file_is_valid() -> None:
    from components.stackconfig import STACKS_DIR, stack_file_config

    raw = stack_file_config("user-api-dev-blue", STACKS_DIR)
    cfg = parse("user-api-dev-blue", {k.split(":", 1)[1]: str(v) for k, v in raw.items()})
    assert cfg.priority == 3000 and cfg.image_uri and cfg.image_uri.endswith(":sha-0b1ue00")


def test_the_program_refuses_multilane_keys_it_does_not_read() -> None:
    # What `pulumi up` hands the program (stack file or `pulumi config set`):
    # a typo is refused with a did-you-mean before anything is registered.
    from harness.offline import run_stack

    with pytest.raises(
        MultilaneError, match=r"multilane:prioirty is not a config key .* did you mean 'priority'\?"
    ) as err:
        run_stack("user-api-dev-gray", config={"multilane:prioirty": "5"})
    assert err.value.registered == []
