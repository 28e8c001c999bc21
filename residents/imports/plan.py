"""The plan of a resident import: what each checked row creates or changes, and the writes."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.importing import BATCH, LOOKUP_CHUNK, PREVIEW_ROWS, Progress, chunks
from core.privacy import mask_id_number
from grids.models import Area
from grids.selectors import area_keys_of
from residents.imports.rows import ResidentRow
from residents.models import Household, Resident


class ResidentPlan:
    def __init__(
        self,
        rows: list[ResidentRow],
        areas: dict[str, Area],
        existing: dict[str, Resident],
        households: dict[tuple[int, str], Household],
    ):
        self.rows, self.areas, self.existing, self.households = rows, areas, existing, households
        self.preview: list[tuple[int, str, str, str]] = []
        self.new_households: dict[tuple[int, str], Household] = {}
        self.changed_households: dict[int, Household] = {}
        self.new_residents: list[tuple[ResidentRow, tuple[int, str]]] = []
        self.changed_residents: list[tuple[ResidentRow, Resident, tuple[int, str]]] = []
        self.unchanged = 0
        for row in rows:
            self._plan_row(row)

    def _plan_row(self, row: ResidentRow) -> None:
        key = (self.areas[row.area_code].pk, row.door)
        household_changed = self._plan_household(row, key)
        old = self.existing.get(row.id_number)
        label = f"{row.name} {mask_id_number(row.id_number)}"
        if old is None:
            self.new_residents.append((row, key))
            self._preview(row.line, "new", label)
            return
        diffs = self._diffs(row, old, key)
        if household_changed:
            diffs.append("household details")
        if diffs:
            self.changed_residents.append((row, old, key))
            self._preview(row.line, "update", label, ", ".join(diffs))
        else:
            self.unchanged += 1
            self._preview(row.line, "unchanged", label)

    def _plan_household(self, row: ResidentRow, key: tuple[int, str]) -> bool:
        """Find or plan the row's household, taking the row's details; whether it is a
        registered household that changes (by this row or an earlier one)."""
        household = self.households.get(key) or self.new_households.get(key)
        if household is None:
            self.new_households[key] = Household(
                area=self.areas[row.area_code],
                door=row.door,
                address=row.address or "",
                in_online_group=bool(row.in_online_group),
            )
            return False
        if not household.pk:
            # Another row of the same new household: any explicit value counts (rows that
            # contradict each other were refused by the checks).
            if row.in_online_group is not None:
                household.in_online_group = row.in_online_group
            if row.address and not household.address:
                household.address = row.address
            return False
        changed = False
        if row.address is not None and household.address != row.address:
            household.address, changed = row.address, True
        if row.in_online_group is not None and household.in_online_group != row.in_online_group:
            household.in_online_group, changed = row.in_online_group, True
        if changed:
            self.changed_households[household.pk] = household
        return household.pk in self.changed_households

    @staticmethod
    def _diffs(row: ResidentRow, old: Resident, key: tuple[int, str]) -> list[str]:
        diffs = [
            name
            for name in ("name", "phone", "is_householder")
            if getattr(row, name) is not None and getattr(row, name) != getattr(old, name)
        ]
        if (old.household.area_id, old.household.door) != key:
            diffs.append("household")
        if row.tags is not None and row.tags != tuple(sorted(t.pk for t in old.care_tags.all())):
            diffs.append("care_tags")
        return diffs

    def _preview(self, line: int, action: str, label: str, what: str = "") -> None:
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append((line, action, label, what))

    def counts(self) -> tuple[int, int, int]:
        return len(self.new_residents), len(self.changed_residents), self.unchanged

    def write(self, progress: Progress) -> None:
        now = timezone.now()
        self._write_households(now, progress)
        created = self._create_residents(now, progress)
        self._update_residents(now)
        self._write_care_tags(created)

    def _household_of(self, key: tuple[int, str]) -> Household:
        return self.households.get(key) or self.new_households[key]

    def _write_households(self, now: dt.datetime, progress: Progress) -> None:
        new_households = list(self.new_households.values())
        # Their ancestor keys: one query per 500 places, whatever the number of rows.
        keys = area_keys_of({household.area_id for household in new_households})
        for household in new_households:
            for name, value in keys[household.area_id].items():
                setattr(household, name, value)
        for chunk in chunks(new_households, BATCH):
            Household.objects.bulk_create(chunk)
        changed = list(self.changed_households.values())
        for household in changed:
            household.updated_at = now
        Household.objects.bulk_update(
            changed, ["address", "in_online_group", "updated_at"], batch_size=BATCH
        )
        progress("households", len(new_households) + len(changed), len(new_households))

    def _create_residents(self, now: dt.datetime, progress: Progress) -> list[Resident]:
        """The new residents, written; in the order of ``new_residents``."""
        created = [
            Resident(
                household=self._household_of(key),
                name=row.name,
                gender=row.gender,
                birth_date=row.birth_date,
                id_number=row.id_number,
                phone=row.phone or "",
                is_householder=bool(row.is_householder),
                created_at=now,
                updated_at=now,
            )
            for row, key in self.new_residents
        ]
        for chunk in chunks(created, BATCH):
            Resident.objects.bulk_create(chunk)
            progress("residents", len(chunk), len(created))
        return created

    def _update_residents(self, now: dt.datetime) -> None:
        updated = []
        for row, old, key in self.changed_residents:
            old.name = row.name
            if row.phone is not None:
                old.phone = row.phone
            if row.is_householder is not None:
                old.is_householder = row.is_householder
            old.household = self._household_of(key)
            old.updated_at = now
            updated.append(old)
        Resident.objects.bulk_update(
            updated,
            ["name", "phone", "is_householder", "household", "updated_at"],
            batch_size=BATCH,
        )

    def _write_care_tags(self, created: list[Resident]) -> None:
        """Replace the set of care tags for every row that names them and differs."""
        through = Resident.care_tags.through
        tagged = [(row, r) for (row, _key), r in zip(self.new_residents, created, strict=True)]
        tagged += [(row, old) for row, old, _key in self.changed_residents]
        tagged = [(row, r) for row, r in tagged if row.tags is not None]
        changed_pks = {old.pk for _row, old, _key in self.changed_residents}
        replace = [r.pk for _row, r in tagged if r.pk in changed_pks]
        for chunk in chunks(replace, LOOKUP_CHUNK):
            through.objects.filter(resident_id__in=chunk).delete()
        links = [through(resident_id=r.pk, caretag_id=t) for row, r in tagged for t in row.tags]
        for chunk in chunks(links, BATCH):
            through.objects.bulk_create(chunk)
