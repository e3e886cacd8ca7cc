"""Evaluation backends: three calls over lists of requests for one checkpoint."""
