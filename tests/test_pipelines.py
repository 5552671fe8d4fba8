"""The pipelines-{env} stack under the recording harness (harness/offline.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import iam, naming, params
from components.errors import MultilaneError
from components.layers.pipelines import stages as pipelines
from components.program import run as run_program
from harness.offline import Recording, run_stack
from tests.conftest import edit_json
from tests.iam_eval import ALLOW, EXPLICIT_DENY, evaluate

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VAR_REF = re.compile(r"#\{([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\}")


@pytest.fixture(scope="module")
def dev() -> Recording:
    return run_stack("pipelines-dev")


def pipeline(rec: Recording, name: str) -> dict:
    [found] = [r.inputs for r in rec.of_type(PIPELINE) if r.inputs["name"] == name]
    return found


def action(pipe: dict, stage: str, name: str) -> dict:
    [st] = [s for s in pipe["stages"] if s["name"] == stage]
    [act] = [a for a in st["actions"] if a["name"] == name]
    return act


def action_env(act: dict) -> dict[str, str]:
    return {v["name"]: v["value"] for v in json.loads(act["configuration"]["EnvironmentVariables"])}


def project(rec: Recording, name: str) -> dict:
    [found] = [r.inputs for r in rec.of_type(PROJECT) if r.inputs["name"] == name]
    return found


def project_env(proj: dict) -> dict[str, str]:
    return {v["name"]: v["value"] for v in proj["environment"]["environmentVariables"]}


def role_policy(rec: Recording, role_name: str) -> dict:
    """The role's inline policy together with its attached guard policy (the Denies)."""
    [role] = [r for r in rec.of_type(ROLE) if r.inputs["name"] == role_name]
    [policy] = [r for r in rec.of_type(ROLE_POLICY) if r.inputs["role"] == role.id]
    doc = json.loads(policy.inputs["policy"])
    guards = [
        r
        for r in rec.of_type("aws:iam/policy:Policy")
        if r.inputs["name"] == naming.pipeline_guard_policy_name(role_name)
    ]
    for guard in guards:
        doc["Statement"] += json.loads(guard.inputs["policy"])["Statement"]
    return doc


# --- the three kinds of pipeline ---------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_one_infra_one_boot_and_one_app_pipeline_per_service(env):
    rec = run_stack(f"pipelines-{env}")
    services = params.services(env)
    assert len(services) >= 2
    expected = [f"infra-{env}", f"boot-{env}", *(f"{s}-{env}" for s in services)]
    assert sorted(r.inputs["name"] for r in rec.of_type(PIPELINE)) == sorted(expected)
    assert rec.outputs["PipelineNames"] == expected
    assert rec.outputs["ArtifactBucketName"].startswith(naming.artifact_bucket_prefix(env))
    assert {r.inputs["pipelineType"] for r in rec.of_type(PIPELINE)} == {"V2"}
    dual = [r for r in rec.registrations if r.type == "multilane:pipelines:DualSourcePipeline"]
    assert sorted(r.name for r in dual) == sorted(services)


def test_a_new_service_params_file_adds_its_pipeline(params_dir):
    import shutil

    shutil.copy(params_dir / "user-api-dev.json", params_dir / "payments-dev.json")
    edit_json(params_dir / "payments-dev.json", lambda d: d["app"].update(repository="acme/payments", branch="trunk"))
    rec = run_stack("pipelines-dev", params_dir=params_dir)
    pipe = pipeline(rec, "payments-dev")
    assert pipe["executionMode"] == "PARALLEL"
    src = action(pipe, "Source", "AppSource")["configuration"]
    assert src["FullRepositoryId"] == "acme/payments" and src["BranchName"] == "trunk"
    assert "payments-dev" in rec.outputs["PipelineNames"]
    assert project(rec, naming.app_codebuild_project_name("payments", "dev", "deploy"))


def test_app_and_boot_pipelines_run_in_parallel_mode_infra_queues(dev):
    for service in params.services("dev"):
        assert pipeline(dev, f"{service}-dev")["executionMode"] == "PARALLEL"
    assert pipeline(dev, "boot-dev")["executionMode"] == "PARALLEL"
    assert pipeline(dev, "infra-dev")["executionMode"] == "QUEUED"


