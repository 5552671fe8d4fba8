"""Lane layer: ``component`` (the AppLane and the stack's build) assembles
``roles``, ``traffic`` and ``service``; ``container`` is the pure part."""
