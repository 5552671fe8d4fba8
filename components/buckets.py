"""One private S3 bucket shape, shared by every bucket the layers make.

Owner-enforced (no ACLs), public access blocked, SSE-S3 encrypted, versioned,
and expiring: the artifact store (pipelines) and the ALB access log bucket
(boot) differ only in name, retention and their bucket policy, which each
caller adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Expiry:
    rule_id: str
    days: int
    noncurrent_days: int
    abort_multipart_days: int | None = None


def private_bucket(
    name: str,
    *,
    bucket_prefix: str,
    tags: dict[str, str],
    expiry: Expiry,
    opts: pulumi.ResourceOptions,
    force_destroy: bool = False,
) -> aws.s3.Bucket:
    """The bucket and its settings, all children of ``opts``' parent, each named ``name``."""
    bucket = aws.s3.Bucket(name, bucket_prefix=bucket_prefix, force_destroy=force_destroy, tags=tags, opts=opts)
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        # SSE-S3: the one encryption ALB log delivery supports; artifacts need no more.
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=opts,
    )
    aws.s3.BucketVersioning(
        name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=opts,
    )
    abort = (
        None
        if expiry.abort_multipart_days is None
        else aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=expiry.abort_multipart_days
        )
    )
    rule = aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=expiry.rule_id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry.days),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=expiry.noncurrent_days
        ),
        abort_incomplete_multipart_upload=abort,
    )
    aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=[rule], opts=opts)
    return bucket
