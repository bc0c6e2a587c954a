"""Benchmarks: scripts that measure the service beside its floors (`make bench`).

Never run by the test suite, never asserted on: the machine is shared and noisy, so every
figure is measured side by side with its floor in the same run, and read as a ratio.
"""
