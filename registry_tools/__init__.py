"""Model Registry tools: versions, tags, aliases, gated promotion, rollback, lineage.

The operations each command calls: ``versions.register``, ``catalog.list_models`` and
``catalog.show``, ``tags.set_tags``/``remove_tags``/``describe``, ``aliases.set_alias``/
``remove_alias``, ``promote.promote`` and ``rollback.rollback``. All of them take a
``client.Registry`` (one tracking URI) and return a typed result; ``cli`` and ``render``
are the only modules that print.
"""

__all__: list[str] = []
