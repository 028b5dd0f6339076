"""Every text written through the ORM fits its column, the same on SQLite and PostgreSQL.

PostgreSQL refuses a value longer than VARCHAR(n) and any NUL byte; SQLite stores both silently. So that
neither a long forged value fails an update on one database while passing on the other, nor a NUL byte
is kept, each string column is cut to its length and cleaned before INSERT and UPDATE. The dialogs refuse
over-long input politely first (handlers/guards.py, bot/services/validation.py): this is the last line.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapper

_COLUMNS: dict[Mapper[Any], list[tuple[str, int | None]]] = {}


def _string_columns(mapper: Mapper[Any]) -> list[tuple[str, int | None]]:
    columns = _COLUMNS.get(mapper)
    if columns is None:
        columns = [(mapper.get_property_by_column(c).key, c.type.length) for c in mapper.columns
                   if isinstance(c.type, String)]
        _COLUMNS[mapper] = columns
    return columns


def fit_texts(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    state = target.__dict__
    for key, length in _string_columns(mapper):
        value = state.get(key)
        if not isinstance(value, str):
            continue
        fitted = value.replace("\x00", "") if "\x00" in value else value
        if length is not None and len(fitted) > length:
            fitted = fitted[:length]
        if fitted is not value:
            setattr(target, key, fitted)
