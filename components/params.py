"""pydantic models for params/*.json and the one loader that reads them.

Params files are plain data checked in to git: the defaults every stack of an
env or service builds from. JSON keys are camelCase; unknown keys, wrong types
and values AWS would reject are errors that name the file and the field. The
models hold plain values only: Pulumi Inputs travel in component Args.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from . import naming, regions
from .errors import MultilaneError

PARAMS_DIR = Path(__file__).resolve().parent.parent / "params"


class StrictModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )


def _cidr(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block ({exc})") from None


# --- infra-{env}.json --------------------------------------------------------


class CreateNetwork(StrictModel):
    """Create a VPC with public and private subnets, one pair per AZ."""

    mode: Literal["create"]
    vpc_cidr: str
    availability_zones: list[str] = Field(min_length=2)
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]
    # none: no NAT (tasks need VPC endpoints to reach ECR/logs);
    # single: one NAT gateway (cheap, one AZ's failure cuts egress);
    # perAz: one NAT gateway per AZ (production).
    nat_mode: Literal["none", "single", "perAz"] = "single"

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, v: str) -> str:
        net = _cidr(v)
        if not 16 <= net.prefixlen <= 28:
            raise ValueError(f"{v!r} must have a prefix between /16 and /28 (AWS VPC limits)")
        return v

    @model_validator(mode="after")
    def _subnets(self) -> CreateNetwork:
        vpc = _cidr(self.vpc_cidr)
        n = len(self.availability_zones)
        if len(set(self.availability_zones)) != n:
            raise ValueError("availabilityZones lists a zone twice")
        for key, cidrs in (
            ("publicSubnetCidrs", self.public_subnet_cidrs),
            ("privateSubnetCidrs", self.private_subnet_cidrs),
        ):
            if len(cidrs) != n:
                raise ValueError(
                    f"{key} has {len(cidrs)} entries but availabilityZones has {n}; give one subnet per zone"
                )
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for cidr in [*self.public_subnet_cidrs, *self.private_subnet_cidrs]:
            net = _cidr(cidr)
            if not net.subnet_of(vpc):
                raise ValueError(f"subnet {cidr} is not inside vpcCidr {self.vpc_cidr}")
            if not 16 <= net.prefixlen <= 28:
                raise ValueError(f"subnet {cidr} must have a prefix between /16 and /28")
            for other_cidr, other in seen:
                if net.overlaps(other):
                    raise ValueError(f"subnets {other_cidr} and {cidr} overlap")
            seen.append((cidr, net))
        return self


_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")


class WrapNetwork(StrictModel):
    """The article's CreateNetwork=false: export an existing VPC unchanged."""

    mode: Literal["wrap"]
    vpc_id: str
    public_subnet_ids: list[str] = Field(default_factory=list)
    private_subnet_ids: list[str] = Field(min_length=2)

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, v: str) -> str:
        if not _VPC_ID.fullmatch(v):
            raise ValueError(f"{v!r} is not a VPC id (vpc- and 8 or 17 hex digits)")
        return v

    @field_validator("public_subnet_ids", "private_subnet_ids")
    @classmethod
    def _subnet_ids(cls, v: list[str]) -> list[str]:
        for sid in v:
            if not _SUBNET_ID.fullmatch(sid):
                raise ValueError(f"{sid!r} is not a subnet id (subnet- and 8 or 17 hex digits)")
        if len(set(v)) != len(v):
            raise ValueError("lists a subnet twice")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> WrapNetwork:
        both = set(self.public_subnet_ids) & set(self.private_subnet_ids)
        if both:
            raise ValueError(f"subnet {sorted(both)[0]} is listed as both public and private")
        if self.public_subnet_ids and len(self.public_subnet_ids) < 2:
            raise ValueError("publicSubnetIds needs at least 2 subnets (an ALB spans two AZs) or none")
        return self


_FARGATE_PROVIDERS: tuple[Literal["FARGATE", "FARGATE_SPOT"], ...] = ("FARGATE", "FARGATE_SPOT")


