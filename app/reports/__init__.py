"""The certification body's reports: attempts, pass rates, scores, domains, time, certificates."""
