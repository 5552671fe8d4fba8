"""The Pulumi program: stack name -> layer build -> exports.

``__main__.py`` (the CLI's entry) and the offline harness (``automation``)
both call :func:`run`, so what ``plan`` and the tests see is exactly what
``pulumi up`` deploys. Layer modules are imported lazily: an infra stack never
pays for the pipelines layer's imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

from . import params, stackconfig, stackname
from .contract import LAYERS, Layer, Outputs
from .stackconfig import StackConfig

# Each layer's build takes its own Target type (InfraTarget, ...); the
# contract pairs a layer with its builder, so the dispatch is by layer name.
Builder = Callable[[Any, StackConfig, Path], Outputs]


def builder(layer: Layer) -> Builder:
    """The ``build`` of the layer's module (the contract names it)."""
    module = importlib.import_module(LAYERS[layer].builder)
    build: Builder = module.build
    return build


def run(stack: str, params_dir: Path = params.PARAMS_DIR) -> dict[str, Any]:
    """Resolve ``stack``, build its layer and export the outputs.

    Raises MultilaneError (before any resource is registered) for bad input.
    """
    target = stackname.resolve(stack, params_dir)
    config = stackconfig.read(stack)
    outputs = builder(target.layer)(target, config, params_dir).exports()
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
