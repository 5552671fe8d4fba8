"""Pipelines layer: ``component`` (DeliveryPipelines and the stack's build)
assembles the ``parts``; ``stages`` is the pure pipeline structure."""
