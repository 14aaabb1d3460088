"""The administrator's console: composes the services of the other domains."""
