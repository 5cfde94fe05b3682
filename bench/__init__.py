"""ProSync benchmarks: `python -m bench [--quick] [--only NAME]` (see docs/PERFORMANCE.md).

Every figure is measured next to a baseline in the same run (the machine is shared and noisy), and
every bench states its bar and whether it passed. A bench whose pieces are missing is reported as
SKIP with the reason, never with a made-up figure.
"""
