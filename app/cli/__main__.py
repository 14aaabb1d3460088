"""`python -m app.cli ...` is `wmi ...`."""

from app.cli import main

main()
