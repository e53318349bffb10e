"""One module per ``lprr`` sub-command; each exposes ``register(subparsers)``.

A command's handler is stored as ``func`` on its parser and returns an exit code.
"""
