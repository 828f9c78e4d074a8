"""Case studies built on the model families (never imported by a family)."""
