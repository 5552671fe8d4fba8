"""IAM roles, inline role policies, managed policies and attachments.

moto checks policy grammar (IAMPolicyDocumentValidator) on every document.
"""

from __future__ import annotations

from .core import Emulated, Request, drop_none, emulates, tag_list


@emulates("aws:iam/role:Role")
def role(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=64)
    r = req.call(
        "iam",
        "create_role",
        RoleName=name,
        AssumeRolePolicyDocument=i["assumeRolePolicy"],
        **drop_none(
            Path=i.get("path"),
            Description=i.get("description"),
            MaxSessionDuration=i.get("maxSessionDuration"),
            PermissionsBoundary=i.get("permissionsBoundary"),
            Tags=tag_list(i.get("tags")) or None,
        ),
    )["Role"]
    for inline in i.get("inlinePolicies") or []:
        req.call("iam", "put_role_policy", RoleName=name, PolicyName=inline["name"], PolicyDocument=inline["policy"])
    for arn in i.get("managedPolicyArns") or []:
        req.call("iam", "attach_role_policy", RoleName=name, PolicyArn=arn)

    def delete() -> None:
        for inline in i.get("inlinePolicies") or []:
            req.call("iam", "delete_role_policy", RoleName=name, PolicyName=inline["name"])
        for arn in i.get("managedPolicyArns") or []:
            req.call("iam", "detach_role_policy", RoleName=name, PolicyArn=arn)
        req.call("iam", "delete_role", RoleName=name)

    return Emulated(
        name,
        req.state(arn=r["Arn"], name=name, uniqueId=r["RoleId"], createDate=str(r["CreateDate"])),
        delete=delete,
        probe=lambda: req.call("iam", "get_role", RoleName=name)["Role"],
    )


@emulates("aws:iam/rolePolicy:RolePolicy")
def role_policy(req: Request) -> Emulated:
    i = req.inputs
    role_name, name = i["role"], req.physical_name(limit=128)
    req.call("iam", "put_role_policy", RoleName=role_name, PolicyName=name, PolicyDocument=i["policy"])
    return Emulated(
        f"{role_name}:{name}",
        req.state(name=name),
        delete=lambda: req.call("iam", "delete_role_policy", RoleName=role_name, PolicyName=name),
        probe=lambda: req.call("iam", "get_role_policy", RoleName=role_name, PolicyName=name)["PolicyDocument"],
    )


@emulates("aws:iam/policy:Policy")
def managed_policy(req: Request) -> Emulated:
    i = req.inputs
    name = i.get("name") or req.physical_name(limit=128)
    r = req.call(
        "iam",
        "create_policy",
        PolicyName=name,
        PolicyDocument=i["policy"],
        **drop_none(Path=i.get("path"), Description=i.get("description"), Tags=tag_list(i.get("tags")) or None),
    )["Policy"]
    arn = r["Arn"]
    return Emulated(
        arn,
        req.state(arn=arn, name=name, policyId=r["PolicyId"]),
        delete=lambda: req.call("iam", "delete_policy", PolicyArn=arn),
        probe=lambda: req.call("iam", "get_policy", PolicyArn=arn)["Policy"],
    )


@emulates("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def role_policy_attachment(req: Request) -> Emulated:
    i = req.inputs
    role_name, arn = i["role"], i["policyArn"]
    req.call("iam", "attach_role_policy", RoleName=role_name, PolicyArn=arn)

    def attached() -> str:
        found = req.call("iam", "list_attached_role_policies", RoleName=role_name)["AttachedPolicies"]
        if arn not in [p["PolicyArn"] for p in found]:
            raise LookupError(f"{arn} is not attached to {role_name}")
        return arn

    return Emulated(
        f"{role_name}/{arn}",
        req.state(),
        delete=lambda: req.call("iam", "detach_role_policy", RoleName=role_name, PolicyArn=arn),
        probe=attached,
    )