def test_pipeline_variables(dev):
    boot = pipeline(dev, "boot-dev")
    [service_var] = boot["variables"]
    assert service_var["name"] == "SERVICE" and "defaultValue" not in service_var  # required at start
    for service in params.services("dev"):
        svc = params.load_service(service, "dev")
        variables = {v["name"]: v.get("defaultValue") for v in pipeline(dev, f"{service}-dev")["variables"]}
        # No BRANCH variable: AppSource always fetches app.branch, so a variable
        # naming another branch would label an image built from app.branch.
        assert variables == {"SERVICE": service, "LANE": "default"}
        assert action(pipeline(dev, f"{service}-dev"), "Source", "AppSource")["configuration"]["BranchName"] == (
            svc.app.branch
        )
    assert "variables" not in pipeline(dev, "infra-dev") or not pipeline(dev, "infra-dev")["variables"]


def test_the_app_pipeline_is_dual_source(dev):
    pp = params.load_pipelines("dev")
    for service in params.services("dev"):
        svc = params.load_service(service, "dev")
        pipe = pipeline(dev, f"{service}-dev")
        assert [s["name"] for s in pipe["stages"]] == ["Source", "Build", "Deploy"]
        infra_src = action(pipe, "Source", "InfraSource")
        app_src = action(pipe, "Source", "AppSource")
        for act, repo, branch, out in (
            (infra_src, pp.infra_repository.repository, pp.infra_repository.branch, "InfraOut"),
            (app_src, svc.app.repository, svc.app.branch, "AppOut"),
        ):
            assert act["provider"] == "CodeStarSourceConnection" and act["category"] == "Source"
            assert act["outputArtifacts"] == [out]
            assert act["configuration"]["ConnectionArn"] == pp.connection_arn
            assert act["configuration"]["FullRepositoryId"] == repo
            assert act["configuration"]["BranchName"] == branch
            # Lane releases start explicitly, never on a push.
            assert act["configuration"]["DetectChanges"] == "false"

        build = action(pipe, "Build", "Build")
        assert build["provider"] == "CodeBuild"
        assert build["inputArtifacts"] == ["InfraOut", "AppOut"]
        assert build["configuration"]["PrimarySource"] == "InfraOut"
        assert build["configuration"]["ProjectName"] == naming.app_codebuild_project_name(service, "dev", "build")
        assert build["namespace"] == pipelines.BUILD_NAMESPACE
        assert build["outputArtifacts"] == ["BuildOut"]
        env = action_env(build)
        assert env["SERVICE_NAME"] == service and env["APP_ENV"] == "dev"
        assert env["LANE"] == "#{variables.LANE}" and "BRANCH" not in env
        # The branch the source action fetched, not a user's claim about it.
        assert env["APP_BRANCH"] == "#{AppSourceVariables.BranchName}"
        assert env["APP_COMMIT"] == "#{AppSourceVariables.CommitId}"

        deploy = action(pipe, "Deploy", "Deploy")
        assert deploy["inputArtifacts"] == ["InfraOut", "BuildOut"]
        assert deploy["configuration"]["PrimarySource"] == "InfraOut"
        assert deploy["configuration"]["ProjectName"] == naming.app_codebuild_project_name(service, "dev", "deploy")
        denv = action_env(deploy)
        assert denv["DEPLOY_STACK"] == f"{service}-dev-#{{variables.LANE}}"
        assert denv["IMAGE_URI"] == "#{BuildVariables.IMAGE_TAG_URI}"
        assert denv["BRANCH"] == "#{AppSourceVariables.BranchName}"


def test_layer_pipelines_deploy_their_stack(dev):
    infra = pipeline(dev, "infra-dev")
    assert action_env(action(infra, "Deploy", "Deploy"))["DEPLOY_STACK"] == "infra-dev"
    boot = pipeline(dev, "boot-dev")
    benv = action_env(action(boot, "Deploy", "Deploy"))
    assert benv["DEPLOY_STACK"] == "boot-#{variables.SERVICE}-dev"
    for pipe in (infra, boot):
        assert [a["name"] for a in pipe["stages"][0]["actions"]] == ["InfraSource"]
        assert action(pipe, "Deploy", "Deploy")["inputArtifacts"] == ["InfraOut"]


def test_only_the_infra_pipeline_has_a_git_trigger(dev):
    pp = params.load_pipelines("dev")
    [trigger] = pipeline(dev, "infra-dev")["triggers"]
    assert trigger["providerType"] == "CodeStarSourceConnection"
    git = trigger["gitConfiguration"]
    assert git["sourceActionName"] == "InfraSource"
    assert git["pushes"] == [{"branches": {"includes": [pp.infra_repository.branch]}}]
    for r in dev.of_type(PIPELINE):
        if r.inputs["name"] != "infra-dev":
            assert not r.inputs.get("triggers")