class ClusterSettings(StrictModel):
    # Lane alarms read Container Insights' RunningTaskCount/DesiredTaskCount.
    container_insights: Literal["enabled", "enhanced"] = "enabled"
    capacity_providers: list[Literal["FARGATE", "FARGATE_SPOT"]] = Field(
        default_factory=lambda: list(_FARGATE_PROVIDERS), min_length=1
    )


_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SUBSCRIBER_ARN = {
    "sqs": re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,80}$"),
    "lambda": re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"),
}


class AlarmSubscriber(StrictModel):
    protocol: Literal["email", "https", "sqs", "lambda"]
    endpoint: str

    @model_validator(mode="after")
    def _endpoint(self) -> AlarmSubscriber:
        e = self.endpoint
        ok = {
            "email": bool(_EMAIL.match(e)),
            "https": e.startswith("https://") and " " not in e and len(e) > len("https://"),
        }.get(self.protocol)
        if ok is None:
            ok = bool(_SUBSCRIBER_ARN[self.protocol].match(e))
        if not ok:
            raise ValueError(f"{e!r} is not a {self.protocol} endpoint")
        return self


class AlarmNotifications(StrictModel):
    """Who hears every alarm of the env (boot and lane alarms, ALARM and OK).

    Either ``topicArn`` (an SNS topic you already run: on-call tooling, chat)
    or ``subscribers`` of the topic the infra stack creates; never neither,
    or alarms would notify no one.
    """

    topic_arn: str | None = None
    subscribers: list[AlarmSubscriber] = Field(default_factory=list)

    @field_validator("topic_arn")
    @classmethod
    def _topic(cls, v: str | None) -> str | None:
        if v is not None and not _SNS_TOPIC_ARN.match(v):
            raise ValueError(f"{v!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
        return v

    @model_validator(mode="after")
    def _someone(self) -> AlarmNotifications:
        if self.topic_arn is None and not self.subscribers:
            raise ValueError("give topicArn or at least one subscriber, or alarms notify no one")
        if self.topic_arn is not None and self.subscribers:
            raise ValueError("give topicArn (subscribe to it where it lives) or subscribers, not both")
        return self


_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class SleepSchedule(StrictModel):
    """Non-default lanes scale their ECS service to 0 tasks at ``sleepAt`` and back
    at ``wakeAt`` (Application Auto Scaling scheduled actions, in the lane
    stack), in ``timezone`` (IANA name)."""

    timezone: str
    sleep_at: str = "cron(0 20 ? * MON-FRI *)"
    wake_at: str = "cron(0 8 ? * MON-FRI *)"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        import zoneinfo

        if v not in zoneinfo.available_timezones():
            raise ValueError(f"{v!r} is not an IANA time zone such as Australia/Sydney or UTC")
        return v

    @field_validator("sleep_at", "wake_at")
    @classmethod
    def _cron(cls, v: str) -> str:
        from .lifetime import parse_cron

        parse_cron(v)
        return v


class LaneLifetime(StrictModel):
    """Lifetime of the env's non-default lanes: the TTL after their last deploy
    (a lane's stack config ``multilane:ttlHours`` overrides it) and an
    optional sleep schedule."""

    ttl_hours: int = Field(default=72, ge=1, le=8760)
    sleep: SleepSchedule | None = None


class InfraParams(StrictModel):
    region: str
    production: bool = False
    network: Annotated[CreateNetwork | WrapNetwork, Field(discriminator="mode")]
    namespace_name: str
    cluster: ClusterSettings = ClusterSettings()
    alarm_notifications: AlarmNotifications
    lanes: LaneLifetime = LaneLifetime()

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v not in regions.AZ_LETTERS:
            raise ValueError(
                f"region {v!r} is not in components/regions.py (known: {', '.join(sorted(regions.AZ_LETTERS))}); add it there"
            )
        return v

    @field_validator("namespace_name")
    @classmethod
    def _namespace(cls, v: str) -> str:
        if not _DNS_NAME.fullmatch(v):
            raise ValueError(f"{v!r} is not a lower-case DNS name such as dev.multilane.internal")
        return v

    @model_validator(mode="after")
    def _azs(self) -> InfraParams:
        if isinstance(self.network, CreateNetwork):
            valid = regions.valid_azs(self.region)
            for az in self.network.availability_zones:
                if az not in valid:
                    raise ValueError(
                        f"network.availabilityZones: {az!r} is not a zone of {self.region} (zones: {', '.join(valid)})"
                    )
            limit = regions.max_azs(self.region)
            if len(self.network.availability_zones) > limit:
                raise ValueError(
                    f"network.availabilityZones: {self.region} offers at most {limit} zones to an account, "
                    f"params list {len(self.network.availability_zones)}"
                )
        return self


# --- boot-{env}.json -----------------------------------------------------------


def check_matcher(value: str) -> str:
    """ALB HTTP success codes: codes or ranges 200-499, comma-separated (e.g. 200,202 or 200-399)."""
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        ok = re.fullmatch(r"\d{3}", lo) and (not hi or re.fullmatch(r"\d{3}", hi))
        if not ok or not 200 <= int(lo) <= int(hi or lo) <= 499:
            raise ValueError(
                f"{value!r} is not an HTTP success-code matcher: codes or ranges from 200 to 499, "
                "comma-separated (e.g. 200-399 or 200,202)"
            )
    return value


# Predefined ALB security policies (ELB docs, "Security policies for your
# Application Load Balancer"); ALBs take no custom policies. Add new ones here.
SSL_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
        "ELBSecurityPolicy-TLS13-1-1-2021-06",
        "ELBSecurityPolicy-TLS13-1-0-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-FS-1-2-Res-2019-08",
        "ELBSecurityPolicy-FS-1-2-2019-08",
        "ELBSecurityPolicy-FS-1-1-2019-08",
        "ELBSecurityPolicy-FS-2018-06",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
        "ELBSecurityPolicy-TLS-1-1-2017-01",
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-2015-05",
    }
)


