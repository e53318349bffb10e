"""VMC protocol (Virtual Motion Capture) blendshapes: what VSeeFace/VNyan/Warudo-style apps read.

Per frame, in order, split over as many OSC bundles as it takes to keep every datagram within
``max_datagram`` bytes (1472: one Ethernet frame's UDP payload), each bundle time-tagged
"immediately":

    /VMC/Ext/OK   i 1      "available" (a performer with its model loaded), first bundle
    /VMC/Ext/T    f time   seconds since the first frame, first bundle (once per frame:
                           EVMC4U counts these to limit packets per rendered frame)
    /VMC/Ext/Blend/Val  s name, f value   one per shape
    /VMC/Ext/Blend/Apply                  last, in the last bundle

Receivers (EVMC4U, the reference Unity receiver, and the others checked in docs/osc_format.md)
keep each Val until Apply, so a frame split over bundles is applied whole, at Apply. Names
follow the name style (lprr.engine.sinks.names): ARKit camelCase, PascalCase perfect sync or the VRM
0.x preset clips; ``rename`` maps any of them further. Names are case-sensitive.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lprr.engine.sinks.base import DEFAULT_HOST, UdpSink
from lprr.engine.sinks.names import WireNames
from lprr.engine.sinks.osc_wire import (
    MAX_DATAGRAM,
    LabelledFloatMessages,
    osc_message,
    sized,
    split_bundles,
)

DEFAULT_PORT = 39539  # a Marionette (the app showing the avatar); a Performer listens on 39540
_OK = sized(osc_message("/VMC/Ext/OK", 1))
_APPLY = sized(osc_message("/VMC/Ext/Blend/Apply"))


class VmcSink(UdpSink):
    name = "vmc"

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 names: str = "arkit", rename: Mapping[str, str] | None = None,
                 max_datagram: int = MAX_DATAGRAM):
        super().__init__(host, port)
        self.wire = WireNames(names, rename or {})
        self.max_datagram = max_datagram
        self.datagram_sizes: list[int] = []  # of the last frame sent

    def _compile(self, names: tuple[str, ...]) -> None:
        self.wire_names, self._convert = self.wire.compile(names)
        self._vals = LabelledFloatMessages("/VMC/Ext/Blend/Val", self.wire_names, name_arg=True)

    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        rel = self._clock(names, t)
        parts = [_OK, sized(osc_message("/VMC/Ext/T", rel))]
        parts += self._vals.encode(self._convert(weights).tolist())
        parts.append(_APPLY)
        datagrams = split_bundles(parts, self.max_datagram)
        self.datagram_sizes = [len(d) for d in datagrams]
        for d in datagrams:
            self._send(d)
