"""The run feature: ``mlharness run``, ``show``, ``replay`` and ``verify``.

Resolve a project source, validate the run spec against its MLproject, launch it through
MLflow, record the manifest, cache by key, replay and compare.
"""
