"""The runner: offline plan, and the Automation API commands CI runs."""