class HealthCheck(StrictModel):
    """Target-group health check. Defaults are tuned for fast cutover: a new
    task is healthy after 2 x 5 s instead of AWS's 5 x 30 s."""

    interval_seconds: int = Field(default=5, ge=5, le=300)
    timeout_seconds: int = Field(default=4, ge=2, le=120)
    healthy_threshold: int = Field(default=2, ge=2, le=10)
    unhealthy_threshold: int = Field(default=2, ge=2, le=10)
    matcher: str = "200-399"

    @field_validator("matcher")
    @classmethod
    def _matcher(cls, v: str) -> str:
        return check_matcher(v)

    @model_validator(mode="after")
    def _timeout(self) -> HealthCheck:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeoutSeconds ({self.timeout_seconds}) must be less than intervalSeconds ({self.interval_seconds})"
            )
        return self


_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")


class BootParams(StrictModel):
    alb_scheme: Literal["internet-facing", "internal"] = "internet-facing"
    http_port: int = Field(default=80, ge=1, le=65535)
    https_port: int = Field(default=443, ge=1, le=65535)
    certificate_arn: str | None = None
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    allowed_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1)
    health_check: HealthCheck = HealthCheck()
    # Seconds an old task keeps serving in-flight requests after it leaves the
    # target group; AWS's default is 300.
    deregistration_delay_seconds: int = Field(default=15, ge=0, le=3600)
    idle_timeout_seconds: int = Field(default=60, ge=1, le=4000)
    log_retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
    ] = 30
    # ALB deletion protection; the policy pack requires it where infra params
    # say production: true.
    deletion_protection: bool = False
    # ALB access logs into an encrypted, private bucket of the boot stack;
    # null means on where infra-{env}.json says production: true.
    access_logs: bool | None = None
    ecr_keep_images: int = Field(default=50, ge=1, le=1000)

    @field_validator("certificate_arn")
    @classmethod
    def _cert(cls, v: str | None) -> str | None:
        if v is not None and not _CERT_ARN.fullmatch(v):
            raise ValueError(f"{v!r} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)")
        return v

    @field_validator("ssl_policy")
    @classmethod
    def _ssl_policy(cls, v: str) -> str:
        if v not in SSL_POLICIES:
            raise ValueError(
                f"{v!r} is not a predefined ALB security policy (e.g. ELBSecurityPolicy-TLS13-1-2-2021-06); "
                "if AWS added it, add it to SSL_POLICIES in components/params.py"
            )
        return v

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for c in v:
            _cidr(c)
        return v


