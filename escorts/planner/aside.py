"""Work that only tightens the bound, done in a second process while this one plans.

The relaxation's last rounds, its cuts and the subgradient steps of a day planned in parts lower
the bound but change nothing the plan is made from. On a machine with a second core they run in a
forked copy of this process, which sends each better bound it proves through a pipe while this one
dives and searches. The copy shares nothing it could spoil: it computes, writes whole numbers to
its pipe and leaves with `os._exit` (no clean-up of the parent's connections, files or atexit
hooks). It is killed once the plan is done, when its parent dies, and stops by itself when its
clock ends.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Callable

_BOUND = struct.Struct("<q")
_PR_SET_PDEATHSIG = 1
# The copy runs at the lowest priority: it takes a core only while nothing else wants it, so the
# builds of a morning's storm, each with a core of its own, never wait behind each other's copies
# (the bound is then what the relaxation proved before it went aside).
NICENESS = 19


def can_fork() -> bool:
    """Is a second process both possible and of use (a second core it may run on)?"""
    return hasattr(os, "fork") and len(os.sched_getaffinity(0)) > 1


class _Orphaned(Exception):
    """The parent is gone: nobody reads what the copy proves any more."""


class Bound:
    """The least bound a forked copy has proved so far; `work(post)` runs in the copy and calls
    `post` with each bound it proves."""

    def __init__(self, work: Callable[[Callable[[int], None]], None]) -> None:
        self.best = sys.maxsize
        self._pending = b""
        read, write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the copy
            os.close(read)
            os.nice(NICENESS)

            def post(bound: int) -> None:
                os.write(write, _BOUND.pack(bound))

            code = 0
            try:
                # Killed with its parent, should the parent die first (Linux's prctl).
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
                if os.getppid() != parent:  # it died before the line above took effect
                    raise _Orphaned
                work(post)
            except BaseException:  # noqa: BLE001 - the copy must never return into the parent's code
                code = 1
            finally:
                os._exit(code)
        os.close(write)
        os.set_blocking(read, False)
        self._pid, self._read = pid, read

    def poll(self) -> int:
        """The least bound received so far, without waiting (sys.maxsize while there is none)."""
        if self._read >= 0:
            while self._drain():
                pass
        return self.best

    def _drain(self) -> bool:
        """Take in what the pipe holds; False once the copy has ended or nothing is waiting."""
        try:
            chunk = os.read(self._read, 4096)
        except BlockingIOError:
            return False
        self._pending += chunk
        whole = len(self._pending) - len(self._pending) % _BOUND.size
        for (bound,) in _BOUND.iter_unpack(self._pending[:whole]):
            self.best = min(self.best, bound)
        self._pending = self._pending[whole:]
        return bool(chunk)

    def close(self, within: float = 0.0) -> int:
        """The least bound the copy proved, waiting up to `within` seconds for it to finish; then
        stop it and reap it."""
        if self._read < 0:
            return self.best
        end = time.monotonic() + within
        # The pipe reads as ready both when a bound arrives and when the copy has ended.
        while (left := end - time.monotonic()) > 0 and select.select([self._read], [], [], left)[0]:
            if not self._drain():
                break
        self.poll()
        # A host that reaps every child itself (a SIGCHLD handler) may have taken it already.
        try:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self._read)
        self._read = -1
        return self.best
