"""Drift detection, scoring server metrics and monitoring configs."""
