from django.db import migrations

CARE_TAGS = [
    ("elderly_alone", "独居老人"),
    ("empty_nest", "空巢老人"),
    ("disabled", "残疾人"),
    ("low_income", "低保户"),
    ("extreme_hardship", "特困人员"),
    ("veteran", "退役军人"),
    ("left_behind_child", "留守儿童"),
    ("serious_illness", "大病患者"),
]


def add_tags(apps, schema_editor):
    CareTag = apps.get_model("residents", "CareTag")
    for code, name in CARE_TAGS:
        CareTag.objects.update_or_create(code=code, defaults={"name": name})


def remove_tags(apps, schema_editor):
    apps.get_model("residents", "CareTag").objects.filter(
        code__in=[code for code, _ in CARE_TAGS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("residents", "0001_initial")]
    operations = [migrations.RunPython(add_tags, remove_tags)]
