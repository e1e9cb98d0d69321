"""Benchmarks of the sales document addons, measured as same-run ratios.

See README.md; entry point ``python -m benchmarks`` (``make bench``).
"""
