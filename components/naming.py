"""Every physical AWS name, tag set and length limit multilane uses.

No other module formats an AWS name: they call a function here. Names that
AWS caps at a length we could exceed (ALB and target group: 32 characters,
IAM roles: 64) are derived with :func:`fit`, which keeps a readable head and
appends a hash of the *whole* name, so two long names never truncate into the
same result.
"""

from __future__ import annotations

import hashlib
import re

from .errors import MultilaneError

PROJECT = "multilane"
MANAGED_BY = "multilane"
DEFAULT_ORG = "organization"

# --- identifiers ---------------------------------------------------------

# Stack names are "{service}-{env}-{lane}" and Pulumi caps stack names at 100
# characters, so 40 + 16 + 40 + 2 separators = 98 always fits.
MAX_SERVICE_LEN = 40
MAX_ENV_LEN = 16
MAX_LANE_LEN = 40
DEFAULT_LANE = "default"
# Words that would make stack names ambiguous ("boot-dev-x" must never be read
# as service "boot").
RESERVED_SERVICE_NAMES = frozenset({"infra", "boot", "pipelines"})

LABEL_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
ENV_RE = re.compile(r"^[a-z][a-z0-9]*$")

# --- AWS length limits (documented service quotas, not tunables) ---------

LIMIT_ALB_NAME = 32
LIMIT_TARGET_GROUP_NAME = 32
LIMIT_IAM_ROLE_NAME = 64
LIMIT_ECS_SERVICE_NAME = 255
LIMIT_TASK_FAMILY = 255
LIMIT_LOG_GROUP_NAME = 512
LIMIT_ECR_REPOSITORY_NAME = 256
LIMIT_CLOUDMAP_SERVICE_NAME = 127
LIMIT_ALARM_NAME = 255
LIMIT_CODEBUILD_PROJECT_NAME = 255
LIMIT_PIPELINE_NAME = 100
LIMIT_SECURITY_GROUP_NAME = 255
LIMIT_CLUSTER_NAME = 255
LIMIT_BUCKET_PREFIX = 37  # bucket names are 63; autonaming appends 26 chars
LIMIT_STACK_NAME = 100
LIMIT_SNS_TOPIC_NAME = 256
LIMIT_IAM_POLICY_NAME = 128
# CodePipeline keeps a run's artifacts under the first 20 characters of the
# pipeline name (its S3 "folder" in the artifact bucket).
LIMIT_ARTIFACT_FOLDER = 20

HASH_LEN = 8

# Glob parts IAM patterns pass in place of a service, env or lane.
_GLOBS = ("*", "")


def _checked(value: str, what: str, limit: int, fix: str) -> str:
    if value not in _GLOBS and len(value) > limit:
        raise MultilaneError(
            f"{what} {value!r} has {len(value)} characters; AWS names built from it allow at most {limit}: {fix}"
        )
    return value


def service_part(service: str) -> str:
    """``service`` as a part of an AWS name: at most MAX_SERVICE_LEN characters."""
    return _checked(service, "service name", MAX_SERVICE_LEN, "rename its params/{service}-{env}.json")


def env_part(env: str) -> str:
    """``env`` as a part of an AWS name: at most MAX_ENV_LEN characters."""
    return _checked(env, "env name", MAX_ENV_LEN, "rename its params/infra-{env}.json")


def lane_part(lane: str) -> str:
    """``lane`` as a part of an AWS name: at most MAX_LANE_LEN characters."""
    return _checked(lane, "lane name", MAX_LANE_LEN, "pick a shorter lane name")


