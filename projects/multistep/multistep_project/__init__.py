"""Multistep pipeline project: ingest -> featurize -> train -> evaluate, with honest reuse."""
