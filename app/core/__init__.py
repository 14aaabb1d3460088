"""Cross-cutting infrastructure: settings, database, security primitives, errors, audit log, mail."""