def bounded(name: str, limit: int, what: str) -> str:
    """A name AWS caps at ``limit`` that is not hash-fitted: refuse it, never truncate it."""
    if len(name) > limit:
        raise MultilaneError(
            f"{what} {name!r} has {len(name)} characters, over AWS's limit of {limit}; use shorter service or env names"
        )
    return name


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """``arn:{partition}:{service}:{region}:{account}:{resource}`` (region and account may be empty)."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def s3_arn(partition: str, bucket: str, key: str | None = None) -> str:
    return arn(partition, "s3", "", "", bucket) + (f"/{key}" if key is not None else "")


def short_hash(*parts: object, length: int = HASH_LEN) -> str:
    """A stable hex digest of ``parts`` (sha256, never Python's salted hash)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:length]


def fit(name: str, limit: int, *, salt: tuple[object, ...] = ()) -> str:
    """Return ``name`` if it fits ``limit`` (and ``salt`` is empty), else a
    readable head plus ``-`` plus a hash of the whole name and ``salt``.

    Deterministic, always <= limit, never ends in a hyphen, and unique for
    distinct inputs up to a 32-bit hash collision.
    """
    if len(name) <= limit and not salt:
        return name
    suffix = short_hash(name, *salt)
    head = name[: limit - len(suffix) - 1].rstrip("-_/.")
    return f"{head}-{suffix}" if head else suffix


# --- stacks ----------------------------------------------------------------


def infra_stack(env: str) -> str:
    return f"infra-{env_part(env)}"


def boot_stack(service: str, env: str) -> str:
    return f"boot-{service_part(service)}-{env_part(env)}"


def lane_stack(service: str, env: str, lane: str) -> str:
    return f"{service_part(service)}-{env_part(env)}-{lane_part(lane)}"


def pipelines_stack(env: str) -> str:
    return f"pipelines-{env_part(env)}"


def stack_ref(stack: str, org: str = DEFAULT_ORG) -> str:
    """Fully qualified name a StackReference needs: ``{org}/multilane/{stack}``."""
    return f"{org}/{PROJECT}/{stack}"


# --- tags ------------------------------------------------------------------


# Tag keys IAM conditions scope by (aws:ResourceTag/<key>, aws:RequestTag/<key>).
ENV_TAG = "Env"
LAYER_TAG = "Layer"
SERVICE_TAG = "Service"
LANE_TAG = "Lane"
# Every tag key a multilane resource may carry ("Name" and "Tier" label the
# infra network's resources); aws:TagKeys on create allows only these.
TAG_KEYS = ("Env", "Layer", "ManagedBy", "Service", "Lane", "Name", "Tier")


def tags(env: str, layer: str, service: str | None = None, lane: str | None = None) -> dict[str, str]:
    """The tag set every taggable resource carries (the policy pack checks it)."""
    out = {ENV_TAG: env, LAYER_TAG: layer, "ManagedBy": MANAGED_BY}
    if service:
        out[SERVICE_TAG] = service
    if lane:
        out[LANE_TAG] = lane
    return out


# --- infra -----------------------------------------------------------------


def cluster_name(env: str) -> str:
    return fit(f"{PROJECT}-{env_part(env)}", LIMIT_CLUSTER_NAME)


def vpc_name(env: str) -> str:
    return f"{PROJECT}-{env_part(env)}"


def alarm_topic_name(env: str) -> str:
    """The SNS topic every alarm of ``env`` notifies (boot and lane alarms)."""
    return fit(f"{PROJECT}-{env_part(env)}-alarms", LIMIT_SNS_TOPIC_NAME)


# --- boot ------------------------------------------------------------------


def alb_name(service: str, env: str) -> str:
    return fit(f"{service_part(service)}-{env_part(env)}", LIMIT_ALB_NAME)


def target_group_name(service: str, env: str, lane: str, *, port: int, protocol: str, target_type: str) -> str:
    """Target group name that changes whenever a replace-forcing property does.

    AWS forbids two target groups of one name, so a fixed name would force
    Pulumi to delete the old group first, which fails while a listener rule
    still forwards to it. Hashing the replace-forcing inputs into the name
    gives the replacement a new name: create-before-delete just works.
    """
    return fit(
        f"{service_part(service)}-{env_part(env)}-{lane_part(lane)}",
        LIMIT_TARGET_GROUP_NAME,
        salt=(port, protocol, target_type),
    )


def default_target_group_name(service: str, env: str, *, port: int, protocol: str, target_type: str) -> str:
    """The boot stack's default target group (the lane ``default`` serves it)."""
    return target_group_name(service, env, DEFAULT_LANE, port=port, protocol=protocol, target_type=target_type)


def log_group_name(service: str, env: str) -> str:
    return bounded(f"/ecs/{env_part(env)}/{service_part(service)}", LIMIT_LOG_GROUP_NAME, "log group name")


def ecr_repository_name(service: str, env: str) -> str:
    return bounded(f"{env_part(env)}/{service_part(service)}", LIMIT_ECR_REPOSITORY_NAME, "ECR repository name")


def ecr_repository_url(account: str, region: str, service: str, env: str) -> str:
    """The repository URL images are pushed to and pulled from (the boot stack's RepositoryUrl)."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{ecr_repository_name(service, env)}"


def cloudmap_service_name(service: str) -> str:
    return bounded(service_part(service), LIMIT_CLOUDMAP_SERVICE_NAME, "Cloud Map service name")


def security_group_name(service: str, env: str, role: str) -> str:
    return fit(f"{service_part(service)}-{env_part(env)}-{role}", LIMIT_SECURITY_GROUP_NAME)


# --- lane ------------------------------------------------------------------


def ecs_service_name(service: str, lane: str) -> str:
    # The cluster is per env, so service + lane is unique inside it.
    return fit(f"{service_part(service)}-{lane_part(lane)}", LIMIT_ECS_SERVICE_NAME)


def task_family(service: str, env: str, lane: str) -> str:
    return fit(f"{service_part(service)}-{env_part(env)}-{lane_part(lane)}", LIMIT_TASK_FAMILY)


def lane_role_name(service: str, env: str, lane: str, role: str) -> str:
    """IAM role of one lane (role: "exec" or "task"); 64-character limit."""
    return fit(f"{service_part(service)}-{env_part(env)}-{lane_part(lane)}-{role}", LIMIT_IAM_ROLE_NAME)


def alarm_name(service: str, env: str, lane: str | None, metric: str) -> str:
    scope = f"{service_part(service)}-{env_part(env)}" + (f"-{lane_part(lane)}" if lane else "")
    return fit(f"{scope}-{metric}", LIMIT_ALARM_NAME)


def alarm_glob(service: str, env: str) -> str:
    """Every alarm name of ``service`` in ``env`` (``*`` for every service): IAM wildcard."""
    return f"{service_part(service)}-{env_part(env)}-*"


def container_name(service: str) -> str:
    return service_part(service)


def writable_volume_name(index: int) -> str:
    """Task volume that backs the ``index``-th writable path of a read-only container."""
    return f"writable-{index}"


# --- pipelines -------------------------------------------------------------


def app_pipeline_name(service: str, env: str) -> str:
    return fit(f"{service_part(service)}-{env_part(env)}", LIMIT_PIPELINE_NAME)


def infra_pipeline_name(env: str) -> str:
    return bounded(f"infra-{env_part(env)}", LIMIT_PIPELINE_NAME, "pipeline name")


def boot_pipeline_name(env: str) -> str:
    return bounded(f"boot-{env_part(env)}", LIMIT_PIPELINE_NAME, "pipeline name")


def codebuild_project_name(env: str, purpose: str) -> str:
    return fit(f"{PROJECT}-{env_part(env)}-{purpose}", LIMIT_CODEBUILD_PROJECT_NAME)


def pipeline_role_name(env: str, layer: str, purpose: str) -> str:
    return fit(f"{PROJECT}-{env_part(env)}-{layer}-{purpose}", LIMIT_IAM_ROLE_NAME)


def app_pipeline_role_name(service: str, env: str, purpose: str) -> str:
    """The app pipeline's per-service CodeBuild role (purpose: "build" or "deploy")."""
    return pipeline_role_name(env, "app", f"{service_part(service)}-{purpose}")


def pipeline_guard_policy_name(role_name: str) -> str:
    """Managed policy holding a pipeline role's explicit Deny statements."""
    return fit(f"{role_name}-guard", LIMIT_IAM_POLICY_NAME)


def artifact_bucket_prefix(env: str) -> str:
    # Bucket names are global; autonaming appends a random suffix to this.
    return fit(f"{PROJECT}-{env_part(env)}-artifacts-", LIMIT_BUCKET_PREFIX)


def app_codebuild_project_name(service: str, env: str, purpose: str) -> str:
    """Per-service CodeBuild project (purpose: "build" or "deploy").

    A CodeBuild project has exactly one service role, so per-service IAM
    scoping needs per-service projects.
    """
    return codebuild_project_name(env, f"{service_part(service)}-{purpose}")


def codebuild_log_group_name(project: str) -> str:
    # CodeBuild's own default group name, so the console's links keep working.
    return f"/aws/codebuild/{project}"


def lane_role_path(service: str, env: str) -> str:
    """IAM path of every lane role of ``service`` in ``env``.

    Lane role *names* are hash-fitted to 64 characters, so no name prefix is
    guaranteed; a path is. The app pipeline's role may pass and manage only
    roles under this path (``arn:aws:iam::<account>:role/multilane/<env>/<service>/*``).
    """
    return f"/{PROJECT}/{env_part(env)}/{service_part(service)}/"


def lane_boundary_policy_name(service: str, env: str) -> str:
    """The permissions boundary every lane role of ``service`` in ``env`` carries."""
    return fit(f"{PROJECT}-{env_part(env)}-{service_part(service)}-lane-boundary", LIMIT_IAM_POLICY_NAME)


def lane_boundary_policy_path(service: str, env: str) -> str:
    """IAM path of the boundary policy: the lane roles' path, so one ARN
    pattern names the service's lane identities and their ceiling."""
    return lane_role_path(service, env)


def artifact_folder(pipeline_name: str) -> str:
    """The key prefix CodePipeline writes a pipeline's artifacts under
    (``<first 20 characters of the pipeline name>/``); each pipeline's roles
    may read and write only their own folder."""
    return pipeline_name[:LIMIT_ARTIFACT_FOLDER]


ALB_LOGS_MARK = "alb-logs"


def alb_access_log_bucket_prefix(service: str, env: str) -> str:
    """Bucket name prefix of one service's ALB access log bucket (boot layer);
    autonaming appends a random suffix. Always starts with
    ``{env}-alb-logs-`` (env is at most 16 characters), which is how the boot
    deploy role's S3 grant finds its env's log buckets."""
    return fit(f"{env_part(env)}-{ALB_LOGS_MARK}-{service_part(service)}", LIMIT_BUCKET_PREFIX - 1) + "-"


def alb_access_log_bucket_glob(env: str) -> str:
    return f"{env_part(env)}-{ALB_LOGS_MARK}-*"


def alb_access_log_prefix(service: str) -> str:
    """Key prefix the ALB writes its access logs under in the log bucket."""
    return service


def lane_target_group_prefix(service: str, env: str) -> str:
    """The head every lane target group name of ``service`` in ``env`` starts with.

    :func:`target_group_name` always hashes (salted), keeping at most
    ``32 - 9`` characters of ``{service}-{env}-{lane}``; this is the part of
    that head every lane shares. Long service names share it with other
    services that start the same way: see the README's pipelines section.
    """
    keep = LIMIT_TARGET_GROUP_NAME - HASH_LEN - 1
    head = f"{service_part(service)}-{env_part(env)}-"
    return head if len(head) <= keep else head[:keep].rstrip("-_/.")


# Pulumi's self-managed (DIY) backend layout, project mode (meta.yaml v1):
#   .pulumi/stacks/<project>/<stack>.json[.bak|.gz]   state checkpoint
#   .pulumi/history/<project>/<stack>/...             update history
#   .pulumi/backups/<project>/<stack>/...             checkpoint backups
#   .pulumi/locks/organization/<project>/<stack>/<id>.json   update locks
# (pkg/backend/diy: StackBasePath/HistoryDir/BackupDir use the project name;
# lockPath uses the fully qualified "organization/<project>/<stack>".)
STATE_ROOT = ".pulumi"


def state_object_keys(stack_glob: str) -> list[str]:
    """S3 key patterns (IAM wildcards) of every object the backend writes for
    the stacks matching ``stack_glob`` (e.g. ``user-api-dev-*``)."""
    return [
        f"{STATE_ROOT}/stacks/{PROJECT}/{stack_glob}.*",
        f"{STATE_ROOT}/history/{PROJECT}/{stack_glob}/*",
        f"{STATE_ROOT}/backups/{PROJECT}/{stack_glob}/*",
        f"{STATE_ROOT}/locks/{DEFAULT_ORG}/{PROJECT}/{stack_glob}/*",
    ]


def layer_state_keys(layer: str) -> str:
    """Every backend object of every stack of ``layer`` in any env (IAM's ``*`` spans ``/``)."""
    return f"{STATE_ROOT}/*/{PROJECT}/{layer}-*"


def state_meta_key() -> str:
    return f"{STATE_ROOT}/meta.yaml"


def lane_stack_glob(service: str, env: str) -> str:
    return f"{lane_stack(service, env, '')}*"


def boot_stack_glob(env: str) -> str:
    return boot_stack("*", env)
