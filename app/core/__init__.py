"""Cross-cutting infrastructure: settings, database, security, errors, audit log, mail."""
