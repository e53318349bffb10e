"""The demo character for the window's preview, rendered in a child process.

A render is ~1000 OpenCV calls (one per skin triangle). Each gives up the GIL and must take
it back, so in the GUI's process it waits behind the pipeline's threads every time: measured
here with the unpaced pipeline running, a render took about twice as long in-process as in
a separate process. The child renders into its own memory and sends the image back over a
pipe (192 KB a frame), so the only GIL work left here is two small reads and writes.

Protocol (child stdin/stdout, binary): the child writes b"R" once it is ready; then for every
request (C float64 weights) it answers with size*size*3 bytes of BGR. EOF on stdin ends it.

``CharacterRenderer`` falls back to rendering in-process while the child starts, where there
is no ``select`` on pipes (Windows), and for good if the child fails.
"""
from __future__ import annotations

import atexit
import logging
import os
import select
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import IO

import numpy as np

log = logging.getLogger(__name__)
_ROOT = Path(__file__).resolve().parents[2]
_REPLY_TIMEOUT = 2.0  # seconds; a child this slow is treated as dead
_ALL: weakref.WeakSet[CharacterRenderer] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for r in list(_ALL):
        r.close()


def _read_exact(fd: int, n: int, timeout: float) -> bytes | None:
    """n bytes from a pipe, or None on EOF or when nothing came for ``timeout`` seconds."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        view[got:got + len(chunk)] = chunk
        got += len(chunk)
    return bytes(buf)


class CharacterRenderer:
    """``render(weights)`` -> BGR (size, size, 3); thread-safe (one request at a time).

    The child starts with the first render (a window that never runs starts none)."""

    def __init__(self, size: int = 256, supersample: int = 1, use_process: bool = True):
        from lprr.engine.world.character import DemoCharacter

        self.size = size
        self.supersample = supersample
        self.local = DemoCharacter(size=size, supersample=supersample)
        self.n_controls = self.local.deltas.shape[0]
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._want_process = use_process and os.name == "posix"
        self._ready = False
        self._failed: str | None = None
        self._sent = False
        self._pending: np.ndarray | None = None
        self.remote_frames = 0  # rendered by the child
        self.local_frames = 0  # rendered here (child starting, unavailable or failed)
        _ALL.add(self)

    def _spawn(self) -> None:
        self._want_process = False  # one try
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p),
               # One BLAS thread: the rig's small matrix products gain nothing from a second,
               # whose busy-waiting cost several ms a render on the shared cores.
               **{v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                   "MKL_NUM_THREADS")}}
        try:
            # Run as a script, not ``-m lprr.app.gui...``: the lprr.app.gui package would import Qt.
            self._proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), str(self.size),
                 str(self.supersample)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(_ROOT),
                bufsize=0)
        except OSError as e:
            self._fail(f"could not start the character process: {e}")

    @property
    def in_process(self) -> bool:
        """True while renders happen in this process."""
        return not self._ready

    def _fail(self, why: str) -> None:
        if self._failed is None:
            log.warning("%s; rendering the character in the GUI process", why)
        self._failed = why
        self._ready = False
        self._stop_child()

    def _child_ready(self) -> bool:
        if self._want_process:
            self._spawn()
        p = self._proc
        if self._ready or p is None or self._failed:
            return self._ready
        if p.poll() is not None:
            self._fail(f"the character process exited ({p.returncode})")
            return False
        if _read_exact(self._pipes()[1].fileno(), 1, 0.0) == b"R":  # only once it said so
            self._ready = True
        return self._ready

    def render(self, weights: np.ndarray | None) -> np.ndarray:
        self.begin(weights)
        return self.finish()

    def begin(self, weights: np.ndarray | None) -> None:
        """Start a render (sent to the child when it is up); ``finish`` returns it. Between
        the two the caller may do other work while the child renders; each ``begin`` must
        be followed by one ``finish`` on the same thread."""
        self._lock.acquire()
        try:
            w = (np.zeros(self.n_controls) if weights is None
                 else np.asarray(weights, np.float64))
            if w.shape != (self.n_controls,):
                raise ValueError(f"expected {self.n_controls} weights, got {w.shape}")
            self._pending = w
            self._sent = self._child_ready() and self._send(w)
        except BaseException:
            self._lock.release()
            raise

    def finish(self) -> np.ndarray:
        try:
            if self._sent:
                img = self._receive()
                if img is not None:
                    self.remote_frames += 1
                    return img
            self.local_frames += 1
            return self.local.render(self._pending)[0]
        finally:
            self._sent, self._pending = False, None
            self._lock.release()

    def _send(self, w: np.ndarray) -> bool:
        try:
            self._pipes()[0].write(np.ascontiguousarray(w).tobytes())
            return True
        except (OSError, ValueError, AttributeError) as e:
            self._fail(f"the character process failed: {e}")
            return False

    def _receive(self) -> np.ndarray | None:
        n = self.size * self.size * 3
        try:
            data = _read_exact(self._pipes()[1].fileno(), n, _REPLY_TIMEOUT)
        except (OSError, ValueError, AttributeError) as e:
            self._fail(f"the character process failed: {e}")
            return None
        if data is None:
            self._fail("the character process stopped answering")
            return None
        return np.frombuffer(data, np.uint8).reshape(self.size, self.size, 3)

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        """The child's stdin and stdout (both PIPE); AttributeError without a child, which
        the callers catch."""
        p = self._proc
        if p is None or p.stdin is None or p.stdout is None:
            raise AttributeError("no character process")
        return p.stdin, p.stdout

    def _stop_child(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        try:
            if p.stdin is not None:  # always (stdin=PIPE)
                p.stdin.close()  # EOF: the child returns
            p.wait(0.5)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
            p.wait(0.5)
        finally:
            if p.stdout is not None:
                p.stdout.close()

    def close(self) -> None:
        """Stop the child; renders go on in-process."""
        with self._lock:
            self._ready = self._want_process = False
            self._stop_child()


def _serve(size: int, supersample: int) -> int:
    from lprr.engine.world.character import DemoCharacter

    ch = DemoCharacter(size=size, supersample=supersample)
    c = ch.deltas.shape[0]
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    out.write(b"R")
    out.flush()
    while True:
        data = inp.read(8 * c)
        if len(data) < 8 * c:
            return 0  # the GUI closed the pipe
        img = ch.render(np.frombuffer(data, np.float64))[0]
        out.write(np.ascontiguousarray(img).data)
        out.flush()


if __name__ == "__main__":
    sys.path[0] = str(_ROOT)  # not app/gui: its modules must not shadow anything
    sys.exit(_serve(int(sys.argv[1]), int(sys.argv[2])))
