"""Runner commands; each module has ``register(subparsers)`` (see automation/cli.py)."""
