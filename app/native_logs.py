"""Keep MediaPipe's and TensorFlow Lite's C++ log lines off a user's terminal.

Those libraries write straight to file descriptor 2 from native threads, at moments Python
does not see (graph start-up, the first inference, later frames), and ignore
``GLOG_minloglevel`` in this mediapipe release. So the ``lprr`` process's fd 2 is pointed at
a pipe read by a small forked filter process that passes everything on except those lines.
A separate process (not a thread) so that nothing is lost when lprr itself dies hard: the
filter sees end-of-file only once every writer is gone, and forwards what is left first.

``-v`` or ``LPRR_NATIVE_LOGS=1`` shows them. Where there is no ``fork`` (Windows) the lines
are shown.
"""
from __future__ import annotations

import os
import re
import signal
import sys

# absl/glog lines at INFO or WARNING (``W0000 00:00:1796207215.83  4946 file.cc:114] ...``),
# TFLite's own INFO lines, absl's pre-init warning, and libpng's sRGB-profile chatter.
# ERROR and FATAL lines still pass: they may be the only clue to a real failure.
NATIVE_LINE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    rb"|INFO: "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|libpng warning: iCCP: )")


def is_native_line(line: bytes) -> bool:
    return NATIVE_LINE.match(line) is not None


def filter_stream(read_fd: int, write_fd: int) -> None:
    """Copy ``read_fd`` to ``write_fd`` until end-of-file, dropping native log lines.

    Whole lines are judged; an unfinished line (a status line redrawn with ``\\r``) is
    passed on at once unless it could still become a native line."""
    pending = b""
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not is_native_line(line))
        if pending and not _may_become_native(pending):
            out, pending = out + pending, b""
        if out:
            _write_all(write_fd, out)
    if pending and not is_native_line(pending):
        _write_all(write_fd, pending)


def _may_become_native(partial: bytes) -> bool:
    return bool(re.match(rb"^(?:[IW]\d{0,4}(?: |$)|I(?:N(?:F(?:O:?)?)?)?$|INFO: |W(?:A|$)"
                         rb"|WARNING|libpng)", partial))


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue
        except OSError:  # the terminal or reader went away: nothing left to show
            return


class NativeLogFilter:
    """Route fd 2 through a forked filter process (see the module docstring)."""

    def __init__(self) -> None:
        self.pid: int | None = None

    def start(self) -> bool:
        if not hasattr(os, "fork") or os.environ.get("LPRR_NATIVE_LOGS"):
            return False
        try:
            target = os.dup(2)
        except OSError:  # no stderr at all
            return False
        r, w = os.pipe()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the filter: outlives a crash of lprr, ends when fd 2 closes
            try:
                # Ctrl-C and SIGTERM go to the whole process group; lprr decides, and
                # the filter keeps forwarding until lprr's last line is out.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                lo, hi = sorted((r, target))  # keep only these two (and close w)
                os.closerange(3, lo)
                os.closerange(lo + 1, hi)
                os.closerange(hi + 1, 1 << 16)
                for fd in (0, 1, 2):  # hold no end of lprr's stdout/stdin open
                    os.close(fd)
                filter_stream(r, target)
            finally:
                os._exit(0)
        os.close(r)
        os.dup2(w, 2)
        os.close(w)
        os.close(target)
        self.pid = pid
        return True

    def finish(self) -> None:
        """Let the filter forward the last lines, then reap it (call just before exit)."""
        if self.pid is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # lprr's end of the pipe closes: the filter reads end-of-file
        os.close(devnull)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.pid = None
