"""Outputs: OSC (native /lprr/* and VMC), Live Link Face UDP, and a CSV/JSON-lines recorder."""
from __future__ import annotations

from engine.errors import UserError
from engine.sinks.base import DEFAULT_HOST, Sink, UdpSink, parse_endpoint, resolve_udp
from engine.sinks.livelink import LiveLinkSink, decode_livelink, encode_livelink
from engine.sinks.osc_native import OscNativeSink
from engine.sinks.recorder import Recorder, read_recording
from engine.sinks.vmc import VmcSink

PROTOCOLS = {"native": OscNativeSink, "vmc": VmcSink, "livelink": LiveLinkSink}
DEFAULT_PORTS = {"native": 9000, "vmc": 39539, "livelink": 11111}


def create_sink(protocol: str, endpoint: str | None = None, **options) -> UdpSink:
    """A network sink from ``--protocol`` and ``--osc HOST:PORT`` (port defaults per protocol).

    Raises UserError for an unknown protocol, a bad port or a host that does not resolve.
    """
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    host, port = parse_endpoint(endpoint, DEFAULT_PORTS[protocol])
    return PROTOCOLS[protocol](host, port, **options)


make_sink = create_sink  # alias


class MultiSink(Sink):
    """Fans one frame out to several sinks (e.g. OSC + recorder)."""

    name = "multi"

    def __init__(self, sinks: list[Sink]):
        self.sinks = list(sinks)

    def send(self, weights, names, t, frame_index, face=True) -> None:
        for s in self.sinks:
            s.send(weights, names, t, frame_index, face)

    def close(self) -> None:
        for s in self.sinks:
            s.close()


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORTS",
    "PROTOCOLS",
    "LiveLinkSink",
    "MultiSink",
    "OscNativeSink",
    "Recorder",
    "Sink",
    "UdpSink",
    "VmcSink",
    "create_sink",
    "decode_livelink",
    "encode_livelink",
    "make_sink",
    "parse_endpoint",
    "read_recording",
    "resolve_udp",
]
