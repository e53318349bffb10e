"""Errors that mean "the user asked for something that cannot be done", shown as one line."""
from __future__ import annotations


class UserError(Exception):
    """A user mistake (missing file, bad host, busy port...). The CLI prints it and exits 2."""

    exit_code = 2
