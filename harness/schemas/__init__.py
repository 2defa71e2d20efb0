"""Shared schemas: the pydantic models of what mlharness reads and writes (the run manifest,
the pipeline config) and the one way to validate a file against a model."""
