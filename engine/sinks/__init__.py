"""Outputs: OSC (native /lprr/* and VMC), Live Link Face UDP, and a CSV/JSON-lines recorder."""
from __future__ import annotations

from lprr.engine.errors import UserError
from lprr.engine.sinks.base import DEFAULT_HOST, Sink, UdpSink, parse_endpoint, resolve_udp
from lprr.engine.sinks.livelink import LiveLinkSink, decode_livelink, encode_livelink
from lprr.engine.sinks.names import NAME_STYLES, WireNames, check_style
from lprr.engine.sinks.osc_native import OscNativeSink
from lprr.engine.sinks.recorder import Recorder, read_recording
from lprr.engine.sinks.vmc import VmcSink

PROTOCOLS = {"native": OscNativeSink, "vmc": VmcSink, "livelink": LiveLinkSink}
DEFAULT_PORTS = {"native": 9000, "vmc": 39539, "livelink": 11111}


def create_sink(protocol: str, endpoint: str | None = None, *, names: str = "arkit",
                rename: dict[str, str] | None = None, subject: str | None = None,
                fps: float | None = None, **options) -> UdpSink:
    """A network sink from ``--protocol``, ``--osc HOST:PORT`` (port defaults per protocol),
    ``--names`` and the mapping's rename table (vmc, native), ``--subject`` and the source's
    frame rate (livelink). Options that do not apply to the protocol are ignored, except a
    name style other than arkit for Live Link Face, whose slots are ARKit by definition.

    Raises UserError for an unknown protocol or name style, a bad port or a host that does
    not resolve.
    """
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    check_style(names)
    host, port = parse_endpoint(endpoint, DEFAULT_PORTS[protocol])
    if protocol == "livelink":
        if names != "arkit":
            raise UserError(f"--names {names} does not apply to Live Link Face: its 61 slots "
                            "are ARKit shapes in Unreal's fixed order; use vmc or native")
        if subject is not None:
            options["subject"] = subject
        return LiveLinkSink(host, port, fps=fps, **options)
    return PROTOCOLS[protocol](host, port, names=names, rename=rename, **options)


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORTS",
    "NAME_STYLES",
    "PROTOCOLS",
    "LiveLinkSink",
    "OscNativeSink",
    "Recorder",
    "Sink",
    "UdpSink",
    "VmcSink",
    "WireNames",
    "create_sink",
    "decode_livelink",
    "encode_livelink",
    "parse_endpoint",
    "read_recording",
    "resolve_udp",
]
