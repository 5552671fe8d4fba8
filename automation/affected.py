"""Changed files -> the stacks a pull request can change (``pr-preview``).

The table (also in README "Runner and CI"):

| changed file                                  | stacks previewed                                                       |
|-----------------------------------------------|------------------------------------------------------------------------|
| components/**, __main__.py, Pulumi.yaml,      | every stack of every env in params/: infra, pipelines, boot, and every |
| requirements.txt                              | lane (default plus each lane stack the backend or stacks/ knows)       |
| params/infra-{env}.json                       | infra-{env}, pipelines-{env}                                           |
| params/boot-{env}.json                        | boot-{service}-{env} for every service of the env                      |
| params/{service}-{env}.json                   | boot-{service}-{env}, every lane of {service}-{env}, pipelines-{env}   |
| params/pipelines-{env}.json                   | pipelines-{env}                                                        |
| stacks/Pulumi.{stack}.yaml                    | {stack}                                                                |
| anything else (automation/, tests/, docs/...) | nothing                                                                |

Program code changes preview everything because any module may be imported
by any layer; params and stack files are precise. pipelines-{env} is only
listed where params/pipelines-{env}.json exists. A deleted params file still
maps by its name, so its stacks show up (and fail to resolve, visibly).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from components import naming, params, stackname
from components.errors import MultilaneError

PROGRAM_PREFIXES = ("components/",)
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml", "requirements.txt")


def _lanes(service: str, env: str, known: Iterable[str], params_dir: Path) -> list[str]:
    out = [naming.lane_stack(service, env, naming.DEFAULT_LANE)]
    for name in known:
        try:
            t = stackname.resolve(name, params_dir)
        except MultilaneError:
            continue
        if isinstance(t, stackname.LaneTarget) and t.service == service and t.env == env:
            out.append(name)
    return out


def _pipelines(env: str, params_dir: Path) -> list[str]:
    return [naming.pipelines_stack(env)] if params.pipelines_path(env, params_dir).is_file() else []


def _service_stacks(service: str, env: str, known: Iterable[str], params_dir: Path) -> list[str]:
    return [naming.boot_stack(service, env), *_lanes(service, env, known, params_dir)]


def all_stacks(known: Iterable[str], params_dir: Path = params.PARAMS_DIR) -> list[str]:
    known = list(known)
    out: list[str] = []
    for env in params.envs(params_dir):
        out += [naming.infra_stack(env), *_pipelines(env, params_dir)]
        for service in params.services(env, params_dir):
            out += _service_stacks(service, env, known, params_dir)
    return out


def _params_file(stem: str, known: list[str], params_dir: Path) -> list[str]:
    found = stackname.params_file(stem, params_dir)
    if found is None:
        return []
    kind, env, service = found
    if kind == "infra":
        return [naming.infra_stack(env), *_pipelines(env, params_dir)]
    if kind == "pipelines":
        return [naming.pipelines_stack(env)]
    if kind == "boot":
        return [naming.boot_stack(s, env) for s in params.services(env, params_dir)]
    return [*_service_stacks(service, env, known, params_dir), *_pipelines(env, params_dir)]


def affected_stacks(
    changed: Iterable[str], known: Iterable[str], params_dir: Path = params.PARAMS_DIR
) -> dict[str, list[str]]:
    """Stack -> the changed files that make it worth a preview, in a stable order."""
    known = sorted(set(known))
    reasons: dict[str, list[str]] = {}

    def add(stacks: Iterable[str], why: str) -> None:
        for s in stacks:
            reasons.setdefault(s, [])
            if why not in reasons[s]:
                reasons[s].append(why)

    for path in sorted(set(changed)):
        if path.startswith(PROGRAM_PREFIXES) or path in PROGRAM_FILES:
            add(all_stacks(known, params_dir), path)
        elif path.startswith("params/") and path.endswith(".json") and path.count("/") == 1:
            add(_params_file(path[len("params/") : -len(".json")], known, params_dir), path)
        elif path.startswith("stacks/Pulumi.") and path.endswith(".yaml") and path.count("/") == 1:
            add([path[len("stacks/Pulumi.") : -len(".yaml")]], path)
    order = {s: i for i, s in enumerate(all_stacks(known, params_dir))}
    return dict(sorted(reasons.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def known_stack_files(stacks_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))
