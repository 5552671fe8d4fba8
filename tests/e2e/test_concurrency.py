"""20 lane stacks of one service created at once against one moto server.

Each lane runs in its own process (Pulumi's runtime settings are
process-global), all against one moto ThreadedMotoServer on 127.0.0.1 that
this module starts and stops. The workers wait on one barrier, then each does
what the runner does: reads the listener's live rules, plans its priority
(automation.priority), runs the lane stack, and on PriorityInUse re-reads and
retries once, counting it.
"""

from __future__ import annotations

import logging
import multiprocessing
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from moto.server import ThreadedMotoServer

from components import naming, routing
from emulator import Emulator
from emulator.core import REGION
from harness import alb_eval

from .conftest import ENV, SERVICE
from .lane_worker import create_lane, init_worker

pytestmark = pytest.mark.e2e

LANES = [f"feature-{i:02d}" for i in range(1, 21)]


def _reset(url: str) -> None:
    # The server shares moto's process-wide backends: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per API call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_server(server_url: str) -> str:
    """The shared server, emptied for this test."""
    _reset(server_url)
    return server_url


def _lower_layers(endpoint: str) -> tuple[Emulator, dict, dict]:
    emu = Emulator(endpoint_url=endpoint)
    infra = emu.run(naming.infra_stack(ENV))
    refs = {naming.stack_ref(naming.infra_stack(ENV)): infra.outputs}
    boot = emu.run(naming.boot_stack(SERVICE, ENV), references=refs)
    refs[naming.stack_ref(naming.boot_stack(SERVICE, ENV))] = boot.outputs
    return emu, refs, boot.outputs


def _create_at_once(endpoint: str, refs: dict, repository: str, lanes: list[str]) -> list[dict]:
    """Create ``lanes`` at the same moment, one process each."""
    jobs = [
        {
            "endpoint": endpoint,
            "region": REGION,
            "service": SERVICE,
            "env": ENV,
            "lane": lane,
            "references": refs,
            "image": f"{repository}:sha-{i:07x}",
        }
        for i, lane in enumerate(lanes)
    ]
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.e2e.lane_worker"])
    start = ctx.Barrier(len(lanes))
    with ProcessPoolExecutor(
        max_workers=len(lanes), mp_context=ctx, initializer=init_worker, initargs=(start,)
    ) as pool:
        return list(pool.map(create_lane, jobs))


def test_twenty_lanes_created_at_once_get_distinct_priorities_and_names(moto_server: str) -> None:
    # The chosen names' deterministic slots differ: that, not a lock, is what
    # keeps concurrent lanes from PriorityInUse.
    desired = {lane: routing.priorities.allocate_priorities(SERVICE, lane, 1)[0] for lane in LANES}
    assert len(set(desired.values())) == len(LANES)

    emu, refs, boot = _lower_layers(moto_server)
    results = _create_at_once(moto_server, refs, boot["RepositoryUrl"], LANES)

    assert [r["lane"] for r in results] == LANES
    assert sum(r["priority_in_use"] for r in results) == 0
    # Each lane got the priority it planned from the listener it read.
    assert all(r["outputs"]["RulePriority"] == r["planned"][0] for r in results)
    assert all(r["placeholders"] == [] for r in results)
    # Zero name collisions: every resource kind has 20 distinct physical names.
    per_kind: dict[str, list[str]] = {}
    for r in results:
        for kind, name in r["names"].items():
            per_kind.setdefault(kind, []).append(name)
    for kind, names in per_kind.items():
        assert len(names) == len(LANES), kind
        assert [n for n, c in Counter(names).items() if c > 1] == [], kind

    # The listener holds 20 distinct rules, each routing its lane to its own target group.
    stored = emu.client("elbv2").describe_rules(ListenerArn=boot["HttpListenerArn"])
    rules = routing.rules.rules_from_describe_rules(stored)
    default = routing.rules.default_target_from_describe_rules(stored)
    assert len(rules) == len(LANES)
    assert len({r.priority for r in rules}) == len(LANES)
    assert {r.priority for r in rules} == {r["outputs"]["RulePriority"] for r in results}
    assert {r["outputs"]["RulePriority"] for r in results} == set(desired.values())
    targets = {r["lane"]: r["outputs"]["TargetGroupArn"] for r in results}
    assert len(set(targets.values())) == len(LANES)
    for lane, target in targets.items():
        assert alb_eval.evaluate(rules, default, {"tracestate": f"vendor=x,ctx=lane:{lane}"}) == target
    assert alb_eval.evaluate(rules, default, {"tracestate": "ctx=lane:feature-2"}) == default


def test_two_lanes_on_one_slot_at_once_hit_priority_in_use_once_and_retry(moto_server: str) -> None:
    """The counter above is live: two lanes whose deterministic slots collide
    (found by search, 7587 for both) meet PriorityInUse exactly once; the
    loser undoes its partial stack, re-reads the listener and gets a free slot."""
    pair = ["fix-37", "fix-149"]
    (a,), (b,) = (routing.priorities.allocate_priorities(SERVICE, lane, 1) for lane in pair)
    assert a == b
    emu, refs, boot = _lower_layers(moto_server)
    results = _create_at_once(moto_server, refs, boot["RepositoryUrl"], pair)
    assert sorted(r["priority_in_use"] for r in results) == [0, 1]
    priorities = {r["outputs"]["RulePriority"] for r in results}
    assert a in priorities and len(priorities) == 2
    stored = emu.client("elbv2").describe_rules(ListenerArn=boot["HttpListenerArn"])
    rules = routing.rules.rules_from_describe_rules(stored)
    assert sorted(r.priority for r in rules) == sorted(priorities)
    # Nothing of the failed attempt is left behind: one target group per lane plus the default.
    groups = emu.client("elbv2").describe_target_groups()["TargetGroups"]
    assert len(groups) == len(pair) + 1
