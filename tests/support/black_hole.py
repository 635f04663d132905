"""A Web PubSub endpoint that black-holes: it accepts TCP connections and never answers. The
service SDK then waits for its read timeout on every try — the fault a refused port does not
show."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class BlackHole:
    """`with BlackHole() as hole:` listens on a free loopback port until the block ends."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="black-hole", daemon=True)

    def connection_string(self, access_key: str) -> str:
        return f"Endpoint=http://127.0.0.1:{self.port};AccessKey={access_key};Version=1.0;"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self._server.close()
