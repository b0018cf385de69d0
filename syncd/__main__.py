"""``python -m syncd`` runs the weakties CLI."""

from syncd.cli import main

main()