# --- {service}-{env}.json ------------------------------------------------------

# Fargate's valid (cpu -> memory MiB) combinations.
FARGATE_MEMORY: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}

_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:(ssm:[a-z0-9-]+:\d{12}:parameter/.+|secretsmanager:[a-z0-9-]+:\d{12}:secret:.+)$"
)
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
# The characters an ALB health check path may hold (ELB API HealthCheckPath).
_HEALTH_PATH = re.compile(r"/[A-Za-z0-9_\-.$/~\"'@:+&()!,;=%?]*")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_IMAGE = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:\d+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$"
)


def _check_env_names(values: dict[str, str]) -> None:
    """Container environment and secret names share one rule."""
    for k in values:
        if not _ENV_NAME.fullmatch(k):
            raise ValueError(f"{k!r} is not an environment variable name")


def check_image(value: str) -> str:
    """An image reference with a registry path and an explicit tag or digest."""
    if not _IMAGE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an image reference with a tag or digest "
            "(e.g. 123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/user-api:sha-abc123)"
        )
    return value


# Placeholder images a lane may run before the app's first build
# (bootstrapImage). The lane configures them (components/layers/lane/,
# container.bootstrap_command) to listen on containerPort and answer 200 on every path,
# so the target group's health check on healthCheckPath passes; an arbitrary
# image (nginx alone listens on 80 and answers 404 for /actuator/health)
# would never turn healthy.
BOOTSTRAP_REPOSITORIES = (
    "public.ecr.aws/nginx/nginx",
    "public.ecr.aws/docker/library/nginx",
    "docker.io/library/nginx",
    "docker.io/nginx",
)


def bootstrap_repository(image: str) -> str:
    """The repository part of an image reference (no tag, no digest)."""
    repo = image.split("@", 1)[0]
    head, _, last = repo.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


class DesiredCount(StrictModel):
    default: int = Field(default=2, ge=0, le=1000)
    lane: int = Field(default=1, ge=0, le=1000)


CapacityProvider = Literal["FARGATE", "FARGATE_SPOT"]


def _required_carriers() -> list[str]:
    """laneCarriers when a service sets none: the carriers every service routes on."""
    # Imported here: components.routing imports stackname, which imports this module.
    from components.routing import carriers

    return [c.header for c in carriers.table() if c.required]


class LaneCapacity(StrictModel):
    """Capacity provider of each lane kind's ECS service. FARGATE_SPOT is
    cheaper and can be interrupted (2 minutes' notice): fine for non-default
    dev lanes, not for the default lane of production. The provider must be
    on the cluster (cluster.capacityProviders in infra-{env}.json)."""

    default: CapacityProvider = "FARGATE"
    lane: CapacityProvider = "FARGATE"


class AppSource(StrictModel):
    """The app repository the service's pipeline builds from."""

    repository: str
    branch: str = "main"
    module_path: str = "."
    dockerfile: str = "Dockerfile"

    @field_validator("repository")
    @classmethod
    def _repo(cls, v: str) -> str:
        if not _REPO.fullmatch(v):
            raise ValueError(f"{v!r} is not an owner/name repository id (e.g. acme/user-api)")
        return v


class AlarmThresholds(StrictModel):
    """The article's alarm table: target 5xx > 1 %, RunningCount < DesiredCount
    three periods in a row, HealthyHostCount < 1."""

    target_5xx_percent: float = Field(default=1.0, gt=0, le=100, alias="target5xxPercent")
    running_below_desired_periods: int = Field(default=3, ge=1, le=10)
    healthy_hosts_min: int = Field(default=1, ge=1, le=1000)
    period_seconds: Literal[10, 30, 60, 300] = 60


