"""Small things every gelmd package may use: errors, unit parsing, config models, atomic file writes."""
