"""What users ask of an Analysis: explanations and audits, verify, images, size report, fleet,
freshness. Each takes an Analysis and returns a result type; none prints."""
