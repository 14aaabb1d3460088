"""Eligibility, accommodations, adaptive attempts, results and appeals."""
