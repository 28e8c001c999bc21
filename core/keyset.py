"""Keyset ("seek") pagination for long lists: the page after (or before) a row is read by
its sort value and primary key, through the index that orders the list, so page 4,000
costs what page 1 costs. An OFFSET page makes the database read and throw away every row
before it, and Django's ``Paginator`` also counts the whole list on every page; over a
district's hundred thousand problems both grow with the district (bench/RESULTS.md).

The count is capped: up to ``COUNT_CAP`` rows are counted, and a longer list says "more
than 1,000". A list within the cap also has numbered pages (``number``): an OFFSET of at most
``COUNT_CAP`` rows, as cheap as the count; beyond the cap the pages are by cursor only. A
cursor is only a position in the list (its sort value and id, base64): a tampered one moves
the reader in the same list, which is filtered by scope as before.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet

COUNT_CAP = 1_000
SIZES = (25, 50, 100)


@dataclass
class KeysetPage:
    object_list: list
    size: int
    count: int  # up to COUNT_CAP (+1 when there are more)
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True
    sizes: tuple[int, ...] = field(default=SIZES)
    number: int | None = None  # the page's number, for a list within the count's cap

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def count_capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def count_cap(self) -> int:
        return COUNT_CAP

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous or not self.is_first

    @property
    def num_pages(self) -> int | None:
        """How many pages, for a list within the cap (None past it)."""
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.size))

    def page_numbers(self, around: int = 2) -> list[int | None]:
        """The numbers the pager links: the first, the last and ``around`` either side of
        this one, ``None`` where numbers are left out."""
        if self.number is None or self.num_pages is None:
            return []
        last = self.num_pages
        shown = {1, last, *range(self.number - around, self.number + around + 1)}
        numbers: list[int | None] = []
        for n in sorted(n for n in shown if 1 <= n <= last):
            if numbers and n - numbers[-1] > 1:
                numbers.append(None)
            numbers.append(n)
        return numbers


def _encode(value, pk: int) -> str:
    if isinstance(value, dt.date):  # a datetime is a date too
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, parse) -> tuple | None:
    """``(value, pk)`` of a cursor, or None for one that does not parse (the first page)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int):
            return None
        if value is not None and parse is not None:
            value = parse(value)
        return value, pk
    except (ValueError, TypeError):
        return None


def page_size(text: str | None, default: int = SIZES[0]) -> int:
    return int(text) if text and text.isdigit() and int(text) in SIZES else default


def keyset_page(
    rows: QuerySet,
    *,
    order: str,
    after: str | None = None,
    before: str | None = None,
    size: int = SIZES[0],
    number: int | None = None,
) -> KeysetPage:
    """One page of ``rows`` ordered by ``order`` (a field name, ``-`` for descending; ties
    broken by the primary key the same way; a nullable field's empty values last): the
    first, the one ``after`` a cursor, the one ``before`` it, or page ``number`` of a list
    within the count's cap. Three queries at most: the capped count, the page and, going
    back, whether there is a page before it."""
    name = order.lstrip("-")
    descending = order.startswith("-")
    model_field = rows.model._meta.get_field(name)
    nullable = model_field.null
    # A cursor carries a date or a time as text: read back as the field's type.
    parse = {"DateTimeField": dt.datetime.fromisoformat, "DateField": dt.date.fromisoformat}.get(
        model_field.get_internal_type()
    )

    def ordering(backwards: bool):
        down = descending != backwards
        direction = F(name).desc if down else F(name).asc
        if not nullable:
            value = direction()
        elif backwards:  # the list read backwards: its empty values, last, come first
            value = direction(nulls_first=True)
        else:
            value = direction(nulls_last=True)
        return [value, "-pk" if down else "pk"]

    def beyond(position: tuple, backwards: bool) -> Q:
        """Rows after ``position`` in the list's order (before it, ``backwards``)."""
        value, pk = position
        down = descending != backwards
        past, pk_past = ("lt", "lt") if down else ("gt", "gt")
        if value is None:  # among the empty values, which come last
            q = Q(**{f"{name}__isnull": True, f"pk__{pk_past}": pk})
            return q | Q(**{f"{name}__isnull": False}) if backwards else q
        q = Q(**{f"{name}__{past}": value}) | Q(**{name: value, f"pk__{pk_past}": pk})
        if nullable and not backwards:
            q |= Q(**{f"{name}__isnull": True})
        return q & Q(**{f"{name}__isnull": False}) if backwards and nullable else q

    count = rows.order_by()[: COUNT_CAP + 1].count()
    within = count <= COUNT_CAP
    if within and not after and not before:
        last = max(1, -(-count // size))
        number = min(max(number or 1, 1), last)
        offset = (number - 1) * size
        found = list(rows.order_by(*ordering(False))[offset : offset + size + 1])
        more = len(found) > size
        found = found[:size]
        page = KeysetPage(
            object_list=found, size=size, count=count, is_first=number == 1, number=number
        )
        if more:
            page.next_cursor = _encode(getattr(found[-1], name), found[-1].pk)
        if number > 1 and found:
            page.previous_cursor = _encode(getattr(found[0], name), found[0].pk)
        return page
    position = _decode(before, parse) if before else None
    if position is not None:
        found = list(rows.filter(beyond(position, True)).order_by(*ordering(True))[: size + 1])
        more_before = len(found) > size
        found = found[:size][::-1]
        page = KeysetPage(object_list=found, size=size, count=count, is_first=not more_before)
        if found:
            page.next_cursor = _encode(getattr(found[-1], name), found[-1].pk)
            if more_before:
                page.previous_cursor = _encode(getattr(found[0], name), found[0].pk)
        return page
    position = _decode(after, parse) if after else None
    listed = rows.filter(beyond(position, False)) if position is not None else rows
    found = list(listed.order_by(*ordering(False))[: size + 1])
    more = len(found) > size
    found = found[:size]
    page = KeysetPage(object_list=found, size=size, count=count, is_first=position is None)
    if more:
        page.next_cursor = _encode(getattr(found[-1], name), found[-1].pk)
    if position is not None and found:
        page.previous_cursor = _encode(getattr(found[0], name), found[0].pk)
    return page
