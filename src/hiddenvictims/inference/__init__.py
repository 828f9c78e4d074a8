"""Samplers shared by the model families."""
