"""Data at rest: S3 buckets encrypted, versioned and private; logs expire.

In pulumi-aws 7 a bucket's encryption, versioning and public access block
are separate resources, so one stack policy joins them to their bucket: a
companion belongs to the bucket its ``bucket`` input depends on (or, for a
literal, whose name it equals). Inline (deprecated) bucket arguments count
too. Log groups are checked one by one.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .facts import PackContext, as_list, get, normalize_type

BUCKETS = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
ENCRYPTION = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
}
VERSIONING = {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = {"AES256", "aws:kms", "aws:kms:dsse"}
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

S3_NAME = "s3-bucket-secure"
S3_DESCRIPTION = (
    "S3 buckets are encrypted, versioned and block all public access: pipeline artifacts carry build "
    "outputs and deploy parameters, so they must never be readable from the internet, silently "
    "overwritten or stored in clear. Fix: give each bucket a BucketServerSideEncryptionConfiguration "
    "(AES256 or aws:kms), a BucketVersioning with status Enabled and a BucketPublicAccessBlock with all "
    "four flags true, each with bucket=<the bucket>.id."
)
RETENTION_NAME = "log-group-retention"
RETENTION_DESCRIPTION = (
    "Log groups have a retention: logs that never expire grow cost without bound and keep data longer "
    "than anyone decided. Fix: set retention_in_days (boot-{env}.json logRetentionDays, "
    "pipelines-{env}.json buildLogRetentionDays)."
)


def _companions(bucket: PolicyResource, resources: list[PolicyResource], types: set[str]) -> list[PolicyResource]:
    name = get(bucket.props, "bucket")
    out = []
    for r in resources:
        if normalize_type(r.resource_type) not in types:
            continue
        deps = r.property_dependencies.get("bucket", [])
        if any(d.urn == bucket.urn for d in deps) or (not deps and name is not None and get(r.props, "bucket") == name):
            out.append(r)
    return out


def _encrypted(rules: Any) -> bool:
    return any(
        get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") in SSE_ALGORITHMS for rule in as_list(rules)
    )


def bucket_problems(bucket: PolicyResource, resources: list[PolicyResource]) -> list[str]:
    problems = []
    inline_sse = get(bucket.props, "serverSideEncryptionConfiguration", "rule")
    encryption = _companions(bucket, resources, ENCRYPTION)
    if not (_encrypted(inline_sse) or any(_encrypted(get(e.props, "rules")) for e in encryption)):
        problems.append("is not encrypted (no server-side encryption configuration with AES256 or aws:kms)")
    inline_versioning = get(bucket.props, "versioning", "enabled")
    versioning = _companions(bucket, resources, VERSIONING)
    if not (
        inline_versioning is True
        or any(get(v.props, "versioningConfiguration", "status") == "Enabled" for v in versioning)
    ):
        problems.append("is not versioned (no BucketVersioning with status Enabled)")
    blocks = _companions(bucket, resources, {PUBLIC_ACCESS_BLOCK})
    if not blocks:
        problems.append("has no BucketPublicAccessBlock")
    else:
        off = sorted({f for b in blocks for f in PUBLIC_ACCESS_FLAGS if get(b.props, f) is not True})
        if off and not any(all(get(b.props, f) is True for f in PUBLIC_ACCESS_FLAGS) for b in blocks):
            problems.append(f"does not block all public access ({', '.join(off)} not true)")
    return problems


def policies(ctx: PackContext) -> list[Policy]:
    def s3(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = list(args.resources)
        for bucket in resources:
            if normalize_type(bucket.resource_type) not in BUCKETS:
                continue
            for problem in bucket_problems(bucket, resources):
                report(f"bucket {bucket.name} {problem}", bucket.urn)

    def retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != LOG_GROUP:
            return
        days = args.props.get("retentionInDays")
        if not days:
            report(f"log group {args.name} never expires its events (retentionInDays is not set)", None)

    return [
        StackValidationPolicy(S3_NAME, S3_DESCRIPTION, s3, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(RETENTION_NAME, RETENTION_DESCRIPTION, retention, EnforcementLevel.MANDATORY),
    ]
