"""Every piece of output formatting and writing: terminal tables, reports, plots."""
