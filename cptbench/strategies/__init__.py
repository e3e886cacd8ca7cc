"""Continual-learning methods around the trainers: replay mixing and stage orders."""
