"""Evaluation: backends (three calls over requests), task kinds (requests and scores), scorers."""
