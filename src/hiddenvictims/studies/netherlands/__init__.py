"""The Dutch case: CoMensha register plus the anonymous help chat Chat met Fier."""