def test_every_artifact_and_variable_reference_resolves(dev):
    exported = set(yaml.safe_load((ROOT / pipelines.BUILDSPEC).read_text())["env"]["exported-variables"])
    source_vars = {"CommitId", "BranchName", "FullRepositoryName", "AuthorDate", "CommitMessage", "ConnectionArn"}
    for r in dev.of_type(PIPELINE):
        pipe = r.inputs
        declared = {v["name"] for v in pipe.get("variables") or []}
        artifacts: set[str] = set()
        namespaces: dict[str, set[str]] = {}
        for stage in pipe["stages"]:
            produced: set[str] = set()
            for act in stage["actions"]:
                for art in act.get("inputArtifacts", []):
                    assert art in artifacts, f"{pipe['name']}: {act['name']} reads {art} before any stage makes it"
                text = json.dumps(act.get("configuration", {}))
                for ns, key in VAR_REF.findall(text):
                    if ns == "variables":
                        assert key in declared, f"{pipe['name']}: #{{variables.{key}}} is not declared"
                    else:
                        assert key in namespaces.get(ns, set()), (
                            f"{pipe['name']}: #{{{ns}.{key}}} is not produced earlier"
                        )
                for art in act.get("outputArtifacts", []):
                    assert art not in artifacts | produced, f"{pipe['name']}: artifact {art} twice"
                    produced.add(art)
                if act.get("namespace"):
                    namespaces[act["namespace"]] = source_vars if act["category"] == "Source" else exported
            artifacts |= produced


