"""The report: inputs, facts, sections, document, figures, LaTeX, the report process."""
