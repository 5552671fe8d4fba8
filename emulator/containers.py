"""ECR repositories and their lifecycle policies."""

from __future__ import annotations

from .core import Emulated, Request, drop_none, emulates, tag_list


@emulates("aws:ecr/repository:Repository")
def repository(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=256)
    enc = (i.get("encryptionConfigurations") or [None])[0]
    repo = req.call(
        "ecr",
        "create_repository",
        repositoryName=name,
        **drop_none(
            imageTagMutability=i.get("imageTagMutability"),
            imageScanningConfiguration={"scanOnPush": bool(i["imageScanningConfiguration"].get("scanOnPush"))}
            if i.get("imageScanningConfiguration")
            else None,
            encryptionConfiguration=drop_none(encryptionType=enc["encryptionType"], kmsKey=enc.get("kmsKey") or None)
            if enc
            else None,
            tags=tag_list(i.get("tags")) or None,
        ),
    )["repository"]
    return Emulated(
        name,
        req.state(
            arn=repo["repositoryArn"],
            name=name,
            registryId=repo["registryId"],
            repositoryUrl=repo["repositoryUri"],
        ),
        delete=lambda: req.call("ecr", "delete_repository", repositoryName=name, force=bool(i.get("forceDelete"))),
        probe=lambda: req.call("ecr", "describe_repositories", repositoryNames=[name])["repositories"][0],
    )


@emulates("aws:ecr/lifecyclePolicy:LifecyclePolicy")
def lifecycle_policy(req: Request) -> Emulated:
    i = req.inputs
    repo = i["repository"]
    answer = req.call("ecr", "put_lifecycle_policy", repositoryName=repo, lifecyclePolicyText=i["policy"])
    return Emulated(
        repo,
        req.state(registryId=answer["registryId"]),
        delete=lambda: req.call("ecr", "delete_lifecycle_policy", repositoryName=repo),
        probe=lambda: req.call("ecr", "get_lifecycle_policy", repositoryName=repo)["lifecyclePolicyText"],
    )
