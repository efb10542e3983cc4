"""Connection limits for `purgesim serve`: uvicorn's HTTP/1.1 protocol (h11) with a guard.

uvicorn alone has a keep-alive timeout (between requests) but no timeout for a request's
headers, and its only limit, `limit_concurrency`, is global: 63 idle connections from one
client made every request from everyone answer 503 for as long as they stayed open.  The
guard replaces that limit with:

* at most `per_client` open connections per client address (an IPv6 /64 counts as one
  address); one more is answered 429 and closed at once, so one client holding many
  connections locks out only itself, and only until its connections close;
* at most `max_connections` open connections in all (503 and closed beyond: a last resort
  against many addresses at once, well above what the dashboard's users need);
* `header_timeout` seconds for a request's headers to arrive in full, counted from the
  connection's opening (its first request) or from the first byte of a later request: a
  connection that sends nothing, or headers that never end, is closed (408 if it had sent
  part of a request).  The body has its own limit (`app.BodyLimit`, 408), and between requests
  uvicorn's keep-alive timeout closes an idle connection.

The address is the peer's (the socket's), not an X-Forwarded-For header.
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .jobs import client_key

PER_CLIENT_CONNECTIONS = 32  # open connections per client address (a browser uses about 6)
MAX_CONNECTIONS = 1000  # open connections in all
HEADER_TIMEOUT = 10.0  # seconds for a request's headers
IDLE_TIMEOUT = 5.0  # seconds a kept-alive connection may wait for its next request


def _refusal(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


def guarded_protocol(per_client: int = PER_CLIENT_CONNECTIONS,
                     max_connections: int = MAX_CONNECTIONS,
                     header_timeout: float = HEADER_TIMEOUT) -> type[H11Protocol]:
    """A protocol class for `uvicorn.run(http=...)`, with its own connection counts."""
    counts: dict[str, int] = {}

    class GuardedH11Protocol(H11Protocol):
        _guard_key: str | None = None  # counted under this address while open
        _guard_timer: asyncio.TimerHandle | None = None
        _guard_seen = False  # bytes of the pending request arrived

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            key = client_key(self.client[0] if self.client else None)
            total = sum(counts.values())
            if counts.get(key, 0) >= per_client:
                self._refuse(429, "Too Many Requests",
                             f"too many connections from your address: at most {per_client} "
                             "open at once; close some and try again")
                return
            if total >= max_connections:
                self._refuse(503, "Service Unavailable",
                             f"the server has {total} connections open, its limit: try again")
                return
            counts[key] = counts.get(key, 0) + 1
            self._guard_key = key
            self._arm()

        def _refuse(self, status: int, reason: str, message: str) -> None:
            self.transport.write(_refusal(status, reason, message))
            self.transport.close()

        def _arm(self) -> None:
            if self._guard_timer is None:
                self._guard_timer = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self._guard_timer is not None:
                self._guard_timer.cancel()
                self._guard_timer = None

        def _expired(self) -> None:
            self._guard_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return  # the headers came: the body and the app have their own limits
            if self._guard_seen and self.conn.our_state is h11.IDLE:
                self.transport.write(_refusal(
                    408, "Request Timeout",
                    f"request headers not received in full within {header_timeout:g} s"))
            self.transport.close()

        def data_received(self, data: bytes) -> None:
            if self._guard_key is None:
                return  # refused: closing
            if self.conn.their_state is h11.IDLE:  # (part of) the headers of a request
                if data:
                    self._guard_seen = True
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()  # the headers are complete
                self._guard_seen = False

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._guard_seen = False

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            key, self._guard_key = self._guard_key, None
            if key is not None:
                counts[key] -= 1
                if counts[key] <= 0:
                    del counts[key]
            super().connection_lost(exc)

    GuardedH11Protocol.counts = counts  # type: ignore[attr-defined]
    return GuardedH11Protocol

