"""The native ``/lprr/...`` OSC stream (format: docs/osc_format.md).

Per frame, one bundle (time tag "immediately"):
    /lprr/names   s...   control names (first frame, when names change, and every names_every_s)
    /lprr/frame   i f    frame index, seconds since the first frame sent
    /lprr/face    i      1 = a face is tracked, 0 = lost (weights are held / easing to neutral)
    /lprr/weights f...   one float per control, in /lprr/names order
    /lprr/w/<name> f     optional (per_control=True): one message per control
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.sinks.base import DEFAULT_HOST, UdpSink
from engine.sinks.osc_wire import (
    FloatArrayMessage,
    LabelledFloatMessages,
    bundle_of_sized,
    osc_message,
    sized,
)

DEFAULT_PORT = 9000


class OscNativeSink(UdpSink):
    name = "osc-native"

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 per_control: bool = False, names_every_s: float = 1.0):
        super().__init__(host, port)
        self.per_control = per_control
        self.names_every_s = names_every_s
        self._names_sent_at = -np.inf

    def _compile(self, names: tuple[str, ...]) -> None:
        self._names_msg = sized(osc_message("/lprr/names", *names))
        self._weights = FloatArrayMessage("/lprr/weights", len(names))
        self._each = LabelledFloatMessages("/lprr/w/{name}", names, name_arg=False)
        self._names_sent_at = -np.inf

    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        rel = self._clock(names, t)
        values = np.asarray(weights, np.float32).tolist()
        parts = []
        if rel - self._names_sent_at >= self.names_every_s or rel < self._names_sent_at:
            parts.append(self._names_msg)
            self._names_sent_at = rel
        parts.append(sized(osc_message("/lprr/frame", int(frame_index), rel)))
        parts.append(sized(osc_message("/lprr/face", 1 if face else 0)))
        parts.append(sized(self._weights.encode(values)))
        if self.per_control:
            parts.extend(self._each.encode(values))
        self._send(bundle_of_sized(parts))
