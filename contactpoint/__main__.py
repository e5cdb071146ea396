"""`python -m contactpoint`: the same command as `contactpoint`."""

from contactpoint.cli import app

# Guarded: uvicorn's workers are spawned, and a spawned process imports the parent's main
# module; unguarded, `python -m contactpoint serve` would make every worker run the command.
if __name__ == "__main__":
    app()
