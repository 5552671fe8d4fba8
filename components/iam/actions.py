"""The IAM actions each deploy role may take, grouped by what they change.

Layer boundaries and the lane roles' permissions boundary are expressed in
these groups (``pipeline_roles.py`` grants and denies them).
"""

from __future__ import annotations

from components.contract import LAYERS, Layer

# State actions that change an object; reads stay allowed where needed (the
# lane program's StackReferences read boot and infra state).
STATE_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
STATE_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")

# IAM actions that change identities or hand them out.
IAM_WRITE_ACTIONS = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Create*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:PassRole",
    "iam:Put*",
    "iam:Remove*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)

# The shared network: the infra layer's, nobody else's.
VPC_WRITE_ACTIONS = (
    "ec2:AllocateAddress",
    "ec2:AssociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateRouteTable",
    "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute",
    "ec2:ReleaseAddress",
    "ec2:ReplaceRoute",
    "ec2:ReplaceRouteTableAssociation",
)

# The creates among them: the request must tag the new resource with the env.
VPC_CREATE_ACTIONS = tuple(a for a in VPC_WRITE_ACTIONS if a.split(":")[1].startswith(("Create", "Allocate")))

# Lanes own no EC2 resource at all: every EC2 change is someone else's.
EC2_ALL_WRITES = (
    "ec2:Allocate*",
    "ec2:Associate*",
    "ec2:Attach*",
    "ec2:Authorize*",
    "ec2:Create*",
    "ec2:Delete*",
    "ec2:Detach*",
    "ec2:Disassociate*",
    "ec2:Modify*",
    "ec2:Release*",
    "ec2:Replace*",
    "ec2:Revoke*",
)

# Security groups belong to boot (ALB and service groups).
SECURITY_GROUP_WRITE_ACTIONS = (
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateSecurityGroup",
    "ec2:DeleteSecurityGroup",
    "ec2:ModifySecurityGroupRules",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)

# What changes the rules of an existing group (not the group itself).
SECURITY_GROUP_RULE_ACTIONS = tuple(
    a for a in SECURITY_GROUP_WRITE_ACTIONS if a not in ("ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup")
)

# Load balancers and listeners belong to boot.
LB_WRITE_ACTIONS = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
)

# Listener rules belong to lanes.
RULE_WRITE_ACTIONS = (
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
)

TARGET_GROUP_WRITE_ACTIONS = (
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
)

# ECS services and task definitions belong to lanes; clusters to infra.
ECS_LANE_WRITE_ACTIONS = (
    "ecs:CreateService",
    "ecs:DeleteService",
    "ecs:DeregisterTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
)
ECS_CLUSTER_WRITE_ACTIONS = (
    "ecs:CreateCluster",
    "ecs:DeleteCluster",
    "ecs:PutClusterCapacityProviders",
    "ecs:UpdateCluster",
    "ecs:UpdateClusterSettings",
)

# Read-only EC2 lookups the provider makes; none has a resource type.
EC2_DESCRIBE_ACTIONS = (
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
)

# Cloud Map's tagging actions take "*" only.
SERVICEDISCOVERY_TAG_ACTIONS = (
    "servicediscovery:ListTagsForResource",
    "servicediscovery:TagResource",
    "servicediscovery:UntagResource",
)

DISCOVERY_WRITE_ACTIONS = (
    "servicediscovery:CreateService",
    "servicediscovery:DeleteService",
    "servicediscovery:UpdateService",
)

# Listener and certificate changes (the boot role may not make them in prod).
PROD_LISTENER_ACTIONS = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:RemoveListenerCertificates",
)

ALARM_WRITE_ACTIONS = (
    "cloudwatch:DeleteAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
)

# Resources these tags mark are another layer's; the deny below protects them
# where name prefixes cannot (a lane's target group name shares its head with
# the boot stack's default target group).
# Pipeline role kind -> the layer whose stacks it deploys ("app" deploys lanes).
ROLE_LAYER: dict[str, Layer] = {"infra": "infra", "boot": "boot", "app": "lane"}
FOREIGN_LAYER_TAGS = {role: [name for name in LAYERS if name != layer] for role, layer in ROLE_LAYER.items()}


# What a lane role may be created or given permissions with only while it
# carries the service's boundary (iam:PermissionsBoundary condition key).
BOUNDARY_GUARDED_ACTIONS = ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy")
BOUNDARY_POLICY_WRITE_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)

ECS_TASK_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
