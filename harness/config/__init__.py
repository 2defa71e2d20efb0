"""``mlharness config``: the pipeline config's JSON Schema and the checks beyond the schema."""

__all__: list[str] = []
