"""Foundations every other room stands on: errors, file io, the result matrix, metrics, run records."""
