"""A websocket client on a thread that records every message the server pushes."""

from __future__ import annotations

import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin


class SocketListener:
    def __init__(self, base_url: str, path: str, session_id: str) -> None:
        self.messages: list[str] = []
        ws_url = base_url.replace("http://", "ws://") + path
        self._socket = connect(
            ws_url,
            additional_headers={"Cookie": f"sessionid={session_id}"},
            origin=Origin(base_url),  # checked by AllowedHostsOriginValidator
            open_timeout=10,
            legacy=True,  # a plain connection object, closed by stop()
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self._socket:
                self.messages.append(message if isinstance(message, str) else message.decode())
        except ConnectionClosed:
            pass

    def stop(self) -> None:
        self._socket.close()
        self._thread.join(timeout=5)
