"""The kernel: errors and exit codes, atomic writes, content digests, JSON output and the
``KEY=VALUE`` parser.

Every package builds on it, and it imports nothing but the standard library (no mlflow,
typer or rich; ``make lint`` enforces it), so it is cheap to import anywhere.
"""
