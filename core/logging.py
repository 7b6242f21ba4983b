"""Log filters: what a task returned or was given is never written to a log.

Celery logs every task's return value on success ("Task ... succeeded in 0.1s: {...}"). A door
probe's answer names the shopper it matched and the distance: written to a log, that would be a
trail of recognitions no erasure can reach. This filter keeps the line and drops the values.
"""

from __future__ import annotations

import logging

HIDDEN = "(not logged)"


class HideTaskValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {
                name: HIDDEN if name in ("return_value", "args", "kwargs") else value
                for name, value in record.args.items()
            }
        return True
