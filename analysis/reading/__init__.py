"""Reading files users wrote: ast and LibCST, names, imports, partial parses, sources, safe YAML."""
