"""Shared resources are protected; production load balancers resist deletion.

Every lane of every service hangs off the infra network and the boot ALB and
listener(s). ``protect`` makes the engine refuse to delete them (a mistaken
``destroy``, a refactor that renames them): decommissioning is deliberate,
``pulumi state unprotect`` then ``pulumi destroy`` (README, "Governance").
ALB deletion protection is the same guard on the AWS side, against a console
click or an API call outside Pulumi: mandatory where
``params/infra-{env}.json`` says ``production: true``, advisory elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from components.contract import LAYERS, LOAD_BALANCER

from .facts import PackContext, normalize_type, truthy

# Which owned types must carry protect is a contract fact (components/contract.py).
PROTECTED: dict[str, frozenset[str]] = {name: spec.protects for name, spec in LAYERS.items() if spec.protects}

PROTECT_NAME = "shared-resources-protected"
PROTECT_DESCRIPTION = (
    "Shared resources carry protect: the infra network (VPC, subnets, gateways, routes) and the boot ALB and "
    "listeners serve every lane, so the engine must refuse to delete them by accident. Fix: create them with "
    "ResourceOptions(protect=True); to decommission on purpose run `pulumi state unprotect` then `pulumi destroy`."
)
PROD_NAME = "alb-deletion-protection-production"
PROD_DESCRIPTION = (
    "Production ALBs have deletion protection: in an env whose params/infra-{env}.json says production: true, "
    "a load balancer deleted outside Pulumi (console, API) would cut every lane of the service. Fix: set "
    "enable_deletion_protection=True (boot-{env}.json deletionProtection)."
)
ADVISORY_NAME = "alb-deletion-protection"
ADVISORY_DESCRIPTION = (
    "ALBs outside production should consider deletion protection (advisory): it guards the shared listener "
    "against deletion outside Pulumi. Fix: set deletionProtection: true in params/boot-{env}.json, or accept "
    "the risk for a disposable env."
)


def policies(ctx: PackContext) -> list[Policy]:
    def protect(args: ResourceValidationArgs, report: ReportViolation) -> None:
        target = ctx.target(args.urn)
        if target is None:
            return
        if normalize_type(args.resource_type) in PROTECTED.get(target.layer, frozenset()) and not args.opts.protect:
            report(
                f"{args.resource_type} {args.name} in {target.stack} is shared by every lane but not protected", None
            )

    def deletion(production: bool) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if normalize_type(args.resource_type) != LOAD_BALANCER:
                return
            target = ctx.target(args.urn)
            if target is None or ctx.production(target.env) != production:
                return
            if not truthy(args.props.get("enableDeletionProtection", False)):
                where = "production" if production else "non-production"
                report(f"load balancer {args.name} in {where} env {target.env!r} has deletion protection off", None)

        return validate

    return [
        ResourceValidationPolicy(PROTECT_NAME, PROTECT_DESCRIPTION, protect, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(PROD_NAME, PROD_DESCRIPTION, deletion(True), EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(ADVISORY_NAME, ADVISORY_DESCRIPTION, deletion(False), EnforcementLevel.ADVISORY),
    ]
