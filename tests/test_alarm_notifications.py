"""Every alarm notifies the env's SNS topic (issue 11, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components import naming, params
from components.errors import MultilaneError
from harness.offline import placeholder_outputs, run_stack
from tests.conftest import edit_json

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EXISTING = "arn:aws:sns:ap-southeast-2:123456789012:oncall-dev"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_infra_creates_the_envs_alarm_topic_with_the_params_subscribers(env: str):
    rec = run_stack(f"infra-{env}")
    topic = rec.one(TOPIC)
    assert topic.inputs["name"] == naming.alarm_topic_name(env) == f"multilane-{env}-alarms"
    wanted = params.load_infra(env).alarm_notifications.subscribers
    assert wanted
    # Registrations arrive from the SDK's worker threads: compare as sets of pairs.
    subs = sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in rec.of_type(SUBSCRIPTION))
    assert subs == sorted((s.protocol, s.endpoint) for s in wanted)
    assert rec.outputs["AlarmTopicArn"] == topic.state["arn"]


@pytest.mark.parametrize(
    "stack", ["boot-user-api-dev", "user-api-dev-default", "user-api-dev-gray", "order-api-dev-gray"]
)
def test_every_boot_and_lane_alarm_notifies_the_topic(stack: str):
    rec = run_stack(stack)
    topic = placeholder_outputs("infra-dev")["AlarmTopicArn"]
    found = rec.of_type(ALARM)
    assert found
    for alarm in found:
        assert alarm.inputs["alarmActions"] == [topic], alarm.name
        assert alarm.inputs["okActions"] == [topic], alarm.name


def test_an_existing_topic_from_params_is_used_as_is(params_dir: Path):
    edit_json(params_dir / "infra-dev.json", lambda d: d.update(alarmNotifications={"topicArn": EXISTING}))
    rec = run_stack("infra-dev", params_dir=params_dir)
    assert not rec.of_type(TOPIC) and not rec.of_type(SUBSCRIPTION)
    assert rec.outputs["AlarmTopicArn"] == EXISTING


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({}, "alarms notify no one"),
        ({"subscribers": []}, "alarms notify no one"),
        ({"topicArn": "oncall"}, "is not an SNS topic ARN"),
        ({"subscribers": [{"protocol": "email", "endpoint": "nobody"}]}, "'nobody' is not a email endpoint"),
        ({"subscribers": [{"protocol": "https", "endpoint": "http://x.example"}]}, "is not a https endpoint"),
        ({"topicArn": EXISTING, "subscribers": [{"protocol": "email", "endpoint": "a@b.example"}]}, "not both"),
    ],
)
def test_alarm_notifications_that_reach_no_one_are_refused(params_dir: Path, value: dict, fragment: str):
    edit_json(params_dir / "infra-dev.json", lambda d: d.update(alarmNotifications=value))
    with pytest.raises(MultilaneError) as err:
        run_stack("infra-dev", params_dir=params_dir)
    assert str(err.value).startswith("params/infra-dev.json: ")
    assert fragment in str(err.value)
    assert err.value.registered == []


def test_infra_params_must_say_who_hears_alarms(params_dir: Path):
    edit_json(params_dir / "infra-dev.json", lambda d: d.pop("alarmNotifications"))
    with pytest.raises(MultilaneError, match="required key 'alarmNotifications' is missing"):
        params.load_infra("dev", params_dir)
