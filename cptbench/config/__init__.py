"""Suite and recipe schemas (pydantic at every file boundary) and their loading."""
