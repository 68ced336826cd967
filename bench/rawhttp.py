"""A small HTTP/1.1 keep-alive client for open-loop load from Python.

httpx's connection pool looks for a free connection by scanning every queued request against
every connection, so at a few hundred requests in flight the load generator itself saturated a
core and fell minutes behind its schedule (the mixed scenario then measured the generator, not
the platform). This client keeps idle connections in a queue: a request takes one, writes,
reads the status line, headers and a content-length or chunked body, and gives it back
(unless the server closes it).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit

import orjson


class RawResponse:
    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self) -> object:
        return orjson.loads(self.content)


class RawHttp:
    """Requests to one origin over at most `connections` keep-alive connections."""

    def __init__(self, base_url: str, headers: dict[str, str], connections: int = 64) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{self.host}:{self.port}", **headers}.items()).encode()
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.slots = asyncio.Semaphore(connections)

    async def get(self, path: str, params: dict[str, object] | None = None) -> RawResponse:
        return await self.request("GET", f"{path}?{urlencode(params)}" if params else path)

    async def post(self, path: str, json: object) -> RawResponse:
        return await self.request("POST", path, orjson.dumps(json))

    async def request(self, method: str, target: str, body: bytes = b"") -> RawResponse:
        async with self.slots:
            conn = self.idle.get_nowait() if not self.idle.empty() else await asyncio.open_connection(self.host, self.port)
            try:
                response, keep = await self._exchange(conn, method, target, body)
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self.idle.put_nowait(conn)
            else:
                conn[1].close()
            return response

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], method: str, target: str, body: bytes) -> tuple[RawResponse, bool]:
        reader, writer = conn
        length = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        writer.write(f"{method} {target} HTTP/1.1\r\n".encode() + self.head + length.encode() + b"\r\n" + body)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:] if line)}
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await reader.readexactly(size + 2))
            await reader.readuntil(b"\r\n")
            content = b"".join(p[:-2] for p in parts)
        else:
            content = await reader.readexactly(int(fields.get(b"content-length", b"0")))
        return RawResponse(status, content), fields.get(b"connection", b"").lower() != b"close"

    async def aclose(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()
