"""Case studies built on the model families; a family never imports a study."""
