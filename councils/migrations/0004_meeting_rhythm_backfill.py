"""Each area's rhythm row from the meetings it already has: the last held, the next due
after it (the rhythm of its level), the next planned; the ancestor keys from the tree."""

from django.db import migrations
from django.db.models import Max, Min, Q

BATCH = 2_000


def backfill(apps, schema_editor):
    from councils.rules import RHYTHMS
    from grids.selectors import area_keys_fill

    Meeting = apps.get_model("councils", "Meeting")
    MeetingRhythm = apps.get_model("councils", "MeetingRhythm")
    found = (
        Meeting.objects.order_by()
        .values("area_id")
        .annotate(
            level=Max("level"),
            last_held=Max("date", filter=Q(state="held")),
            next_planned=Min("date", filter=Q(state="planned")),
        )
        .order_by("area_id")
    )
    batch = []
    for row in found.iterator(chunk_size=BATCH):
        last = row["last_held"]
        batch.append(
            MeetingRhythm(
                area_id=row["area_id"],
                level=row["level"],
                last_held=last,
                next_due=RHYTHMS[row["level"]].due_after(last) if last else None,
                next_planned=row["next_planned"],
            )
        )
        if len(batch) == BATCH:
            MeetingRhythm.objects.bulk_create(batch)
            batch = []
    MeetingRhythm.objects.bulk_create(batch)
    if MeetingRhythm.objects.exists():
        area_keys_fill(MeetingRhythm._meta.db_table)


class Migration(migrations.Migration):
    dependencies = [("councils", "0003_meeting_rhythm")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
