"""Display preparation off the GUI thread.

The pipeline's inference thread hands every result to ``Presenter.submit``, which keeps only
the newest. The presenter's own thread turns it into what the window shows (the window's
``prepare``: annotated source, the character rendered with the weights, every image scaled
and converted for its view) and announces it with ``notify``. It prepares the next one only
after the window took the last one, and at most ``max_hz`` times a second, so a slow display
never builds a queue and no frame is prepared that nobody will see.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Presenter:
    def __init__(self, prepare: Callable[[Any], object], notify: Callable[[], None],
                 max_hz: float = 60.0, name: str = "lprr-gui-present"):
        self.prepare = prepare
        self.notify = notify
        self.period = 1.0 / max_hz if max_hz > 0 else 0.0
        self._cond = threading.Condition()
        self._newest: object | None = None  # submitted, not prepared yet
        self._ready: object | None = None  # prepared, not taken yet
        self._stopping = False
        self.submitted = 0
        self.prepared = 0
        self.errors = 0
        self.last_error: str | None = None
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Presenter:
        self.thread.start()
        return self

    def submit(self, item: object) -> None:
        """Any thread: ``item`` replaces whatever was waiting to be prepared."""
        with self._cond:
            self._newest = item
            self.submitted += 1
            self._cond.notify()

    def take(self) -> object | None:
        """The prepared item, once (None when nothing new); lets the next one be prepared."""
        with self._cond:
            out, self._ready = self._ready, None
            self._cond.notify()
            return out

    def stop(self, timeout: float = 1.0) -> bool:
        with self._cond:
            self._stopping = True
            self._newest = self._ready = None
            self._cond.notify_all()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        return not self.thread.is_alive()

    def _next(self, not_before: float) -> object | None:
        """Wait for an item to prepare (None: stopping)."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                wait = not_before - time.perf_counter()
                if self._newest is not None and self._ready is None and wait <= 0:
                    item, self._newest = self._newest, None
                    return item
                # Short waits: ``stop`` is never kept waiting, whatever the clock does.
                self._cond.wait(min(0.1, wait) if wait > 0 else 0.1)

    def _loop(self) -> None:
        not_before = 0.0
        while True:
            item = self._next(not_before)
            if item is None:
                return
            t0 = time.perf_counter()
            not_before = t0 + self.period
            try:
                out = self.prepare(item)
            except Exception as e:  # a bad frame must not end the display
                self.errors += 1
                self.last_error = f"{type(e).__name__}: {e}"
                log.debug("preparing a frame for display failed", exc_info=True)
                continue
            with self._cond:
                if self._stopping:
                    return
                self._ready = out
                self.prepared += 1
            try:
                self.notify()
            except RuntimeError:  # the receiving QObject is gone: nothing will take it
                return
