"""Model references (alias, local directory, hub id) resolved to a loadable directory."""
