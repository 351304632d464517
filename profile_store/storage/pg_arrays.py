"""A faster psycopg text dumper for lists of strings (the writer's array parameters).

psycopg dumps a list element by element in Python (about 2.5 us per string), and the writer
sends several arrays of identifiers and event ids per batch. A list of `str` becomes one
array literal built with `str.join`, every element quoted; anything else (other element
types, None, nested lists, a NUL that PostgreSQL must refuse) goes through psycopg's own
`ListDumper` unchanged.
"""

from __future__ import annotations

from typing import Any

from psycopg.adapt import AdaptersMap, Buffer
from psycopg.types.array import ListDumper


class StrListDumper(ListDumper):
    """psycopg's text `ListDumper`, with a fast path for flat lists of strings."""

    def dump(self, obj: list[Any]) -> Buffer | None:
        """The array literal of `obj`: `{"a","b"}` with `"` and `\\` escaped."""
        sub = self.sub_dumper
        if getattr(sub, "cls", None) is not str or self.delimiter != b",":
            return super().dump(obj)
        try:
            joined = "".join(obj)  # TypeError on None, nested lists or other types
        except TypeError:
            return super().dump(obj)
        if "\x00" in joined:
            return super().dump(obj)  # psycopg raises the error PostgreSQL would
        if not obj:  # an empty array, not an array of one empty string
            return b"{}"
        items = obj
        if '"' in joined or "\\" in joined:
            items = [s.replace("\\", "\\\\").replace('"', '\\"') for s in obj]
        encoding = str(getattr(sub, "_encoding", None) or "utf-8")
        return ('{"' + '","'.join(items) + '"}').encode(encoding)


def use_fast_str_lists(adapters: AdaptersMap) -> None:
    """Dump lists of strings with `StrListDumper` on connections using `adapters`."""
    adapters.register_dumper(list, StrListDumper)
