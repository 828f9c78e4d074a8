"""Core layer: capture tables, readers, model specs, the Estimate and its summaries, results folders.

Imports nothing else from the package (see docs/architecture.md).
"""
