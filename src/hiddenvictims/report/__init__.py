"""Everything that formats or writes output for people: the HTML report (:mod:`.html`), its
figures, its message catalogue, small-cell suppression and quotable sentences."""
