"""``lprr doctor``: which inference engines work here, and why the others do not."""
from __future__ import annotations

import argparse
import platform
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="report the onnxruntime build, providers and backends",
                       description="Print which onnxruntime distribution is loaded (onnxruntime "
                       "vs onnxruntime-gpu), its execution providers, and which inference "
                       "backends (--backend NAME) are available, with the reason for each one "
                       "that is not.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lprr.engine.backends import describe_runtime

    print(f"python: {sys.version.split()[0]} ({platform.platform()})")
    print(describe_runtime())
    return 0
