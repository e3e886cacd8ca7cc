"""Evaluation backends: three calls over lists of requests for one checkpoint; a registry by name."""
