"""The cache every process shares when there is no Redis: a table in the database, safe under concurrency.

Device nonces, failed-login counters and throttles must be seen by every web process and outlive
a restart, so the embedded default cannot keep them in one process's memory. Django's own
DatabaseCache shares them but is not safe for them: its `add` reads, then writes, so two processes
can both claim an expired key; its `incr` is a get and a set, so concurrent increments are lost;
and past MAX_ENTRIES (300) it deletes a third of the table, live nonces and counters included.

Here `add` and `set` are one INSERT ... ON CONFLICT statement (SQLite and PostgreSQL), `incr`
reads and writes under the row's lock (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
settings' immediate transactions hold the database's write lock), a live entry is never evicted,
and expired rows are deleted at most once a minute per process.
"""

from __future__ import annotations

import base64
import pickle
import time
from datetime import UTC, datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now

# Per table, when this process last deleted expired rows (time.monotonic()).
_purged_at: dict[str, float] = {}


class SharedDatabaseCache(DatabaseCache):
    """OPTIONS: PURGE_INTERVAL, the seconds between deletions of expired rows (default 60)."""

    def __init__(self, table, params):
        super().__init__(table, params)
        self._purge_interval = float(params.get("OPTIONS", {}).get("PURGE_INTERVAL", 60))

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self._upsert(self.make_and_validate_key(key, version=version), value, timeout, only_over_expired=False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        """Store unless the key holds a live value; True when stored. One statement, so one caller wins."""
        return self._upsert(self.make_and_validate_key(key, version=version), value, timeout, only_over_expired=True)

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                self._sql(connection, "SELECT {value}, {expires} FROM {table} WHERE {key} = %s") + lock, [key]
            )
            row = cursor.fetchone()
            if row is None or self._datetime(connection, row[1]) < tz_now():
                raise ValueError(f"Key '{key}' not found.")
            value = self._decode(connection, row[0]) + delta
            cursor.execute(
                self._sql(connection, "UPDATE {table} SET {value} = %s WHERE {key} = %s"), [self._encode(value), key]
            )
        return value

    def purge_expired(self) -> int:
        """Delete the expired rows; returns how many."""
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        with connection.cursor() as cursor:
            return self._delete_expired(connection, cursor, tz_now())

    def _upsert(self, key: str, value, timeout, *, only_over_expired: bool) -> bool:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        now = tz_now()
        sql = self._sql(
            connection,
            "INSERT INTO {table} ({key}, {value}, {expires}) VALUES (%s, %s, %s) ON CONFLICT ({key}) "
            "DO UPDATE SET {value} = EXCLUDED.{value}, {expires} = EXCLUDED.{expires}",
        )
        params = [key, self._encode(value), connection.ops.adapt_datetimefield_value(self._expiry(timeout))]
        if only_over_expired:
            sql += self._sql(connection, " WHERE {table}.{expires} < %s")
            params.append(connection.ops.adapt_datetimefield_value(now))
        with connection.cursor() as cursor:
            if time.monotonic() - _purged_at.get(self._table, float("-inf")) >= self._purge_interval:
                self._delete_expired(connection, cursor, now)
            cursor.execute(sql, params)
            return cursor.rowcount == 1

    def _cull(self, db, cursor, now, num) -> None:
        """Django's culling deletes live entries when the table is full; only expired ones go here."""
        self._delete_expired(connections[db], cursor, now)

    def _delete_expired(self, connection, cursor, now: datetime) -> int:
        _purged_at[self._table] = time.monotonic()
        cursor.execute(
            self._sql(connection, "DELETE FROM {table} WHERE {expires} < %s"),
            [connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount

    def _sql(self, connection, template: str) -> str:
        """`template` with the table and column names quoted; every value stays a parameter."""
        quote = connection.ops.quote_name
        return template.format(
            table=quote(self._table), key=quote("cache_key"), value=quote("value"), expires=quote("expires")
        )

    def _expiry(self, timeout) -> datetime:
        expires_at = self.get_backend_timeout(timeout)
        # Naive, as Django's DatabaseCache writes "never": an aware datetime.max overflows on conversion.
        return datetime.max if expires_at is None else datetime.fromtimestamp(expires_at, tz=UTC)

    def _encode(self, value) -> str:
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")

    @staticmethod
    def _decode(connection, stored):
        return pickle.loads(base64.b64decode(connection.ops.process_clob(stored).encode()))  # noqa: S301  (our own rows)

    @staticmethod
    def _datetime(connection, stored) -> datetime:
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
            stored = converter(stored, expression, connection)
        return stored