class PromotionParams(StrictModel):
    """Progressive promotion (issue #15, automation/promotion.py): the weighted
    rule's stickiness, the default steps and bake, and the gate that compares
    the lane with the default lane. Every field has a default."""

    # ALB TargetGroupStickinessConfig.DurationSeconds: 1..604800 (7 days).
    stickiness_seconds: int = Field(default=3600, ge=1, le=604800)
    steps: list[int] = Field(default_factory=lambda: [10, 50, 100], min_length=1, max_length=20)
    bake_seconds: int = Field(default=300, ge=0, le=86400)
    poll_seconds: int = Field(default=60, ge=10, le=3600)
    max_5xx_percent_over_default: float = Field(default=1.0, ge=0, le=100, alias="max5xxPercentOverDefault")
    max_p99_ratio: float = Field(default=1.5, ge=1, le=100, alias="maxP99Ratio")
    min_p99_delta_ms: float = Field(default=50.0, ge=0, le=600000, alias="minP99DeltaMs")
    min_requests: int = Field(default=20, ge=0)
    breach_polls: int = Field(default=2, ge=1, le=10)
    window_polls: int = Field(default=3, ge=1, le=10)

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[int]) -> list[int]:
        from .routing.weighted import steps_problem

        problem = steps_problem(v)
        if problem:
            raise ValueError(f"{v} {problem}")
        return v

    @model_validator(mode="after")
    def _window(self) -> PromotionParams:
        if self.breach_polls > self.window_polls:
            raise ValueError(
                f"breachPolls {self.breach_polls} exceeds windowPolls {self.window_polls}; no window could breach"
            )
        return self


