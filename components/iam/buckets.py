"""Bucket policies: the artifact bucket and the ALB access-log bucket."""

from __future__ import annotations

from components import naming, regions

from .documents import Policy, document


def artifact_bucket_policy(bucket_arn: str) -> Policy:
    """Bucket policy of the artifact bucket: TLS only, for everyone."""
    return document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


def alb_access_log_bucket_policy(bucket_arn: str, prefix: str, *, account: str, region: str) -> Policy:
    """Bucket policy of an ALB access log bucket: Elastic Load Balancing may
    write only this account's logs under ``prefix``, everyone else only over TLS."""
    elb_account = regions.ELB_LOG_ACCOUNTS.get(region)
    principal = (
        {"AWS": naming.arn("aws", "iam", "", elb_account, "root")}
        if elb_account
        else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    )
    return document(
        [
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{prefix}/AWSLogs/{account}/*",
            },
            *artifact_bucket_policy(bucket_arn)["Statement"],
        ]
    )
