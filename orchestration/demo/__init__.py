"""``make demo``: the whole life of a model in one command, one module per step."""
