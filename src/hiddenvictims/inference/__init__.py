"""Samplers we drive or own: NUTS through PyMC/nutpie, parallel tempering. Imports only core."""
