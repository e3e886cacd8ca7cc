"""The stage loop: plan, run directory, lock, provenance, resuming."""
