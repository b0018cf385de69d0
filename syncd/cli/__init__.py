"""The ``weakties`` command line (click): one module per group of commands.

``root`` holds the group, the shared ``App`` and the one error handler;
``output`` how everything is printed; the command modules parse, call the
core and print: no logic of their own. Importing this package registers
every command on :data:`main`.
"""

from syncd.cli import background, contacts, onboarding, reach, standing, syncing
from syncd.cli.root import main

__all__ = ["background", "contacts", "main", "onboarding", "reach", "standing", "syncing"]
