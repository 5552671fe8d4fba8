"""CodeBuild projects and CodePipeline pipelines."""

from __future__ import annotations

from typing import Any

from .core import Emulated, EmulationError, Request, drop_none, emulates


def _codebuild_tags(tags: dict[str, str] | None) -> list[dict[str, str]] | None:
    return [{"key": k, "value": v} for k, v in tags.items()] if tags else None


@emulates("aws:codebuild/project:Project")
def project(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    env, src, art = i["environment"], i["source"], i["artifacts"]
    logs = i.get("logsConfig") or {}
    cw = logs.get("cloudwatchLogs")
    # moto 5.2.5 demands a location for every source and artifacts type; for
    # CODEPIPELINE AWS ignores the location (CodePipeline hands the input
    # over), so give moto one only there and keep every other type strict.
    ignored = {"location": name}
    p = req.call(
        "codebuild",
        "create_project",
        name=name,
        source=drop_none(
            type=src["type"],
            location=src.get("location") or (ignored["location"] if src["type"] == "CODEPIPELINE" else None),
            buildspec=src.get("buildspec"),
            gitCloneDepth=src.get("gitCloneDepth"),
            reportBuildStatus=src.get("reportBuildStatus"),
        ),
        artifacts=drop_none(
            type=art["type"],
            location=art.get("location") or (ignored["location"] if art["type"] == "CODEPIPELINE" else None),
            name=art.get("name"),
        ),
        environment=drop_none(
            type=env["type"],
            image=env["image"],
            computeType=env["computeType"],
            environmentVariables=[
                drop_none(name=v["name"], value=v["value"], type=v.get("type")) for v in env["environmentVariables"]
            ]
            if env.get("environmentVariables")
            else None,
            privilegedMode=env.get("privilegedMode"),
            imagePullCredentialsType=env.get("imagePullCredentialsType"),
        ),
        serviceRole=i["serviceRole"],
        **drop_none(
            description=i.get("description"),
            timeoutInMinutes=i.get("buildTimeout"),
            queuedTimeoutInMinutes=i.get("queuedTimeout"),
            encryptionKey=i.get("encryptionKey"),
            concurrentBuildLimit=i.get("concurrentBuildLimit"),
            logsConfig=drop_none(
                cloudWatchLogs=drop_none(
                    status=cw["status"], groupName=cw.get("groupName"), streamName=cw.get("streamName")
                )
                if cw
                else None
            )
            or None,
            tags=_codebuild_tags(i.get("tags")),
        ),
    )["project"]

    def probe() -> Any:
        found = req.call("codebuild", "batch_get_projects", names=[name])["projects"]
        if not found:
            raise EmulationError(f"project {name} is gone")
        return found[0]

    return Emulated(
        name,
        req.state(arn=p["arn"], name=name, badgeUrl=""),
        delete=lambda: req.call("codebuild", "delete_project", name=name),
        probe=probe,
    )


def _artifact_store(s: dict[str, Any]) -> dict[str, Any]:
    key = s.get("encryptionKey")
    return drop_none(
        type=s["type"], location=s["location"], encryptionKey={"id": key["id"], "type": key["type"]} if key else None
    )


def _stage_action(a: dict[str, Any]) -> dict[str, Any]:
    return drop_none(
        name=a["name"],
        actionTypeId={
            "category": a["category"],
            "owner": a["owner"],
            "provider": a["provider"],
            "version": a["version"],
        },
        runOrder=a.get("runOrder"),
        configuration=a.get("configuration"),
        outputArtifacts=[{"name": n} for n in a.get("outputArtifacts") or []] or None,
        inputArtifacts=[{"name": n} for n in a.get("inputArtifacts") or []] or None,
        roleArn=a.get("roleArn"),
        region=a.get("region"),
        namespace=a.get("namespace"),
        timeoutInMinutes=a.get("timeoutInMinutes"),
    )


def _before_entry(before: dict[str, Any] | None) -> dict[str, Any] | None:
    """pulumi-aws's ``beforeEntry.condition`` (one) is the API's ``conditions`` list."""
    if not before:
        return None
    c = before["condition"]
    return {
        "conditions": [
            drop_none(
                result=c.get("result"),
                rules=[
                    drop_none(
                        name=r["name"],
                        ruleTypeId=drop_none(
                            category=r["ruleTypeId"]["category"],
                            owner=r["ruleTypeId"].get("owner"),
                            provider=r["ruleTypeId"]["provider"],
                            version=r["ruleTypeId"].get("version"),
                        ),
                        configuration=r.get("configuration"),
                        inputArtifacts=[{"name": n} for n in r.get("inputArtifacts") or []] or None,
                        region=r.get("region"),
                        roleArn=r.get("roleArn"),
                        timeoutInMinutes=r.get("timeoutInMinutes"),
                    )
                    for r in c["rules"]
                ],
            )
        ]
    }


def _trigger(t: dict[str, Any]) -> dict[str, Any]:
    def filters(git: dict[str, Any], key: str) -> Any:
        out = []
        for f in git.get(key) or []:
            out.append(
                drop_none(
                    branches=f.get("branches"),
                    filePaths=f.get("filePaths"),
                    tags=f.get("tags"),
                    events=f.get("events"),
                )
            )
        return out or None

    git = t["gitConfiguration"]
    return {
        "providerType": t["providerType"],
        "gitConfiguration": drop_none(
            sourceActionName=git["sourceActionName"],
            push=filters(git, "pushes"),
            pullRequest=filters(git, "pullRequests"),
        ),
    }


@emulates("aws:codepipeline/pipeline:Pipeline")
def pipeline(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=100)
    stores = i["artifactStores"]
    pipeline: dict[str, Any] = {
        "name": name,
        "roleArn": i["roleArn"],
        "stages": [
            drop_none(
                name=s["name"],
                actions=[_stage_action(a) for a in s["actions"]],
                beforeEntry=_before_entry(s.get("beforeEntry")),
            )
            for s in i["stages"]
        ],
    }
    # One store without a region is the API's artifactStore; several are artifactStores by region.
    if len(stores) == 1 and not stores[0].get("region"):
        pipeline["artifactStore"] = _artifact_store(stores[0])
    else:
        pipeline["artifactStores"] = {s["region"]: _artifact_store(s) for s in stores}
    pipeline.update(
        drop_none(
            pipelineType=i.get("pipelineType"),
            executionMode=i.get("executionMode"),
            variables=[
                drop_none(name=v["name"], defaultValue=v.get("defaultValue"), description=v.get("description"))
                for v in i["variables"]
            ]
            if i.get("variables")
            else None,
            triggers=[_trigger(t) for t in i["triggers"]] if i.get("triggers") else None,
        )
    )
    tags = [{"key": k, "value": v} for k, v in (i.get("tags") or {}).items()]
    answer = req.call("codepipeline", "create_pipeline", pipeline=pipeline, **({"tags": tags} if tags else {}))
    arn = req.arn("codepipeline", name)
    return Emulated(
        name,
        req.state(arn=arn, name=name, version=answer["pipeline"].get("version", 1)),
        delete=lambda: req.call("codepipeline", "delete_pipeline", name=name),
        probe=lambda: req.call("codepipeline", "get_pipeline", name=name)["pipeline"],
    )
