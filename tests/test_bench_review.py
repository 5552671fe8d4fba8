"""bench/review.py's figures, recomputed here from the params files themselves."""

from __future__ import annotations

import json

import pytest

from bench import review
from components import params


def _json(name: str) -> dict:
    return json.loads((params.PARAMS_DIR / name).read_text())


def test_the_figures_follow_the_params() -> None:
    svc, boot = _json("user-api-dev.json"), _json("boot-dev.json")
    hc = {"healthyThreshold": 2, "intervalSeconds": 5, "timeoutSeconds": 4, **boot.get("healthCheck", {})}
    figures = {f.name: f for f in review.figures()}
    healthy = hc["healthyThreshold"] * hc["intervalSeconds"] + hc["timeoutSeconds"]
    push = figures["push to pr-1 answering, modeled"]
    assert push.value == pytest.approx(sum(review.ASSUMED.values()) + review.MEASURED_UP_S + healthy)
    # $0.04048 per vCPU-hour and $0.004445 per GB-hour, 24 hours, desiredCount.lane tasks
    per_day = (svc["cpu"] / 1024 * 0.04048 + svc["memory"] / 1024 * 0.004445) * 24 * svc["desiredCount"]["lane"]
    assert figures["idle lane per day, on-demand, always on"].value == pytest.approx(per_day)
    # the dev schedule keeps lanes awake 08:00-20:00 Monday to Friday: 60 of 168 hours
    assert _json("infra-dev.json")["lanes"]["sleep"]["sleepAt"] == "cron(0 20 ? * MON-FRI *)"
    assert figures["idle lane per day, on-demand, with sleep"].value == pytest.approx(per_day * 60 / 168)
    assert figures["idle lane per day, Spot at 70% off, with sleep"].value == pytest.approx(per_day * 60 / 168 * 0.3)
    assert "aws.amazon.com/fargate/pricing" in figures["idle lane per day, on-demand, always on"].detail
