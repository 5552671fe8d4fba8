"""pipelines-dev created in moto: bucket, roles and policies, CodeBuild, CodePipeline."""

from __future__ import annotations

import json

import pytest

from components import naming
from emulator import Emulator

pytestmark = pytest.mark.e2e

ENV = "dev"


def test_pipelines_stack_is_created_in_moto_and_every_policy_document_is_accepted(aws: Emulator) -> None:
    rec = aws.run(naming.pipelines_stack(ENV))
    assert set(aws.probe(rec)) == {r.urn for r in rec.resources}
    s3, iam = aws.client("s3"), aws.client("iam")
    codebuild, codepipeline = aws.client("codebuild"), aws.client("codepipeline")

    # The artifact bucket: private, encrypted, versioned, TLS only, as moto stores it.
    bucket = rec.outputs["ArtifactBucketName"]
    assert bucket.startswith(naming.artifact_bucket_prefix(ENV)) and len(bucket) <= 63
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert any(
        st["Effect"] == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for st in policy["Statement"]
    )

    # Every inline policy the stack registered is stored by moto (which
    # rejects malformed documents) exactly as registered.
    registered = rec.of_type("aws:iam/rolePolicy:RolePolicy")
    assert registered
    for reg in registered:
        stored = iam.get_role_policy(RoleName=reg.inputs["role"], PolicyName=reg.state["name"])["PolicyDocument"]
        assert stored == json.loads(reg.inputs["policy"])
    for reg in rec.of_type("aws:iam/role:Role"):
        assert iam.get_role(RoleName=reg.id)["Role"]["AssumeRolePolicyDocument"] == json.loads(
            reg.inputs["assumeRolePolicy"]
        )

    # CodeBuild projects run as existing roles; pipelines point at existing projects and the bucket.
    projects = {
        p["name"]: p for p in codebuild.batch_get_projects(names=codebuild.list_projects()["projects"])["projects"]
    }
    assert set(projects) == {r.id for r in rec.of_type("aws:codebuild/project:Project")}
    for p in projects.values():
        iam.get_role(RoleName=p["serviceRole"].rsplit("/", 1)[1])
    names = rec.outputs["PipelineNames"]
    assert sorted(p["name"] for p in codepipeline.list_pipelines()["pipelines"]) == sorted(names)
    for name in names:
        pipe = codepipeline.get_pipeline(name=name)["pipeline"]
        assert pipe["artifactStore"]["location"] == bucket
        iam.get_role(RoleName=pipe["roleArn"].rsplit("/", 1)[1])
        built = [
            a["configuration"]["ProjectName"]
            for stage in pipe["stages"]
            for a in stage["actions"]
            if a["actionTypeId"]["provider"] == "CodeBuild"
        ]
        assert built and set(built) <= set(projects), name
    # The article's defect 3: lanes of one service must not supersede each other
    # (and one service's boot pipeline runs beside another's); infra and the reaper queue.
    for svc_pipeline in (
        n for n in names if n not in (naming.infra_pipeline_name(ENV), naming.reaper_pipeline_name(ENV))
    ):
        assert codepipeline.get_pipeline(name=svc_pipeline)["pipeline"]["executionMode"] == "PARALLEL"
    # Review pipelines: their Remove/Build/Deploy entry conditions reach moto as the API's beforeEntry.
    review = codepipeline.get_pipeline(name=naming.review_pipeline_name("user-api", ENV))["pipeline"]
    entry = {st["name"]: st.get("beforeEntry") for st in review["stages"]}
    assert entry["Remove"]["conditions"][0]["rules"][0]["configuration"]["Operator"] == "EQ"
    assert entry["Build"]["conditions"][0]["result"] == "SKIP"
    # The reaper's schedule starts the reaper pipeline with its own role.
    sched = aws.client("scheduler").get_schedule(Name=naming.reaper_schedule_name(ENV))
    assert sched["Target"]["Arn"].endswith(f":{naming.reaper_pipeline_name(ENV)}")
    assert sched["Target"]["RoleArn"].endswith(f"/{naming.scheduler_role_name(ENV)}")
