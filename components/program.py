"""The Pulumi program: stack name -> layer build -> exports.

``__main__.py`` (the CLI's entry) and the offline harness (``automation``)
both call :func:`run`, so what ``plan`` and the tests see is exactly what
``pulumi up`` deploys. Layer modules are imported lazily: an infra stack never
pays for the pipelines layer's imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi

from . import params, stackconfig, stackname
from .stackconfig import StackConfig
from .stackname import Target

Builder = Callable[[Target, StackConfig, Path], Mapping[str, pulumi.Input[Any]]]

LAYER_MODULES = {
    "infra": "components.layers.infra",
    "boot": "components.layers.boot",
    "lane": "components.layers.lane.component",
    "pipelines": "components.layers.pipelines.component",
}


def builder(layer: str) -> Builder:
    module = importlib.import_module(LAYER_MODULES[layer])
    build: Builder = module.build  # every layer module defines build with this signature
    return build


def run(stack: str, params_dir: Path = params.PARAMS_DIR) -> dict[str, pulumi.Input[Any]]:
    """Resolve ``stack``, build its layer and export the outputs.

    Raises MultilaneError (before any resource is registered) for bad input.
    """
    target = stackname.resolve(stack, params_dir)
    config = stackconfig.read(stack)
    outputs = dict(builder(target.layer)(target, config, params_dir))
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
