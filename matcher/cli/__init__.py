"""The `matcher` command line: a thin layer over the library functions of the same names.

Every command parses its arguments, calls one library function and renders the result;
library errors (MatcherError) become one line on stderr and a non-zero exit code, in one
place (:class:`matcher.cli.base._Group`). Commands live by topic in members, history and index.
"""

# Importing the command modules registers their commands, in the order `matcher --help` lists them.
from matcher.cli import members  # noqa: I001, F401
from matcher.cli import index  # noqa: F401
from matcher.cli import history  # noqa: F401
from matcher.cli import feedback  # noqa: F401
from matcher.cli import serve  # noqa: F401
from matcher.cli import opportunities  # noqa: F401
from matcher.cli.base import app, main

__all__ = ["app", "main"]
