"""``mlharness up``, ``down`` and ``status``: a pipeline's whole stack on this machine,
without Docker, from the same service table as the rendered compose files."""
