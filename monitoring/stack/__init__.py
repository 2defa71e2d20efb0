"""The monitoring stack rendered from the pipeline config, mixin style.

One source (the pipeline config plus the metric catalogue) gives Prometheus' scrape config,
the alert and recording rules, their ``promtool`` tests, Alertmanager's routes, the blackbox
modules and the Grafana dashboard: ``settings`` derives every number once, ``alerts`` /
``rules`` / ``dashboard`` hold the definitions as data, ``render`` feeds them to the
cookiecutter template ``templates/monitoring-stack``, ``check`` lints a rendered stack.
"""

from __future__ import annotations

__all__: list[str] = []
