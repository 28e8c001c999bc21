"""The rules the portal awards by itself, with small points as the Yantan moral bank counts
them (600 households saving some 1,300 points: a good deed is worth a couple of points).
Their names come from ``points.models.RULE_LABELS`` in the reader's language; an admin may
change the points, switch a rule off or give it a name of its own."""

from django.db import migrations

RULES = [
    ("visit_logged", 1, "A door-knock visit (入户走访) logged, for the visitor."),
    ("problem_solved_own_level", 3, "A problem solved at the level that held it, for the solver."),
    ("rated_satisfied", 2, "The reporter rated the result satisfied, for the solver."),
    ("wish_fulfilled", 3, "A micro-wish (微心愿) fulfilled, for the claimer."),
    ("wish_confirmed", 1, "A micro-wish confirmed by the resident who posted it."),
    ("meeting_attended", 1, "A regular meeting (例会) attended."),
    ("volunteer_hours", 1, "Per hour of volunteer service registered by the community."),
    ("good_deed", 2, "A good deed registered by the community (道德银行 储蓄登记)."),
]


def seed(apps, schema_editor):
    PointRule = apps.get_model("points", "PointRule")
    for code, points, description in RULES:
        PointRule.objects.get_or_create(
            code=code, defaults={"points": points, "description": description}
        )


def unseed(apps, schema_editor):
    apps.get_model("points", "PointRule").objects.filter(
        code__in=[code for code, _p, _d in RULES], entries__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
