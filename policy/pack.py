"""The policy pack's contents: every policy, in the order the CLI lists them.

Building the list constructs ``Policy`` objects only; ``PolicyPack`` (which
starts the gRPC server the engine talks to) is created in ``__main__.py``.
"""

from __future__ import annotations

from pathlib import Path

from pulumi_policy import EnforcementLevel, Policy

from components import params

from . import data, iam, lanes, layers, network, pipeline_roles, protection, tagging
from .facts import PackContext

PACK_NAME = "multilane-governance"
DEFAULT_LEVEL = EnforcementLevel.MANDATORY
MODULES = (layers, lanes, tagging, network, data, iam, pipeline_roles, protection)


def policies(params_dir: Path = params.PARAMS_DIR) -> list[Policy]:
    ctx = PackContext(params_dir)
    out: list[Policy] = []
    for module in MODULES:
        out.extend(module.policies(ctx))
    return out
