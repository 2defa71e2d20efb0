"""The MLflow boundary: every call into MLflow's tracking store and registry goes through
this room (the boundary module and the typed facades beside it), so errors are converted,
retries are bounded and the tracking URI is resolved in one place."""
