"""Drift detection, scoring server metrics and monitoring configs."""

__all__: list[str] = []