def test_codebuild_projects(dev):
    pp = params.load_pipelines("dev")
    for service in params.services("dev"):
        svc = params.load_service(service, "dev")
        build = project(dev, naming.app_codebuild_project_name(service, "dev", "build"))
        assert build["environment"]["privilegedMode"] is True  # docker build
        assert build["source"] == {"type": "CODEPIPELINE", "buildspec": pipelines.BUILDSPEC}
        benv = project_env(build)
        assert benv["MODULE_PATH"] == svc.app.module_path
        assert benv["ECR_REPO_URI"].endswith(f".amazonaws.com/{naming.ecr_repository_name(service, 'dev')}")
        deploy = project(dev, naming.app_codebuild_project_name(service, "dev", "deploy"))
        assert deploy["environment"]["privilegedMode"] is False
        assert deploy["source"]["buildspec"] == pipelines.DEPLOY_BUILDSPEC
    for proj in (r.inputs for r in dev.of_type(PROJECT)):
        assert proj["environment"]["image"] == pp.build_image
        assert proj["logsConfig"]["cloudwatchLogs"]["groupName"] == naming.codebuild_log_group_name(proj["name"])
        assert (ROOT / proj["source"]["buildspec"]).is_file()
        if proj["source"]["buildspec"] == pipelines.DEPLOY_BUILDSPEC:
            env = project_env(proj)
            assert env["PULUMI_BACKEND_URL"] == f"s3://{pp.state_bucket}"
            assert env["PULUMI_VERSION"] == pp.pulumi_version
    groups = {r.inputs["name"]: r.inputs["retentionInDays"] for r in dev.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {naming.codebuild_log_group_name(r.inputs["name"]) for r in dev.of_type(PROJECT)}
    assert set(groups.values()) == {pp.build_log_retention_days}


def test_each_project_runs_as_its_own_scoped_role(dev):
    roles = {r.inputs["name"]: r for r in dev.of_type(ROLE)}
    for proj in (r.inputs for r in dev.of_type(PROJECT)):
        role_name = proj["serviceRole"].rsplit("/", 1)[-1]
        assert role_name in roles
        trust = json.loads(roles[role_name].inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    # The user-api deploy role writes user-api lanes only; the build role no state at all.
    state = params.load_pipelines("dev").state_bucket
    lane_state = f"arn:aws:s3:::{state}/.pulumi/stacks/multilane/user-api-dev-gray.json"
    other_state = f"arn:aws:s3:::{state}/.pulumi/stacks/multilane/order-api-dev-gray.json"
    deploy = role_policy(dev, naming.pipeline_role_name("dev", "app", "user-api-deploy"))
    assert evaluate([deploy], "s3:PutObject", lane_state) == ALLOW
    assert evaluate([deploy], "s3:PutObject", other_state) == EXPLICIT_DENY
    build = role_policy(dev, naming.pipeline_role_name("dev", "app", "user-api-build"))
    assert evaluate([build], "s3:GetObject", lane_state) == EXPLICIT_DENY
    pipe_role = role_policy(dev, naming.pipeline_role_name("dev", "pipelines", "codepipeline"))
    for proj in (r.inputs for r in dev.of_type(PROJECT)):
        assert (
            evaluate(
                [pipe_role],
                "codebuild:StartBuild",
                f"arn:aws:codebuild:ap-southeast-2:123456789012:project/{proj['name']}",
            )
            == ALLOW
        )


def test_the_artifact_bucket_is_private_encrypted_versioned_and_expiring(dev):
    pp = params.load_pipelines("dev")
    bucket = dev.one("aws:s3/bucket:Bucket")
    bucket_id = bucket.id
    sse = dev.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["bucket"] == bucket_id
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    versioning = dev.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["bucket"] == bucket_id and versioning["versioningConfiguration"]["status"] == "Enabled"
    pab = dev.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert pab["bucket"] == bucket_id
    assert all(
        pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    lifecycle = dev.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
    [rule] = lifecycle["rules"]
    assert rule["status"] == "Enabled" and rule["expiration"]["days"] == pp.artifact_retention_days
    policy = json.loads(dev.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    arn = bucket.state["arn"]
    assert evaluate([policy], "s3:GetObject", f"{arn}/x", {"aws:SecureTransport": False}) == EXPLICIT_DENY
    for r in dev.of_type(PIPELINE):
        assert r.inputs["artifactStores"] == [{"type": "S3", "location": bucket.state["bucket"]}]


def test_every_taggable_resource_is_tagged_and_every_resource_has_a_component_parent(dev):
    components = {r.urn for r in dev.registrations if r.is_component}
    for r in dev.resources:
        assert r.parent in components, f"{r.type} {r.name} is not inside a component"
        if "tags" in r.inputs or r.type in (PIPELINE, PROJECT, ROLE, "aws:s3/bucket:Bucket"):
            tags = r.inputs["tags"]
            assert tags["Env"] == "dev" and tags["Layer"] == "pipelines" and tags["ManagedBy"] == "multilane", r.name


def test_a_kms_key_switches_the_deploy_projects_to_the_awskms_secrets_provider(params_dir):
    key = "arn:aws:kms:ap-southeast-2:123456789012:key/0b1c2d3e-1234-4e5f-9a0b-1c2d3e4f5a6b"
    edit_json(params_dir / "pipelines-dev.json", lambda d: d.update(stateKmsKeyArn=key))
    rec = run_stack("pipelines-dev", params_dir=params_dir)
    env = project_env(project(rec, naming.codebuild_project_name("dev", "infra-deploy")))
    assert (
        env["MULTILANE_SECRETS_PROVIDER"] == "awskms://key/0b1c2d3e-1234-4e5f-9a0b-1c2d3e4f5a6b?region=ap-southeast-2"
    )
    assert "PULUMI_CONFIG_PASSPHRASE" not in env
    deploy = role_policy(rec, naming.pipeline_role_name("dev", "infra", "deploy"))
    assert evaluate([deploy], "kms:Decrypt", key) == ALLOW


# --- bad input: one sentence, nothing registered --------------------------------------------


def run_failing(params_dir: Path) -> tuple[str, Recording]:
    caught: list[str] = []

    def program(stack: str, pdir: Path) -> None:
        try:
            run_program(stack, pdir)
        except MultilaneError as err:
            caught.append(str(err))

    rec = run_stack("pipelines-dev", params_dir=params_dir, program=program)
    assert len(caught) == 1, "the program did not fail"
    return caught[0], rec


def test_a_service_without_an_app_repository(params_dir):
    edit_json(params_dir / "order-api-dev.json", lambda d: d.pop("app"))
    message, rec = run_failing(params_dir)
    # pydantic refuses it while loading params (the layer has no check of its own).
    assert message == "params/order-api-dev.json: required key 'app' is missing"
    assert rec.registrations == []
    edit_json(params_dir / "order-api-dev.json", lambda d: d.update(app={"branch": "main"}))
    message, rec = run_failing(params_dir)
    assert "order-api-dev.json" in message and "app.repository" in message
    assert rec.registrations == []


def test_a_malformed_connection_arn(params_dir):
    edit_json(params_dir / "pipelines-dev.json", lambda d: d.update(connectionArn="arn:aws:codestar:oops"))
    message, rec = run_failing(params_dir)
    assert "pipelines-dev.json" in message and "connectionArn" in message and "arn:aws:codestar:oops" in message
    assert rec.registrations == []


def test_an_env_with_no_services(params_dir):
    for service in params.services("dev", params_dir):
        (params_dir / f"{service}-dev.json").unlink()
    message, rec = run_failing(params_dir)
    assert "has no service params file" in message and "pipelines-dev" in message
    assert rec.registrations == []


# --- the CLI ----------------------------------------------------------------------------------


def test_plan_pipelines_dev_shows_the_three_kinds_of_pipeline():
    result = subprocess.run(
        [sys.executable, "-m", "automation", "plan", "pipelines-dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ["infra-dev", "boot-dev", *(f"{s}-dev" for s in params.services("dev"))]:
        assert f"name={name}," in out
    assert out.count("executionMode=PARALLEL") == 1 + len(params.services("dev"))
    assert "multilane:pipelines:DualSourcePipeline" in out


def test_plan_with_bad_params_prints_one_sentence(tmp_path):
    import shutil

    pdir = tmp_path / "params"
    shutil.copytree(params.PARAMS_DIR, pdir)
    edit_json(pdir / "pipelines-dev.json", lambda d: d.update(connectionArn="nope"))
    code = (
        "import sys; from pathlib import Path; from components import params; "
        f"params.PARAMS_DIR = Path({str(pdir)!r}); "
        "from automation.cli import main; sys.exit(main(['plan', 'pipelines-dev']))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "connectionArn" in line


# --- issue 12 ---------------------------------------------------------------------------------


def test_each_service_gets_a_lane_boundary_at_the_arn_lane_roles_name(dev):
    policies = {r.inputs["name"]: r.inputs for r in dev.of_type("aws:iam/policy:Policy")}
    for service in params.services("dev"):
        name = naming.lane_boundary_policy_name(service, "dev")
        boundary = policies[name]
        assert boundary["path"] == naming.lane_boundary_policy_path(service, "dev")
        arn_ = f"arn:aws:iam::123456789012:policy{boundary['path']}{name}"
        assert arn_ == iam.pipeline_roles.lane_boundary_arn("aws", "123456789012", service, "dev")
        doc = json.loads(boundary["policy"])
        secrets = list(params.load_service(service, "dev").secrets.values())
        for secret in secrets:
            assert evaluate([doc], *iam.lane_roles.secret_resource(secret)) == ALLOW
        assert evaluate([doc], "iam:CreateUser", "arn:aws:iam::123456789012:user/x") != ALLOW


def test_build_roles_trust_codebuild_for_their_own_project_only(dev):
    roles = {r.inputs["name"]: r for r in dev.of_type(ROLE)}
    for proj in (r.inputs for r in dev.of_type(PROJECT)):
        trust = json.loads(roles[proj["serviceRole"].rsplit("/", 1)[-1]].inputs["assumeRolePolicy"])
        [stmt] = trust["Statement"]
        assert stmt["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": [f"arn:aws:codebuild:ap-southeast-2:123456789012:project/{proj['name']}"]},
        }
    pipe = json.loads(roles[naming.pipeline_role_name("dev", "pipelines", "codepipeline")].inputs["assumeRolePolicy"])
    [stmt] = pipe["Statement"]
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert sorted(stmt["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(
        f"arn:aws:codepipeline:ap-southeast-2:123456789012:{r.inputs['name']}" for r in dev.of_type(PIPELINE)
    )


def test_every_build_role_has_its_denies_in_an_attached_guard_policy(dev):
    attachments = dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert len(attachments) == len(dev.of_type(PROJECT))
    guards = {r.inputs["name"]: json.loads(r.inputs["policy"]) for r in dev.of_type("aws:iam/policy:Policy")}
    for proj in (r.inputs for r in dev.of_type(PROJECT)):
        role_name = proj["serviceRole"].rsplit("/", 1)[-1]
        guard = guards[naming.pipeline_guard_policy_name(role_name)]
        assert guard["Statement"] and {s["Effect"] for s in guard["Statement"]} == {"Deny"}
        assert len(json.dumps(guard, separators=(",", ":"))) <= 6144


def test_pipelines_whose_artifact_folders_would_collide_are_refused(params_dir):
    # CodePipeline names a pipeline's artifact folder after its first 20 characters.
    src = params_dir / "user-api-dev.json"
    for service in ("payments-ledger-sync-a", "payments-ledger-sync-b"):
        (params_dir / f"{service}-dev.json").write_text(src.read_text())
    message, rec = run_failing(params_dir)
    assert message == (
        "pipelines payments-ledger-sync-a-dev and payments-ledger-sync-b-dev share the artifact folder "
        "'payments-ledger-sync' (CodePipeline keeps only the first 20 characters of a pipeline name); rename one "
        "service so the first 20 characters of its pipeline name differ"
    )
    assert rec.registrations == []
