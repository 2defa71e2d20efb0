"""``mlharness serve``: a scoring server for registered MLflow models.

The same ``/invocations`` protocol as ``mlflow models serve`` (MLflow's own parsing), plus
adaptive batching, Prometheus metrics, online drift gauges and hot alias reload.
"""
