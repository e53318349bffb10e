"""The ``lprr`` command line. Each sub-command lives in ``app/commands/<name>.py``."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys

from lprr.app import stopping
from lprr.app.native_logs import NativeLogFilter
from lprr.engine.errors import Interrupted, UserError

# Sub-command modules, in the order ``lprr --help`` lists them.
COMMANDS = ["extract", "synth", "train", "export", "run", "demo", "eval", "doctor", "gui",
            "blender"]

log = logging.getLogger("lprr")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lprr", description="Real-time facial retargeting.")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="-v: progress details (e.g. which backend auto picked), -vv: debug")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = f"lprr.app.commands.{name}"
        if importlib.util.find_spec(module) is None:  # a command not built in this checkout
            continue
        importlib.import_module(module).register(sub)
    return p


# Commands that stop on a KeyboardInterrupt themselves (see app/stopping.py).
RAISE_ON_INTERRUPT = {"train", "gui"}


def _quiet_native_logs() -> None:
    # What these settings reach of MediaPipe/TFLite's C++ logging; app/native_logs.py
    # filters the rest.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    _quiet_native_logs()
    args = build_parser().parse_args(argv)
    stopping.set_command(args.command,
                         "raise" if args.command in RAISE_ON_INTERRUPT else "exit")
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"lprr {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except Interrupted as e:
        print(f"lprr {args.command}: {e}", file=sys.stderr)
        return stopping.exit_code()
    except KeyboardInterrupt:
        print(f"lprr {args.command}: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The ``lprr`` console script: signals and native log noise handled before anything
    heavy is imported."""
    stopping.install()
    argv = sys.argv[1:]
    logs = NativeLogFilter()
    if not any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"})
               for a in argv):
        logs.start()
    code = main(argv)
    stopping.disarm()
    logs.finish()
    sys.exit(code)


if __name__ == "__main__":
    entry()
