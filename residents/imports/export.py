"""The resident spreadsheet out, ID numbers and phones masked."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Case, F, Q, QuerySet, When

from core.privacy import mask_id_number, mask_phone
from grids.selectors import area_paths
from residents.imports.columns import RESIDENT_EXPORT_COLUMNS
from residents.models import CareTag, Resident


def resident_export_headers() -> list[str]:
    return [c.label for c in RESIDENT_EXPORT_COLUMNS]


def resident_export_rows(
    queryset: QuerySet[Resident],
    *,
    birth_dates: Q | None = None,
    care_tags: Q | None = None,
    user=None,
) -> Iterator[list]:
    """Rows for the resident spreadsheet, ID numbers and phones masked; streamed, with one
    query for the residents and, per 2,000 rows, one for their tags and one for the paths
    of the places not met before (``地点``, below ``user``'s scope; the code kept). With
    ``birth_dates``, the birth date is given only for residents that filter keeps (where the
    reader may reveal the ID number, ``permissions.may_see_birth_date``), left empty for the
    rest. With ``care_tags``, likewise the care tags (``permissions.may_see_care_tags``)."""
    values = _export_values(queryset, birth_dates)
    tag_names = dict(CareTag.objects.values_list("pk", "name"))
    paths: dict[int, str] = {}
    for batch in _batched(values.iterator(2000), 2000):
        tags = _tag_names_of(batch, tag_names, care_tags)
        paths.update(area_paths({v[1] for v in batch} - paths.keys(), user=user))
        for resident in batch:
            yield _export_row(resident, tags, paths)


def _export_values(queryset: QuerySet[Resident], birth_dates: Q | None) -> QuerySet:
    """The residents' exported fields, primary key first, in tree and door order."""
    if birth_dates:  # Q() keeps every row, as None does
        queryset = queryset.annotate(
            shown_birth_date=Case(When(birth_dates, then=F("birth_date")), default=None)
        )
    else:
        queryset = queryset.annotate(shown_birth_date=F("birth_date"))
    residents = queryset.order_by(
        "household__area__tree_id", "household__area__lft", "household__door", "pk"
    )
    return residents.values_list(
        "pk",
        "household__area_id",
        "household__area__code",
        "household__door",
        "household__address",
        "household__in_online_group",
        "name",
        "gender",
        "shown_birth_date",
        "id_number",
        "phone",
        "is_householder",
    )


def _tag_names_of(
    batch: list[tuple], tag_names: dict[int, str], shown: Q | None = None
) -> dict[int, list[str]]:
    """The care tags' names of the residents in ``batch`` (of those ``shown`` keeps), by
    resident id (one query)."""
    through = Resident.care_tags.through
    tags: dict[int, list[str]] = {}
    pairs = through.objects.filter(resident_id__in=[v[0] for v in batch])
    if shown is not None:
        pairs = pairs.filter(resident_id__in=Resident.objects.filter(shown).values("pk"))
    for resident_id, tag_id in pairs.values_list("resident_id", "caretag_id"):
        tags.setdefault(resident_id, []).append(tag_names[tag_id])
    return tags


def _export_row(values: tuple, tags: dict[int, list[str]], paths: dict[int, str]) -> list:
    (
        pk,
        area_id,
        code,
        door,
        address,
        in_group,
        name,
        gender,
        birth,
        id_number,
        phone,
        householder,
    ) = values
    return [
        code,
        door,
        address,
        "是" if in_group else "否",
        name,
        "男" if gender == "M" else "女",
        birth.isoformat() if birth else "",
        mask_id_number(id_number),
        mask_phone(phone),
        "是" if householder else "否",
        "、".join(tags.get(pk, [])),
        paths.get(area_id, ""),
    ]


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
