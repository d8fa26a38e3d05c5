"""One bridge per state database.

Two bridges started on the same state by mistake (a `once` from cron while the
service runs, a second service unit) would both see the same new UIDs and both
plan their meetings. `once` and `run` therefore hold an exclusive lock on
`<state path>.lock` for as long as they run; a second one stops at start with
one clear line. `status` and `parse` only read, and need no lock.

The lock is flock(2) on an open file: the kernel drops it when the process
ends, however it ends (SIGKILL included), so a crash never leaves a stale lock.
The file keeps the holder's pid, for the message; it is never deleted, since
deleting a lock file while another process opens it would let two hold "the"
lock at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from kmeet_bridge.store import StoreError


class InstanceLocked(StoreError):
    """Another bridge holds the lock on this state database."""


def lock_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


class InstanceLock:
    """`with InstanceLock(settings.state_path):` around everything a run does."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.path = lock_path(state_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise InstanceLocked (never waits)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise InstanceLocked(
                f"another kmeet-bridge is running with state {self.state_path} (pid {holder})"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {self.path}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    """The holder's pid as it wrote it; "unknown" in the instant before it did."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"
