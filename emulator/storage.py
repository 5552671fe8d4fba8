"""S3: the artifact bucket and its separate configuration resources."""

from __future__ import annotations

import secrets
from typing import Any

from moto.iam.policy_validation import IAMPolicyDocumentValidator

from .core import Emulated, EmulationError, Request, drop_none, emulates, tag_list


@emulates("aws:s3/bucket:Bucket")
def bucket(req: Request) -> Emulated:
    i = req.inputs
    name = i.get("bucket")
    if not name:
        prefix = i.get("bucketPrefix") or f"{req.name}-"
        name = f"{prefix}{secrets.token_hex(13)}"[:63]  # the provider appends 26 characters
    config = {} if req.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": req.region}}
    req.call("s3", "create_bucket", Bucket=name, **config)
    if i.get("tags"):
        req.call("s3", "put_bucket_tagging", Bucket=name, Tagging={"TagSet": tag_list(i["tags"])})
    return Emulated(
        name,
        req.state(
            bucket=name,
            arn=f"arn:aws:s3:::{name}",
            bucketDomainName=f"{name}.s3.amazonaws.com",
            bucketRegionalDomainName=f"{name}.s3.{req.region}.amazonaws.com",
            region=req.region,
        ),
        # forceDestroy is the provider emptying the bucket first.
        delete=lambda: req.call("s3", "delete_bucket", Bucket=name),
        probe=lambda: req.call("s3", "get_bucket_location", Bucket=name)["LocationConstraint"],
    )


def _bucket_setting(put: str, get: str, delete: str | None, body: Any, undo: Any = None) -> Any:
    """A resource that is one PUT of a bucket sub-configuration (``undo``:
    what the provider does on delete when there is no DELETE call)."""

    def handler(req: Request) -> Emulated:
        name = req.inputs["bucket"]
        param, value = body(req.inputs)
        req.call("s3", put, Bucket=name, **{param: value})

        def remove() -> None:
            if delete is None and undo is not None:
                req.call("s3", put, Bucket=name, **dict([undo]))
                return
            if delete is None:
                raise EmulationError(f"{req.type} cannot be deleted, only changed")
            req.call("s3", delete, Bucket=name)

        def probe() -> Any:
            answer = req.call("s3", get, Bucket=name)
            answer.pop("ResponseMetadata", None)
            return answer

        return Emulated(name, req.state(), delete=remove, probe=probe)

    return handler


def _encryption(i: dict[str, Any]) -> tuple[str, Any]:
    rules = []
    for r in i["rules"]:
        by_default = r.get("applyServerSideEncryptionByDefault")
        rules.append(
            drop_none(
                ApplyServerSideEncryptionByDefault=drop_none(
                    SSEAlgorithm=by_default["sseAlgorithm"], KMSMasterKeyID=by_default.get("kmsMasterKeyId")
                )
                if by_default
                else None,
                BucketKeyEnabled=r.get("bucketKeyEnabled"),
            )
        )
    return "ServerSideEncryptionConfiguration", {"Rules": rules}


def _lifecycle_rule(r: dict[str, Any]) -> dict[str, Any]:
    f = r.get("filter")
    exp = r.get("expiration")
    nce = r.get("noncurrentVersionExpiration")
    abort = r.get("abortIncompleteMultipartUpload")
    return drop_none(
        ID=r.get("id"),
        Status=r["status"],
        Filter=drop_none(Prefix=f.get("prefix"), ObjectSizeGreaterThan=f.get("objectSizeGreaterThan"))
        if f is not None
        else None,
        Expiration=drop_none(Days=exp.get("days"), Date=exp.get("date")) if exp else None,
        NoncurrentVersionExpiration=drop_none(
            NoncurrentDays=nce.get("noncurrentDays"), NewerNoncurrentVersions=nce.get("newerNoncurrentVersions")
        )
        if nce
        else None,
        AbortIncompleteMultipartUpload={"DaysAfterInitiation": abort["daysAfterInitiation"]} if abort else None,
    )


emulates("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")(
    _bucket_setting(
        "put_public_access_block",
        "get_public_access_block",
        "delete_public_access_block",
        lambda i: (
            "PublicAccessBlockConfiguration",
            {
                "BlockPublicAcls": bool(i.get("blockPublicAcls")),
                "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
                "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
                "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets")),
            },
        ),
    )
)
emulates("aws:s3/bucketOwnershipControls:BucketOwnershipControls")(
    _bucket_setting(
        "put_bucket_ownership_controls",
        "get_bucket_ownership_controls",
        "delete_bucket_ownership_controls",
        lambda i: ("OwnershipControls", {"Rules": [{"ObjectOwnership": i["rule"]["objectOwnership"]}]}),
    )
)
emulates("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")(
    _bucket_setting("put_bucket_encryption", "get_bucket_encryption", "delete_bucket_encryption", _encryption)
)
emulates("aws:s3/bucketVersioning:BucketVersioning")(
    _bucket_setting(
        "put_bucket_versioning",
        "get_bucket_versioning",
        None,  # a versioned bucket can only be suspended, never unversioned
        lambda i: (
            "VersioningConfiguration",
            drop_none(
                Status=i["versioningConfiguration"]["status"], MFADelete=i["versioningConfiguration"].get("mfaDelete")
            ),
        ),
        # the provider's delete suspends versioning (pulumi-aws BucketVersioning docs)
        undo=("VersioningConfiguration", {"Status": "Suspended"}),
    )
)


def _bucket_policy(i: dict[str, Any]) -> tuple[str, Any]:
    # moto's S3 stores any JSON; run the policy through moto's IAM grammar
    # check (the one PutRolePolicy applies) so a bucket policy AWS would call
    # malformed fails here too.
    IAMPolicyDocumentValidator(i["policy"]).validate()
    return "Policy", i["policy"]


emulates("aws:s3/bucketPolicy:BucketPolicy")(
    _bucket_setting("put_bucket_policy", "get_bucket_policy", "delete_bucket_policy", _bucket_policy)
)
emulates("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")(
    _bucket_setting(
        "put_bucket_lifecycle_configuration",
        "get_bucket_lifecycle_configuration",
        "delete_bucket_lifecycle",
        lambda i: ("LifecycleConfiguration", {"Rules": [_lifecycle_rule(r) for r in i["rules"]]}),
    )
)
