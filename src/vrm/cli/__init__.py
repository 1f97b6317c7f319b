"""The ``vrm`` command line: a thin Typer shell over the services."""
