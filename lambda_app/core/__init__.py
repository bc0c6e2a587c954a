"""The scoring core: the applicant schema, model inputs, the model bundle and scoring; no web framework."""
