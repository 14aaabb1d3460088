"""Users, roles, sessions, password reset, sign-in throttling and personal API tokens."""
