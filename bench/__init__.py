"""Benchmarks behind `make bench`: each module here has ``main() -> list[str]``
that measures something and returns report lines. Targets are checked here
and reported, never asserted in tests."""