class ServiceParams(StrictModel):
    container_port: int = Field(ge=1, le=65535)
    cpu: int = 256
    memory: int = 512
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"
    desired_count: DesiredCount = DesiredCount()
    capacity_provider: LaneCapacity = LaneCapacity()
    health_check_path: str = "/health"
    health_check_grace_period_seconds: int = Field(default=30, ge=0, le=2147483647)
    environment: dict[str, str] = Field(default_factory=dict)
    # Name -> ARN of an SSM parameter or Secrets Manager secret; values are
    # never written into params or the task definition.
    secrets: dict[str, str] = Field(default_factory=dict)
    # The customer-managed KMS key the secrets are encrypted with, if any: the
    # execution role may decrypt with it only through Secrets Manager / SSM.
    secrets_kms_key_arn: str | None = None
    bootstrap_image: str | None = None
    # Runtime hardening; null means "on where infra-{env}.json says
    # production: true, off elsewhere". An image that must write somewhere
    # lists the paths in writablePaths (each gets its own task volume) rather
    # than turning the read-only root off.
    readonly_root_filesystem: bool | None = None
    run_as_non_root: bool | None = None
    user: str = "1000:1000"
    writable_paths: list[str] = Field(default_factory=list, max_length=10)
    app: AppSource
    alarms: AlarmThresholds = AlarmThresholds()
    promotion: PromotionParams = PromotionParams()
    # Headers that carry the lane: W3C tracestate (ctx=lane:X) always; W3C
    # baggage (lane=X) optionally. Each carrier costs listener rules.
    # The carriers are the table in components/routing/carriers.py.
    lane_carriers: list[str] = Field(default_factory=_required_carriers, min_length=1)
    # Accept lane headers only from these sources (e.g. the office VPN or an
    # authenticating proxy): each lane rule also needs a source-ip match, so
    # anyone else reaches the default lane whatever header they send. Empty:
    # any source may pick a lane (docs/security.md). At most 3 (ALB's limit
    # of match evaluations per rule, with the header pattern).
    lane_header_source_cidrs: list[str] = Field(default_factory=list, max_length=3)

    @field_validator("health_check_path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not _HEALTH_PATH.fullmatch(v) or len(v) > 1024:
            raise ValueError(
                f"{v!r} must be a path starting with / of letters, digits and _-.$/~\"'@:+&()!,;=%? "
                "(no spaces, at most 1024 characters)"
            )
        return v

    @field_validator("bootstrap_image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is None:
            return None
        check_image(v)
        if bootstrap_repository(v) not in BOOTSTRAP_REPOSITORIES:
            raise ValueError(
                f"{v!r} is not a bootstrap image multilane can make listen on containerPort and answer "
                f"healthCheckPath, so the first deploy would never turn healthy; use one of "
                f"{', '.join(BOOTSTRAP_REPOSITORIES)} with a tag, or remove bootstrapImage and deploy a built image"
            )
        return v

    @field_validator("environment")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        _check_env_names(v)
        return v

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, v: dict[str, str]) -> dict[str, str]:
        _check_env_names(v)
        for k, arn in v.items():
            if not _SECRET_ARN.fullmatch(arn):
                raise ValueError(
                    f"secret {k} must be the ARN of an SSM parameter or Secrets Manager secret, not {arn[:12]!r}..."
                )
            if "*" in arn or "?" in arn:
                raise ValueError(
                    f"secret {k} is {arn!r}, a wildcard that would let every lane read every matching secret; "
                    "name the one secret's full ARN"
                )
        return v

    @field_validator("secrets_kms_key_arn")
    @classmethod
    def _secrets_key(cls, v: str | None) -> str | None:
        if v is not None and not _KEY_ARN.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; IAM cannot scope by alias)"
            )
        return v

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not re.match(r"^[1-9][0-9]{0,9}(:[0-9]{1,10})?$", v):
            raise ValueError(f"{v!r} is not a non-root numeric user such as 1000 or 1000:1000 (uid 0 is root)")
        return v

    @field_validator("writable_paths")
    @classmethod
    def _writable(cls, v: list[str]) -> list[str]:
        for path in v:
            if not re.match(r"^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", path) or "/../" in f"{path}/":
                raise ValueError(f"{path!r} is not an absolute container path such as /tmp (and not / itself)")
        if len(set(v)) != len(v):
            raise ValueError("lists a path twice")
        return v

    @field_validator("lane_header_source_cidrs")
    @classmethod
    def _source_cidrs(cls, v: list[str]) -> list[str]:
        for c in v:
            _cidr(c)
        if len(set(v)) != len(v):
            raise ValueError("lists a CIDR twice")
        return v

    @field_validator("lane_carriers")
    @classmethod
    def _carriers(cls, v: list[str]) -> list[str]:
        # Imported here: components.routing imports stackname, which imports this module.
        from components.routing import carriers

        unknown = [c for c in v if c not in carriers.names()]
        if unknown:
            raise ValueError(f"holds {unknown[0]!r}; use {carriers.usage()}")
        if carriers.carrier_problem(v):
            raise ValueError(f"must list {carriers.usage(once=True)}")
        return v

    @model_validator(mode="after")
    def _fargate(self) -> ServiceParams:
        if self.cpu not in FARGATE_MEMORY:
            raise ValueError(f"cpu {self.cpu} is not a Fargate size (one of {sorted(FARGATE_MEMORY)})")
        if self.memory not in FARGATE_MEMORY[self.cpu]:
            options = FARGATE_MEMORY[self.cpu]
            raise ValueError(
                f"memory {self.memory} does not fit cpu {self.cpu} on Fargate (from {options[0]} to {options[-1]} MiB)"
            )
        both = set(self.environment) & set(self.secrets)
        if both:
            raise ValueError(f"{sorted(both)[0]} is both in environment and secrets")
        # The healthy-hosts alarm of every lane rolls its deploys back: a
        # minimum above a lane kind's task count would keep it in ALARM.
        minimum = self.alarms.healthy_hosts_min
        for kind, count in (("default", self.desired_count.default), ("lane", self.desired_count.lane)):
            if count and minimum > count:
                raise ValueError(
                    f"alarms.healthyHostsMin ({minimum}) is above desiredCount.{kind} ({count}): every "
                    f"{kind} lane's healthy-hosts alarm would stay in ALARM and roll its deploys back"
                )
        return self


# --- pipelines-{env}.json --------------------------------------------------------

_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUILD_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,254}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})?")
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+$")


class RepoRef(StrictModel):
    repository: str
    branch: str = "main"

    @field_validator("repository")
    @classmethod
    def _repo(cls, v: str) -> str:
        return AppSource._repo(v)


