"""Reference trainers: thin wrappers over TRL (recipes live in the top-level ``trainers/``)."""
