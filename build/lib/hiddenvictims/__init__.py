"""hiddenvictims."""
