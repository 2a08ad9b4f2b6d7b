# Copyright (c) HilDA authors. All rights reserved.
"""The one base of every error the HilDA tools report in one line.

Each HilDA error class also keeps the built-in base that says what kind of
problem it is (``ValueError`` for bad data, ``RuntimeError`` for weights
that did not load, ...), so ``except ValueError`` keeps working; the tools'
:func:`~projects.HilDA.hilda.apis.cli.run_tool` catches :class:`HilDAError`
and prints its message instead of a traceback. This module imports nothing
of the package, so every layer may import it.
"""


class HilDAError(Exception):
    """A problem the user can fix (input, config, checkpoint); its message
    names the file or option and says what is wrong."""


class ConfigError(HilDAError):
    """A config or command-line problem the user can fix; one line."""
