"""One lane stack created against the shared moto server, in its own process.

Pulumi's runtime settings are process-global, so the concurrency test runs
each lane here, in a worker forked from a forkserver that has already
imported this module (and so Pulumi, pulumi-aws and the botocore models): a
worker costs the run, not the imports.

What a worker does is what the runner does before and during ``up``: read
the listener's live rules (as automation.priority.boto3_rules_source
does, on this process's warm client), let automation.priority plan (pinning
``multilane:priority`` when the program's slot is held), run the stack, and
on PriorityInUse re-read, re-plan avoiding the slot it tried, and retry once.
"""

from __future__ import annotations

from typing import Any

import pulumi.runtime.mocks  # noqa: F401 (preloaded by the forkserver)
import pulumi_aws

import components.layers.lane.component  # noqa: F401
import harness.offline  # noqa: F401
from automation import priority
from components import naming, params, routing
from emulator import EmulationError, Emulator

SERVICES = ("elbv2", "ecs", "iam", "cloudwatch", "sts")
# Load the models, endpoint rules and paginators once, before forking: a
# client built from the warm session costs milliseconds, a cold one ~0.2 s.
_warm = Emulator(endpoint_url="http://127.0.0.1:9")
for _service in SERVICES:
    _warm.client(_service)
del _warm
# pulumi-aws loads each resource class on first use: touch the lane's now.
# (Never run a stack here: the event loop's executor threads would not
# survive the fork and the workers would hang.)
_LANE_CLASSES = (
    pulumi_aws.lb.TargetGroup,
    pulumi_aws.lb.ListenerRule,
    pulumi_aws.ecs.TaskDefinition,
    pulumi_aws.ecs.Service,
    pulumi_aws.iam.Role,
    pulumi_aws.iam.RolePolicy,
    pulumi_aws.cloudwatch.MetricAlarm,
)


def live_rules(emulator: Emulator, listener_arn: str) -> list[priority.LiveRule]:
    """What the runner's boto3 rules source reads, on the emulator's warm client."""
    return priority.rules_of_listener(emulator.client("elbv2"), listener_arn)


_start: Any = None  # a multiprocessing Barrier shared by every worker of a run


def init_worker(start: Any) -> None:
    """ProcessPoolExecutor initializer: keep the barrier all workers wait on."""
    global _start
    _start = start


def create_lane(job: dict[str, Any]) -> dict[str, Any]:
    endpoint = job["endpoint"]
    if _start is not None:
        # Every lane starts only when all of them are ready.
        _start.wait(timeout=120)
    service, env, lane = job["service"], job["env"], job["lane"]
    references = job["references"]
    listener = references[naming.stack_ref(naming.boot_stack(service, env))]["HttpListenerArn"]
    count = len(routing.carriers.lane_rule_conditions(lane, params.load_service(service, env).lane_carriers))
    emulator = Emulator(endpoint_url=endpoint, region=job["region"])
    avoid: dict[int, str] = {}
    priority_in_use = 0
    for attempt in (1, 2):
        rules = live_rules(emulator, listener)
        plan = priority.plan(routing.priorities.allocate_priorities, service, lane, count, rules, None, avoid=avoid)
        if attempt == 1 and _start is not None:
            # ...and none creates anything before all have read the listener:
            # the worst case for a lock-free allocation, on purpose.
            _start.wait(timeout=120)
        config = {"imageUri": job["image"]}
        if plan.pin is not None:
            config["priority"] = plan.pin
        try:
            recording = emulator.run(naming.lane_stack(service, env, lane), references=references, config=config)
        except EmulationError as err:
            if "PriorityInUse" not in str(err) or attempt == 2:
                raise
            priority_in_use += 1
            emulator.rollback()  # what the failed run created, newest first
            avoid = {p: "(PriorityInUse)" for p in plan.live}
            continue
        return {
            "lane": lane,
            "outputs": recording.outputs,
            "planned": plan.live,
            "pinned": plan.pin,
            "priority_in_use": priority_in_use,
            "placeholders": recording.placeholder_references,
            "names": {
                reg.type + " " + reg.name: reg.state.get("name") or reg.state.get("family") or reg.id
                for reg in recording.resources
            },
        }
    raise AssertionError("unreachable")
