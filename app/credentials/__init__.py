"""Certificates, Open Badges 3.0 credentials, status list, verification, PDF and renewal."""
