"""Named output slots ("osc", "record") that may be swapped while the pipeline sends."""
from __future__ import annotations

import logging
import threading

from lprr.engine.errors import UserError
from lprr.engine.sinks.base import Sink

log = logging.getLogger(__name__)


def describe_error(e: BaseException) -> str:
    """One line a user can act on: UserErrors as they are, anything else with its type."""
    if isinstance(e, UserError):
        return str(e)
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}" + (f": {e.filename}" if e.filename else "")
    return f"{type(e).__name__}: {e}"


class LiveSinks(Sink):
    """The session's outputs, by slot. ``send`` and ``set`` share one lock, so once ``set``
    returns no frame is still going to the old sink, and closing it is safe. A sink that
    fails is removed (``last_error`` says why) and the others go on."""

    name = "live-sinks"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, Sink] = {}
        self._closed = False
        self.last_error: str | None = None

    def set(self, key: str, sink: Sink | None) -> None:
        with self._lock:
            old = self._slots.pop(key, None)
            if sink is not None and self._closed:  # the run is over: nothing will send
                old, sink = sink, None
            if sink is not None:
                self._slots[key] = sink
        if old is not None:
            old.close()

    def get(self, key: str) -> Sink | None:
        with self._lock:
            return self._slots.get(key)

    def send(self, weights, names, t, frame_index, face=True) -> None:
        with self._lock:
            for key, s in list(self._slots.items()):
                try:
                    s.send(weights, names, t, frame_index, face)
                except Exception as e:  # noqa: BLE001 - a failing output must not stop the rest
                    self.last_error = f"{key}: {describe_error(e)}"
                    log.warning("sink %s failed, removed: %s", key, e)
                    self._slots.pop(key, None)

    def close(self) -> None:
        with self._lock:
            slots, self._slots, self._closed = self._slots, {}, True
        for s in slots.values():
            try:
                s.close()
            except Exception as e:  # noqa: BLE001
                log.warning("closing %s: %s", s.name, e)
