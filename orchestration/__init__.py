"""What runs a model in production, on top of every other package: Airflow pipelines
(``pipelines``), the scoring server (``serving``), the demo (``demo``) and the supervised
processes they start (``processes``)."""
