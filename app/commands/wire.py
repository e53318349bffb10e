"""The command-line options ``run`` and ``demo`` share for what goes on the wire."""
from __future__ import annotations

import argparse

from lprr.engine.sinks import DEFAULT_PORTS, PROTOCOLS
from lprr.engine.sinks.names import NAME_STYLES


def add_protocol_option(p: argparse.ArgumentParser) -> None:
    """``--protocol``, one choice per sink the registry (lprr.engine.sinks.PROTOCOLS) holds."""
    ports = ", ".join(f"{n} {DEFAULT_PORTS[n]}" for n in PROTOCOLS)
    p.add_argument("--protocol", default="native", choices=list(PROTOCOLS),
                   help=f"what goes on the wire (default port: {ports})")


def add_wire_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--names", default="arkit", choices=NAME_STYLES,
                   help="name style for vmc and native: arkit (eyeBlinkLeft, default), pascal "
                        "(EyeBlinkLeft: perfect sync, VMagicMirror), vrm0 (VRM 0.x preset "
                        "clips Blink, A, Joy, ...; table in docs/osc_format.md)")
    p.add_argument("--subject", default=None, metavar="NAME",
                   help="livelink: the Live Link subject name Unreal shows (default lprr)")
