"""Progressive promotion (issue #15) on the real engine, in the sandbox.

The runner runs as a process with its real adapter and its real metrics
source (automation/promotion.py's ``cloudwatch_metrics``: boto3 against the
sandbox's moto CloudWatch). The test writes the ALB metrics an ALB would
publish (moto computes no percentile statistics, so p99 stays unknown here:
the gate judges 5xx and alarms; the p99 comparison is covered through the
metrics seam in tests/test_promotion.py).
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from components import alarms, routing
from harness import alb_eval

from .conftest import Sandbox

pytestmark = pytest.mark.engine

BASE = ("infra-dev", "boot-user-api-dev", "user-api-dev-default")


def image(boot: dict, tag: str) -> str:
    return f"{boot['RepositoryUrl']}:{tag}"


def weighted_rules(sb: Sandbox, listener: str) -> list[routing.rules.Rule]:
    response = sb.client("elbv2").describe_rules(ListenerArn=listener)
    return [r for r in routing.rules.rules_from_describe_rules(response, listener) if r.forward]


def publish(sb: Sandbox, tg_arn: str, lb_arn: str, requests: float, errors: float) -> None:
    """What the ALB publishes once a minute, spread over the next minutes so
    every poll's 60-second window holds some of it."""
    dims = [
        {"Name": "TargetGroup", "Value": alarms.arn_suffix(tg_arn)},
        {"Name": "LoadBalancer", "Value": alarms.arn_suffix(lb_arn)},
    ]
    now = dt.datetime.now(dt.UTC)
    data = []
    for i in range(-2, 20):
        at = now + dt.timedelta(seconds=15 * i)
        data.append({"MetricName": "RequestCount", "Dimensions": dims, "Value": requests, "Timestamp": at})
        data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Value": errors, "Timestamp": at})
    cw = sb.client("cloudwatch")
    for chunk in range(0, len(data), 20):
        cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data[chunk : chunk + 20])


def test_progressive_promotion_breach_kill_switch_and_pass(sandbox: Sandbox) -> None:
    # Poll every 10 s, so a 20 s bake is two polls (the 2-of-3 gate needs two bad ones).
    path = sandbox.project / "params" / "user-api-dev.json"
    data = json.loads(path.read_text())
    data["promotion"] = {"pollSeconds": 10}
    path.write_text(json.dumps(data))

    sandbox.runner("up", *BASE)
    boot = sandbox.outputs("boot-user-api-dev")
    listener, lb = boot["HttpListenerArn"], boot["LoadBalancerArn"]
    sandbox.runner("up", "user-api-dev-gray", "--var", f"IMAGE_URI={image(boot, 'sha-ccccccc-b3')}")
    gray = sandbox.outputs("user-api-dev-gray")

    # --dry-run prints the plan and changes nothing.
    plan = sandbox.runner("promote", "user-api-dev", "gray", "--steps", "50,100", "--bake", "20", "--dry-run")
    assert plan.stdout.startswith("promote user-api-dev-gray in 2 steps, bake 20 s each, a poll every 10 s:")
    assert weighted_rules(sandbox, listener) == []

    # 1. Breach: gray answers 20 % 5xx, default 0.1 %: pulled back at step 1, exit 1, one line.
    publish(sandbox, gray["TargetGroupArn"], lb, 200, 40)
    publish(sandbox, boot["DefaultTargetGroupArn"], lb, 1000, 1)
    done = sandbox.runner("promote", "user-api-dev", "gray", "--steps", "50,100", "--bake", "20", check=False)
    assert done.returncode == 1, done.stderr
    [reason] = [line for line in done.stderr.splitlines() if line.startswith("promote: ")]
    assert reason.startswith("promote: promotion of user-api-dev-gray stopped at step 1/2 (weight 50): lane 5xx 20.00%")
    assert reason.endswith("weight set back to 0")
    assert "step 1/2 weight 50% bake 10s left | lane 5xx 20.00%" in done.stderr
    assert weighted_rules(sandbox, listener) == []
    assert sandbox.pulumi("config", "get", "multilane:weight", "-s", "user-api-dev-gray").stdout.strip() == "0"
    assert sandbox.outputs("user-api-dev-default")["ImageUri"] != gray["ImageUri"]

    # 2. A weight set by hand: the weighted rule as moto holds it, replayed.
    sandbox.pulumi("config", "set", "multilane:weight", "30", "-s", "user-api-dev-gray")
    sandbox.runner("up", "user-api-dev-gray")
    [rule] = weighted_rules(sandbox, listener)
    assert rule.forward == ((boot["DefaultTargetGroupArn"], 70), (gray["TargetGroupArn"], 30))
    assert rule.stickiness_seconds == 3600 and rule.paths == ("*",)
    assert rule.priority in routing.weighted.WEIGHTED_BAND
    response = sandbox.client("elbv2").describe_rules(ListenerArn=listener)
    rules = routing.rules.rules_from_describe_rules(response, listener)
    default_tg = routing.rules.default_target_from_describe_rules(response)
    rng = random.Random(30)
    n = 4000
    hits = sum(alb_eval.route(rules, default_tg, {}, alb_eval.Client(rng)) == gray["TargetGroupArn"] for _ in range(n))
    assert abs(hits - 0.3 * n) <= 5 * (n * 0.3 * 0.7) ** 0.5
    tester = alb_eval.Client(rng)
    assert alb_eval.route(rules, default_tg, {"tracestate": "ctx=lane:gray"}, tester) == gray["TargetGroupArn"]

    # 3. The kill switch: weight 0 at once, the rule is gone.
    sandbox.runner("promote", "--abort", "user-api-dev", "gray")
    assert weighted_rules(sandbox, listener) == []

    # 4. Pass: blue has no errors (no metrics, quiet alarms): every step, then today's promotion.
    blue_image = image(boot, "sha-ddddddd-b4")
    sandbox.runner("up", "user-api-dev-blue", "--var", f"IMAGE_URI={blue_image}")
    sandbox.runner("promote", "user-api-dev-blue", "--steps", "50,100", "--bake", "10")
    assert sandbox.outputs("user-api-dev-default")["ImageUri"] == blue_image
    stacks = sandbox.pulumi("stack", "ls", "--json").stdout
    assert "user-api-dev-blue" not in stacks
    assert weighted_rules(sandbox, listener) == []
