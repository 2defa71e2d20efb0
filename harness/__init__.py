"""Run MLflow Projects reproducibly: resolve, validate, launch, record, cache, replay, verify."""

__all__ = ["__version__"]

__version__ = "0.1.0"
