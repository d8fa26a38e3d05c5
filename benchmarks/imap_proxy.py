"""A TCP proxy on loopback that counts an IMAP conversation.

Put between the bridge and Dovecot (the bridge's config points at the proxy),
it forwards every byte unchanged and counts, over all connections since the
last `reset()`: bytes each way, client command lines (a tag and a command; the
text after a literal belongs to the same command) and tagged server responses
(one per finished command: the round trips). Literals ({123} or {123+}) are
skipped in both directions, so a message body never looks like a command.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass

LITERAL = re.compile(rb"\{(\d+)\+?\}$")
CHUNK = 65536


@dataclass(frozen=True)
class Counts:
    bytes_up: int  # client -> server
    bytes_down: int  # server -> client
    commands: int  # client command lines
    tagged: int  # tagged server responses: round trips
    connections: int


class _Lines:
    """Splits one direction of an IMAP stream into lines, skipping literals."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.literal = 0  # bytes of literal still to skip
        self.continued = False  # the next line continues a command after a literal

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """(line, starts a new command or response) for each complete line."""
        self.buffer += data
        lines: list[tuple[bytes, bool]] = []
        while self.buffer:
            if self.literal:
                taken = min(self.literal, len(self.buffer))
                del self.buffer[:taken]
                self.literal -= taken
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            lines.append((line, not self.continued))
            match = LITERAL.search(line)
            self.literal = int(match.group(1)) if match else 0
            self.continued = match is not None
        return lines


class CountingProxy:
    """Listens on a free loopback port and forwards to (host, port)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # accept() wakes up to notice stop()
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self.reset()
        self._thread = threading.Thread(target=self._accept, name="imap-proxy", daemon=True)

    def reset(self) -> None:
        with self._lock:
            self._up = self._down = self._commands = self._tagged = self._connections = 0

    def counts(self) -> Counts:
        with self._lock:
            return Counts(self._up, self._down, self._commands, self._tagged, self._connections)

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._connections += 1
                self._sockets.update((client, server))
            tags: set[bytes] = set()
            for source, target, upward in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, target, upward, tags), daemon=True
                ).start()

    def _pump(
        self, source: socket.socket, target: socket.socket, upward: bool, tags: set[bytes]
    ) -> None:
        lines = _Lines()
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                # Count before forwarding: a command's tag is known before its answer.
                self._count(data, lines.feed(data), upward, tags)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._sockets.discard(source)
            source.close()

    def _count(
        self, data: bytes, lines: list[tuple[bytes, bool]], upward: bool, tags: set[bytes]
    ) -> None:
        with self._lock:
            if upward:
                self._up += len(data)
                for line, new in lines:
                    tag = line.split(b" ", 1)[0]
                    if new and tag and line.upper() != b"DONE":
                        self._commands += 1
                        tags.add(tag)
            else:
                self._down += len(data)
                for line, new in lines:
                    if new and line.split(b" ", 1)[0] in tags:
                        self._tagged += 1
