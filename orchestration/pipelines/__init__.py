"""Airflow pipelines: ``mlharness airflow render`` writes DAGs and their compose stack from a
pipeline config; ``tasks`` is what the rendered DAGs' tasks call."""
