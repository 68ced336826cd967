"""Count the SQL statements a request runs: tests pin hot paths to a fixed number, so a
regression to per-row or per-item statements shows up in the suite, not only in a benchmark."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from wafa_shared.db import DriverSql

_counting: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("counting", default=None)


def _count(statement: str) -> None:
    target = _counting.get()
    if target is not None:
        target.append(statement)


def _counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def run(self: DriverSql, *args: Any) -> Any:
        _count(self.sql)
        return await method(self, *args)

    return run


@contextmanager
def statements(svc: Any) -> Iterator[list[str]]:
    """The statements run by work started inside the block (requests made from it; not the relay
    or jobs, whose tasks began before): through SQLAlchemy and straight on the driver (`DriverSql`)."""
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        _count(statement)

    engine = svc.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    originals = {name: getattr(DriverSql, name) for name in ("fetch", "fetchrow", "execute")}
    for name, method in originals.items():
        setattr(DriverSql, name, _counted(method))
    token = _counting.set(seen)
    try:
        yield seen
    finally:
        _counting.reset(token)
        for name, method in originals.items():
            setattr(DriverSql, name, method)
        event.remove(engine, "before_cursor_execute", on_execute)
