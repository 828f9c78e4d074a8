"""The Dutch case: victims of trafficking out of sight of the register, with the anonymous chat."""
