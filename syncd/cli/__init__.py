"""The ``weakties`` command line (click): one module per group of commands.

``root`` holds the group, the shared ``App``, the one error handler and
:data:`~syncd.cli.root.COMMANDS`, which names the module of each command:
a command module is imported the first time one of its commands is asked
for, so ``weakties status`` never loads what ``sync`` or ``init`` need.
``output`` is how everything is printed; the command modules parse, call
the core and print: no logic of their own.
"""

from syncd.cli.root import COMMANDS, main

__all__ = ["COMMANDS", "main"]