class PipelinesParams(StrictModel):
    connection_arn: str
    infra_repository: RepoRef
    state_bucket: str
    state_kms_key_arn: str | None = None
    pulumi_version: str = "3.272.0"
    build_image: str = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    artifact_retention_days: int = Field(default=30, ge=1, le=3650)
    build_log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365] = 30
    # Review lanes: the Secrets Manager secret holding a GitHub token that may
    # write the app repositories' pull-request comments (review deploy projects
    # read it as GITHUB_TOKEN). Without it the comment is printed in the build log.
    review_comment_token_secret_arn: str | None = None

    @field_validator("review_comment_token_secret_arn")
    @classmethod
    def _review_token(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+", v):
            raise ValueError(f"{v[:60]!r} is not the full ARN of one Secrets Manager secret (no wildcards)")
        return v

    @field_validator("connection_arn")
    @classmethod
    def _conn(cls, v: str) -> str:
        if not _CONNECTION_ARN.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a CodeConnections connection ARN "
                "(arn:aws:codeconnections:<region>:<account>:connection/<uuid>)"
            )
        return v

    @field_validator("state_bucket")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not _BUCKET.fullmatch(v) or ".." in v:
            raise ValueError(f"{v!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)")
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", v):
            raise ValueError(f"{v!r} is formatted as an IP address, which S3 bucket names must not be")
        return v

    @field_validator("build_image")
    @classmethod
    def _build_image(cls, v: str) -> str:
        if not _BUILD_IMAGE.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a CodeBuild image (e.g. aws/codebuild/amazonlinux-x86_64-standard:5.0 or an ECR image)"
            )
        return v

    @field_validator("state_kms_key_arn")
    @classmethod
    def _kms(cls, v: str | None) -> str | None:
        if v is not None and not _KMS_ARN.fullmatch(v):
            raise ValueError(f"{v!r} is not a KMS key or alias ARN")
        return v

    @field_validator("pulumi_version")
    @classmethod
    def _version(cls, v: str) -> str:
        if not re.fullmatch(r"\d+\.\d+\.\d+", v):
            raise ValueError(f"{v!r} is not a pinned version such as 3.272.0")
        return v


# --- loading -------------------------------------------------------------------

M = TypeVar("M", bound=StrictModel)


