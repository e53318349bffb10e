"""The native ``/lprr/...`` OSC stream (format: docs/osc_format.md).

Per frame, one bundle (time tag "immediately"):
    /lprr/names   s...   control names (first frame, when names change, and every names_every_s)
    /lprr/frame   i f    frame index, seconds since the first frame sent
    /lprr/face    i      1 = a face is tracked, 0 = lost (weights are held / easing to neutral)
    /lprr/weights f...   one float per control, in /lprr/names order
    /lprr/w/<name> f     optional (per_control=True): one message per control

The /lprr/w/ messages go in further bundles when the frame would exceed ``max_datagram``
(1472 bytes, one Ethernet frame). Names follow the name style (lprr.engine.sinks.names).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lprr.engine.sinks.base import DEFAULT_HOST, UdpSink
from lprr.engine.sinks.names import WireNames
from lprr.engine.sinks.osc_wire import (
    MAX_DATAGRAM,
    FloatArrayMessage,
    LabelledFloatMessages,
    bundle_of_sized,
    osc_message,
    sized,
    split_bundles,
)

DEFAULT_PORT = 9000


class OscNativeSink(UdpSink):
    name = "osc-native"

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 per_control: bool = False, names_every_s: float = 1.0,
                 names: str = "arkit", rename: Mapping[str, str] | None = None,
                 max_datagram: int = MAX_DATAGRAM):
        super().__init__(host, port)
        self.wire = WireNames(names, rename or {})
        self.max_datagram = max_datagram
        self.per_control = per_control
        self.names_every_s = names_every_s
        self._names_sent_at = -np.inf

    def _compile(self, names: tuple[str, ...]) -> None:
        wire, self._convert = self.wire.compile(names)
        self._names_msg = sized(osc_message("/lprr/names", *wire))
        self._weights = FloatArrayMessage("/lprr/weights", len(wire))
        self._each = LabelledFloatMessages("/lprr/w/{name}", wire, name_arg=False)
        self._names_sent_at = -np.inf

    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        rel = self._clock(names, t)
        values = self._convert(weights).tolist()
        parts = []
        if rel - self._names_sent_at >= self.names_every_s or rel < self._names_sent_at:
            parts.append(self._names_msg)
            self._names_sent_at = rel
        parts.append(sized(osc_message("/lprr/frame", int(frame_index), rel)))
        parts.append(sized(osc_message("/lprr/face", 1 if face else 0)))
        parts.append(sized(self._weights.encode(values)))
        if not self.per_control:
            self._send(bundle_of_sized(parts))
            return
        for d in split_bundles(parts + self._each.encode(values), self.max_datagram):
            self._send(d)
