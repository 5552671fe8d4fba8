"""IAM, as plain policy documents (no Pulumi): ``documents`` (the shape),
``actions`` (what each layer may change), ``pipeline_roles`` (the deploy and
build roles of the pipelines layer), ``lane_roles`` (the lane task roles) and
``buckets`` (bucket policies). Resources are always scoped to what a layer
owns; the only ``"*"`` is an action AWS does not let anyone scope
(``ecr:GetAuthorizationToken``)."""

from . import actions, buckets, documents, lane_roles, pipeline_roles

__all__ = ["actions", "buckets", "documents", "lane_roles", "pipeline_roles"]
