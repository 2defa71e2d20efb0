"""Drift detection (reference profiles, batch and concept drift, reports), the metric
catalogue, and the monitoring stack rendered from a pipeline config (``stack``)."""

__all__: list[str] = []
