"""SIGINT (Ctrl-C) and SIGTERM for the ``lprr`` process: a stop is never a crash.

Python's default turns Ctrl-C into a KeyboardInterrupt wherever the main thread happens to
be: inside mediapipe's import (which then fails to initialise and aborts), or while native
threads still run when the interpreter shuts down (``FATAL: exception not rethrown``). So:

- a command that can stop cleanly (``lprr run``) *arms* an event: a signal only sets it, and
  the session stops at its next check, records every processed frame and prints its summary;
- otherwise the process leaves at once with one line (exit 130 for Ctrl-C, 143 for SIGTERM),
  before any half-built native state can be torn down;
- commands that handle KeyboardInterrupt themselves (training, the GUI) ask for ``raise``.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

_event: threading.Event | None = None
_mode = "exit"  # "exit" or "raise" while no event is armed
_command = "lprr"
received: int | None = None  # the last stop signal, for the exit code


def install() -> None:
    """Take over SIGINT and SIGTERM (call first thing: imports take a while)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def set_command(name: str, mode: str = "exit") -> None:
    global _command, _mode
    _command, _mode = f"lprr {name}", mode


def arm(event: threading.Event) -> None:
    """From now on a signal sets ``event`` instead of stopping the process."""
    global _event
    _event = event


def disarm() -> None:
    global _event
    _event = None


def exit_code() -> int:
    return 130 if received in (None, signal.SIGINT) else 0


def _on_signal(signum: int, _frame) -> None:
    global received
    received = signum
    if _event is not None:
        _event.set()
        return
    if _mode == "raise":
        raise KeyboardInterrupt
    word = "interrupted" if signum == signal.SIGINT else "stopped (SIGTERM)"
    try:
        sys.stdout.flush()
        os.write(2, f"{_command}: {word}\n".encode())
    except (OSError, ValueError, RuntimeError):  # a reentrant flush: leave anyway
        pass
    os._exit(130 if signum == signal.SIGINT else 128 + signum)
