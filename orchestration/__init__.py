"""Pipeline config -> Airflow DAG and compose stack."""
