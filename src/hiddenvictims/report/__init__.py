"""Every piece of output formatting and writing: terminal tables, reports, plots, the HTML report
(:mod:`.html`), its figures, its message catalogue, small-cell suppression and quotable
sentences."""
