"""`python -m contactpoint`: the same command as `contactpoint`."""

from contactpoint.cli import app

app()
