"""The lane's container: its image, command, hardening and task volumes.

Pure (no Pulumi resources): the task definition in ``service.py`` serialises
what these return, and the tests read them directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from components import naming
from components.errors import MultilaneError
from components.params import ServiceParams
from components.stackconfig import StackConfig
from components.stackname import LaneTarget


def pick_image(
    target: LaneTarget,
    configured: Iterable[tuple[str | None, str]],
    bootstrap_image: Callable[[], str | None],
    *,
    fixes: str,
) -> tuple[str, str]:
    """(image, where it comes from): the first configured image, else the
    service's bootstrapImage; else one sentence listing ``fixes`` and bootstrapImage.

    The one image precedence: the program passes its stack config, the runner
    the build's parameter file, the stack file and the image the lane runs now.
    ``configured`` and ``bootstrap_image`` are read lazily, in order.
    """
    for image, where in configured:
        if image:
            return image, where
    bootstrap = bootstrap_image()
    params_file = f"params/{target.service}-{target.env}.json"
    if bootstrap:
        return bootstrap, f"bootstrapImage of {params_file}"
    raise MultilaneError(f"lane stack {target.stack} has no image: {fixes} bootstrapImage in {params_file}")


def stack_file_name(stack: str) -> str:
    return f"stacks/Pulumi.{stack}.yaml"


def resolve_image(target: LaneTarget, config: StackConfig, svc: ServiceParams) -> str:
    """The lane's image: stack config, else the service's bootstrap image."""
    return pick_image(
        target,
        [(config.image_uri, stack_file_name(target.stack))],
        lambda: svc.bootstrap_image,
        fixes=f"set multilane:imageUri in {stack_file_name(target.stack)} "
        "(the runner sets it from the build's parameter file) or",
    )[0]


BOOTSTRAP_WORK_DIR = "/tmp"


def bootstrap_command(port: int) -> list[str]:
    """Command for a params bootstrapImage (an nginx image, params.BOOTSTRAP_REPOSITORIES):
    listen on the service's containerPort and answer 200 on every path, so the
    target group's health check on healthCheckPath passes before the app's
    first build exists. Config, pid and temp files live in /tmp and logs go to
    stdout/stderr, so it also runs hardened (read-only root with /tmp
    writable, non-root user on a port above 1024)."""
    t = BOOTSTRAP_WORK_DIR
    temp = " ".join(f"{kind}_temp_path {t}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = (
        f"pid {t}/nginx.pid; error_log /dev/stderr; events {{}} "
        f"http {{ access_log /dev/stdout; {temp} "
        f"server {{ listen {port}; location / {{ return 200 'multilane bootstrap'; }} }} }}"
    )
    return [
        "sh",
        "-c",
        f'printf "%s\\n" "{conf}" > {t}/nginx.conf && exec nginx -e /dev/stderr -c {t}/nginx.conf -g "daemon off;"',
    ]


def container_definitions(
    *,
    service: str,
    lane: str,
    image: str,
    svc: ServiceParams,
    log_group_name: str,
    region: str,
    production: bool = False,
) -> str:
    """The task definition's one container, as the JSON ECS expects.

    Secrets travel as ``valueFrom`` ARNs: ECS resolves them at start, the
    values never appear in params, state or the task definition. Hardening
    (read-only root, non-root user) follows :func:`hardening`.
    """
    container: dict[str, Any] = {
        "name": naming.container_name(service),
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": svc.container_port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(svc.environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(svc.secrets.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": region,
                # The article's per-lane log streams: {lane}/{container}/{task}.
                "awslogs-stream-prefix": lane,
            },
        },
    }
    readonly, user = hardening(svc, production)
    if svc.bootstrap_image and image == svc.bootstrap_image:
        container["command"] = bootstrap_command(svc.container_port)
    if readonly:
        container["readonlyRootFilesystem"] = True
        container["mountPoints"] = [
            {"sourceVolume": naming.writable_volume_name(i), "containerPath": path, "readOnly": False}
            for i, path in enumerate(svc.writable_paths)
        ]
    if user:
        container["user"] = user
    return json.dumps([container], sort_keys=True)


def hardening(svc: ServiceParams, production: bool) -> tuple[bool, str | None]:
    """(read-only root filesystem, user to run as) for one service: each on
    by default where the env is production, off elsewhere; params decide."""
    readonly = production if svc.readonly_root_filesystem is None else svc.readonly_root_filesystem
    non_root = production if svc.run_as_non_root is None else svc.run_as_non_root
    return readonly, svc.user if non_root else None


def task_volumes(svc: ServiceParams, production: bool) -> list[dict[str, str]]:
    """One task volume (Fargate ephemeral storage) per writable path of a read-only container."""
    if not hardening(svc, production)[0]:
        return []
    return [{"name": naming.writable_volume_name(i)} for i in range(len(svc.writable_paths))]
