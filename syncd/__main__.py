"""``python -m syncd``: the ``weakties`` command."""

from syncd.cli import main

main(prog_name="weakties")