def _loc(loc: tuple[object, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("create", "wrap") and parts and parts[-1] == "network":
            continue  # the discriminated-union tag pydantic adds to the path
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _got(value: object) -> str:
    """The offending JSON value, short, with the fix for the usual strict-type slips."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    text = text if len(text) <= 60 else text[:57] + "..."
    hint = ""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value.strip()):
        hint = "; write the number without quotes"
    elif isinstance(value, str) and value.strip() in ("true", "false"):
        hint = "; write true or false without quotes"
    elif isinstance(value, bool):
        hint = "; true/false is not a number"
    return f", got {text}{hint}"


def describe(err: ValidationError, file: str) -> str:
    """One sentence for the first error (and a count of the others)."""
    first = err.errors()[0]
    field = _loc(first["loc"])
    kind = first["type"]
    msg = str(first["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        sentence = f"{file}: unknown key {field!r}; remove it or fix its spelling"
    elif kind == "missing":
        sentence = f"{file}: required key {field!r} is missing"
    else:
        where = f"field {field!r}: " if field else ""
        sentence = f"{file}: {where}{msg}"
        if kind != "value_error" and "input" in first:
            sentence += _got(first["input"])
    more = len(err.errors()) - 1
    if more:
        sentence += f" (and {more} more problem{'s' if more > 1 else ''} in that file)"
    return sentence


def rel(path: Path) -> str:
    """How messages name a params file or folder: ``params/infra-dev.json``."""
    if path.suffix:
        return f"{path.parent.name}/{path.name}"
    return path.name


MAX_JSON_DEPTH = 64


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


class _DuplicateKeyError(ValueError):
    pass


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _depth(text: str) -> int:
    """The deepest bracket nesting of ``text`` (strings skipped), without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def describe_unreadable(path: Path, name: str, exc: OSError) -> str:
    """Say what stands where a file should be: a directory, a symlink loop, no permission."""
    if exc.errno == errno.ELOOP:
        return f"{name} is a symbolic link that loops (or has too many levels); point it at a real file"
    if exc.errno == errno.EISDIR or path.is_dir():
        return f"{name} is a directory, not a file; remove it and create the JSON file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{name} cannot be read (permission denied); make it readable (chmod u+r)"
    return f"{name} cannot be read ({exc.strerror or exc}); fix the file"


def read_json(path: Path, name: str) -> object:
    """Parse one JSON file or raise MultilaneError naming ``name`` and the fix.

    Refuses what Python's json module would turn into a traceback or silently
    accept: bytes that are not UTF-8, nesting deeper than MAX_JSON_DEPTH,
    numbers too long to convert, duplicate keys, NaN and Infinity.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if path.is_symlink():
            raise MultilaneError(f"{name} is a symbolic link to a file that does not exist; fix the link") from None
        raise MultilaneError(f"{name}: cannot read it (no such file); check the path") from None
    except OSError as exc:
        raise MultilaneError(describe_unreadable(path, name, exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MultilaneError(
            f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise MultilaneError(f"{name} nests JSON deeper than {MAX_JSON_DEPTH} levels; params are flat data")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise MultilaneError(f"{name} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _DuplicateKeyError as exc:
        raise MultilaneError(f"{name} has the key {exc.args[0]!r} twice in one object; keep one") from None
    except (ValueError, RecursionError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "integer string conversion" in why:
            why = f"a number has more than {sys.get_int_max_str_digits()} digits"
        raise MultilaneError(f"{name} is not valid JSON ({why}); fix the value") from None


def load(model: type[M], path: Path) -> M:
    """Read and validate one params file or raise MultilaneError."""
    name = rel(path)
    if not path.exists() and not path.is_symlink():
        raise MultilaneError(f"{name} is missing; create it (the other files in {rel(path.parent)}/ are examples)")
    data = read_json(path, name)
    if not isinstance(data, dict):
        raise MultilaneError(f"{name} must hold a JSON object at the top level")
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise MultilaneError(describe(exc, name)) from None


def infra_path(env: str, params_dir: Path = PARAMS_DIR) -> Path:
    return params_dir / f"infra-{env}.json"


def boot_path(env: str, params_dir: Path = PARAMS_DIR) -> Path:
    return params_dir / f"boot-{env}.json"


def service_path(service: str, env: str, params_dir: Path = PARAMS_DIR) -> Path:
    return params_dir / f"{service}-{env}.json"


def pipelines_path(env: str, params_dir: Path = PARAMS_DIR) -> Path:
    return params_dir / f"pipelines-{env}.json"


def load_infra(env: str, params_dir: Path = PARAMS_DIR) -> InfraParams:
    return load(InfraParams, infra_path(env, params_dir))


def load_boot(env: str, params_dir: Path = PARAMS_DIR) -> BootParams:
    return load(BootParams, boot_path(env, params_dir))


def load_service(service: str, env: str, params_dir: Path = PARAMS_DIR) -> ServiceParams:
    return load(ServiceParams, service_path(service, env, params_dir))


def load_pipelines(env: str, params_dir: Path = PARAMS_DIR) -> PipelinesParams:
    return load(PipelinesParams, pipelines_path(env, params_dir))


def envs(params_dir: Path = PARAMS_DIR) -> list[str]:
    """Environments are the names with an infra-{env}.json."""
    out = []
    for p in sorted(params_dir.glob("infra-*.json")):
        env = p.stem.removeprefix("infra-")
        if naming.ENV_RE.fullmatch(env):
            out.append(env)
    return out


def services(env: str, params_dir: Path = PARAMS_DIR) -> list[str]:
    """Services of an env: every {service}-{env}.json that is not a layer file."""
    out = []
    for p in sorted(params_dir.glob(f"*-{env}.json")):
        service = p.stem[: -len(env) - 1]
        if service in naming.RESERVED_SERVICE_NAMES or not naming.LABEL_RE.fullmatch(service):
            continue
        out.append(service)
    return out
