"""VMC protocol (Virtual Motion Capture) blendshapes: what VSeeFace/VNyan/Warudo-style apps read.

Per frame one bundle: ``/VMC/Ext/Blend/Val (s name, f value)`` for every control, then
``/VMC/Ext/Blend/Apply`` last, so the receiver applies the whole frame at once. Names are
case-sensitive; they are the ARKit names unless ``rename`` maps them (e.g. to a VRM model's
clip names).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.sinks.base import DEFAULT_HOST, UdpSink
from engine.sinks.osc_wire import LabelledFloatMessages, bundle_of_sized, osc_message, sized

DEFAULT_PORT = 39539  # the port VMC receivers listen on
_APPLY = sized(osc_message("/VMC/Ext/Blend/Apply"))


class VmcSink(UdpSink):
    name = "vmc"

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 rename: Mapping[str, str] | None = None):
        super().__init__(host, port)
        self.rename = dict(rename or {})

    def _compile(self, names: tuple[str, ...]) -> None:
        self._vals = LabelledFloatMessages(
            "/VMC/Ext/Blend/Val", [self.rename.get(n, n) for n in names], name_arg=True)

    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        self._clock(names, t)
        parts = self._vals.encode(np.asarray(weights, np.float32).tolist())
        parts.append(_APPLY)
        self._send(bundle_of_sized(parts))
