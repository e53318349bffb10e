"""Errors that mean "the user asked for something that cannot be done", shown as one line."""
from __future__ import annotations


class UserError(Exception):
    """A user mistake (missing file, bad host, busy port...). The CLI prints it and exits 2."""

    exit_code = 2


class Interrupted(Exception):
    """A stop was asked for (Ctrl-C, SIGTERM) before a session started: nothing ran, and
    nothing was recorded."""
