"""Queries on hot paths, written by the ORM once and then only re-bound.

Building and compiling a queryset costs about as much Python as the database takes to answer
it (1-2 ms for a locked SELECT with two EXISTS on a small machine). A `PreparedQuery` builds
its queryset once per process and database, from sentinel arguments, keeps the SQL the ORM
wrote, and on each call substitutes the real arguments for the sentinels' parameters. The SQL
still comes from the ORM, so the query keeps its one definition (what an active consent is,
say); only the per-call Python is saved. `columns` and `loaded` turn a row back into model
instances, as the ORM loads them, where callers need objects (the device behind a request).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery

_SENTINEL_BASE = datetime(2999, 1, 1, tzinfo=UTC)


def _sentinel(kind: type, number: int) -> Any:
    """A value no real argument or constant of the query takes, of the kind the builder expects."""
    if kind is int:
        return -987_654_000 - number
    if kind is datetime:
        return _SENTINEL_BASE + timedelta(seconds=number)
    if kind is date:
        return _SENTINEL_BASE.date() + timedelta(days=number)
    if kind is str:
        return f"\u2063prepared-query-argument-{number}\u2063"
    raise TypeError(f"A prepared query takes int, str, date or datetime arguments, not {kind.__name__}.")


def _adapter(sentinel: Any) -> str | None:
    """The backend operation that turns a date or datetime into a parameter (SQLite: text)."""
    if isinstance(sentinel, datetime):
        return "adapt_datetimefield_value"
    if isinstance(sentinel, date):
        return "adapt_datefield_value"
    return None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # parameter position -> (argument, backend adapter or None, the type the ORM wrapped it in or None)
    slots: dict[int, tuple[str, str | None, type | None]]
    columns: tuple[str, ...]
    converters: dict[int, tuple[list, Any]]


class PreparedQuery:
    """A SELECT (`.values()` queryset) or an UPDATE whose SQL is written once.

    `build(**arguments)` returns the queryset; `arguments` names each argument's type (int,
    str or datetime). For an UPDATE, `updates(**arguments)` returns the `update()` keywords.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        updates: Callable[..., dict[str, Any]] | None = None,
        **arguments: type,
    ) -> None:
        self._build, self._updates, self._arguments = build, updates, arguments
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[dict[str, Any]]:
        """Run the SELECT; each row as a dict, converted as the ORM converts it."""
        connection = connections[using]
        compiled = self._compile(using)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self._bind(compiled, connection, values))
            fetched = cursor.fetchall()
        rows = []
        for row in fetched:
            row = list(row)
            for position, (converters, expression) in compiled.converters.items():
                for converter in converters:
                    row[position] = converter(row[position], expression, connection)
            rows.append(dict(zip(compiled.columns, row, strict=True)))
        return rows

    def update(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> int:
        """Run the UPDATE; the number of rows it changed."""
        connection = connections[using]
        compiled = self._compile(using)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self._bind(compiled, connection, values))
            return cursor.rowcount

    def _bind(self, compiled: _Compiled, connection, values: dict[str, Any]) -> list:
        if values.keys() != self._arguments.keys():
            raise TypeError(f"This query takes {sorted(self._arguments)}, not {sorted(values)}.")
        bound = list(compiled.params)
        for position, (name, adapt, wrap) in compiled.slots.items():
            value = values[name] if adapt is None else getattr(connection.ops, adapt)(values[name])
            bound[position] = value if wrap is None else wrap(value)
        return bound

    def _compile(self, using: str) -> _Compiled:
        key = (using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._write(using)
                self._compiled[key] = compiled
        return compiled

    def _write(self, using: str) -> _Compiled:
        connection = connections[using]
        counter = itertools.count(1)
        sentinels = {name: _sentinel(kind, next(counter)) for name, kind in self._arguments.items()}
        queryset = self._build(**sentinels)
        if self._updates is None:
            compiler = queryset.query.get_compiler(using)
            sql, params = compiler.as_sql()
            query = queryset.query
            columns = (*query.extra_select, *query.values_select, *query.annotation_select)
            if not query.values_select and not query.annotation_select:
                raise TypeError("A prepared SELECT names its columns with .values().")
            selected = [column[0] for column in compiler.select[: compiler.col_count]]
            converters = compiler.get_converters(selected)
        else:
            query = queryset.query.chain(UpdateQuery)
            query.add_update_values(self._updates(**sentinels))
            query.annotations = {}
            sql, params = query.get_compiler(using).as_sql()
            columns, converters = (), {}
        slots = {}
        for position, param in enumerate(params):
            for name, sentinel in sentinels.items():
                adapt = _adapter(sentinel)
                if isinstance(param, type(sentinel)) and param == sentinel:
                    # PostgreSQL's backend wraps integers in their column's size (Int8, Int4 ...).
                    slots[position] = (name, None, None if type(param) is type(sentinel) else type(param))
                elif adapt is not None and param == getattr(connection.ops, adapt)(sentinel):
                    slots[position] = (name, adapt, None)
        missing = set(sentinels) - {slot[0] for slot in slots.values()}
        if missing:
            raise TypeError(f"The query does not use {sorted(missing)} as parameters; it cannot be prepared.")
        return _Compiled(sql, tuple(params), slots, tuple(columns), converters)


def columns(model: type[Model], prefix: str = "") -> list[str]:
    """The `.values()` names that load every column of `model` (through `prefix`, a relation)."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


def loaded(model: type[Model], row: dict[str, Any], *, prefix: str = "", using: str = DEFAULT_DB_ALIAS) -> Model:
    """The instance a prepared row holds (selected with `columns(model, prefix)`), loaded as the ORM
    loads one (`Model.from_db`): saved, from `using`, with the converted values."""
    names = columns(model)
    return model.from_db(using, names, [row[prefix + name] for name in names])
