"""Model Registry tools: versions, tags, aliases, gated promotion, rollback, lineage."""
