"""The heads import with logins: created (username the mobile number, a one-time password
by SMS after commit or shown once), linked when the login exists, a row error when the
number is another person's username, nothing created or sent when the import fails."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import sms
from core.importing import ImportFailed
from core.models import TextMessage
from core.passwords import OTP_ALPHABET, OTP_LENGTH, OneTimePasswordHasher
from core.spreadsheets import read_table
from grids import services
from grids.imports import heads_import
from grids.imports.logins import LoginDelivery
from grids.models import ImportRun, Person, Post
from tests.core.test_sms import TOKEN, Gateway

from ..helpers import csv_file, error_cells

User = get_user_model()
HEADERS = ["区域编码", "区域名称", "职务", "姓名", "手机", "公示", "副职", "任职日期"]
ROWS = [
    ["G1", "第1网格", "网格长", "王芳", "13800000001", "是", "否", "2024-01-01"],  # line 2
    ["B1", "1栋", "楼栋长", "李强", "13800000002", "是", "否", ""],  # 3
    ["U1", "1单元", "单元长", "李强", "13800000002", "是", "否", ""],  # 4: a second post
]
OTP = re.compile(rf"[{OTP_ALPHABET}]{{{OTP_LENGTH}}}")


def run(tmp_path, rows=ROWS, **kwargs):
    path = csv_file(tmp_path, HEADERS, rows)
    return heads_import(table=read_table(path), source=path.name, **kwargs)


def otp_of(text: str) -> str:
    (found,) = OTP.findall(text)
    return found


def test_logins_are_off_by_default(county, tmp_path):
    report = run(tmp_path)

    assert report.created == 3
    assert not User.objects.exists()
    assert not Person.objects.filter(user__isnull=False).exists()
    assert "logins" not in report.summary() and "登录" not in report.summary()


def test_sms_logins_created_and_sent_after_commit(
    county, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = run(tmp_path, logins=LoginDelivery.SMS)
        assert not sms.outbox  # nothing leaves before the commit

    assert callbacks
    assert (report.logins_created, report.logins_linked) == (2, 0)
    assert report.passwords == []  # sent, so not shown
    people = {p.phone: p for p in Person.objects.select_related("user")}
    assert {phone: p.user.username for phone, p in people.items()} == {
        "13800000001": "13800000001",
        "13800000002": "13800000002",
    }
    assert all(p.password_change_required for p in people.values())
    assert sorted(m.number for m in sms.outbox) == ["+8613800000001", "+8613800000002"]
    for message in sms.outbox:
        phone = message.number.removeprefix("+86")
        password = otp_of(message.text)
        assert phone in message.text and "http://" in message.text
        user = people[phone].user
        assert identify_hasher(user.password).algorithm == OneTimePasswordHasher.algorithm
        assert password not in user.password
        assert authenticate(username=phone, password=password) == user
    # The outbox keeps no readable password once sent (a sign-in secret, blanked like a code).
    assert set(TextMessage.objects.values_list("purpose", "text")) == {("sign_in", "")}


def test_the_sms_is_in_chinese_whatever_the_importer_reads(
    county, tmp_path, django_capture_on_commit_callbacks
):
    from django.utils import translation

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        run(tmp_path, logins=LoginDelivery.SMS)

    assert all("一次性密码" in m.text for m in sms.outbox), [m.text for m in sms.outbox]


def test_the_one_time_password_reaches_a_real_gateway(
    county, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "core.sms.HttpBackend"
    settings.SMS_HTTP_TOKEN = TOKEN
    with Gateway() as gateway:
        settings.SMS_HTTP_URL = gateway.url
        with django_capture_on_commit_callbacks(execute=True):
            run(tmp_path, rows=ROWS[:1], logins=LoginDelivery.SMS)

    (request,) = gateway.requests
    body = json.loads(request["body"])
    assert body["to"] == "+8613800000001"
    assert authenticate(username="13800000001", password=otp_of(body["text"])) is not None


def test_shown_once_logins_are_in_the_report_only(
    county, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = run(tmp_path, logins=LoginDelivery.SHOW)

    assert not sms.outbox and not TextMessage.objects.exists()
    assert [(p.line, p.name, p.username) for p in report.passwords] == [
        (2, "王芳", "13800000001"),
        (3, "李强", "13800000002"),
    ]
    for shown in report.passwords:
        assert OTP.fullmatch(shown.password)
        assert authenticate(username=shown.username, password=shown.password) is not None
        assert shown.password not in repr(shown) and shown.password not in repr(report)
    assert "2" in report.summary()


def test_a_dry_run_creates_no_login_and_counts_them(county, tmp_path):
    report = run(tmp_path, logins=LoginDelivery.SMS, dry_run=True)

    assert (report.logins_created, report.logins_linked) == (2, 0)
    assert not User.objects.exists() and not TextMessage.objects.exists()


def test_a_person_with_a_login_keeps_it(county, tmp_path):
    person = services.person_get_or_create(name="王芳", phone="13800000001")
    own = User.objects.create_user("wangfang", password="her-own-pw-1")
    person.user = own
    person.save(update_fields=["user"])

    report = run(tmp_path, logins=LoginDelivery.SHOW)

    assert (report.logins_created, report.logins_linked) == (1, 0)
    person.refresh_from_db()
    assert person.user == own and not person.password_change_required
    assert not User.objects.filter(username="13800000001").exists()
    assert authenticate(username="wangfang", password="her-own-pw-1") == own


def test_a_login_named_by_the_number_is_linked_not_duplicated(county, tmp_path):
    made_by_hand = User.objects.create_user("13800000001", password="her-own-pw-1")

    report = run(tmp_path, logins=LoginDelivery.SMS)

    assert (report.logins_created, report.logins_linked) == (1, 1)
    assert User.objects.filter(username="13800000001").count() == 1
    person = Person.objects.get(phone="13800000001")
    assert person.user == made_by_hand and not person.password_change_required
    assert authenticate(username="13800000001", password="her-own-pw-1") == made_by_hand


def test_a_number_that_is_another_persons_username_is_a_row_error(
    county, tmp_path, django_capture_on_commit_callbacks
):
    other = services.person_get_or_create(name="赵六", phone="13900000009")
    other.user = User.objects.create_user("13800000002", password="his-own-pw-1")
    other.save(update_fields=["user"])

    commit = django_capture_on_commit_callbacks(execute=True)
    with commit, pytest.raises(ImportFailed) as excinfo:
        run(tmp_path, logins=LoginDelivery.SMS)

    errors = excinfo.value.report.errors
    assert error_cells(errors) == [(3, "E（手机）")]  # the first line of that number
    assert "13800000002" in errors[0].message and "赵六" in errors[0].message
    assert User.objects.count() == 1
    assert not Post.objects.exists() and not ImportRun.objects.exists()
    assert not sms.outbox and not TextMessage.objects.exists()


def test_a_landline_gets_no_login(county, tmp_path):
    rows = [*ROWS, ["G2", "第2网格", "网格长", "孙丽", "0794-3261234", "是", "否", ""]]

    with pytest.raises(ImportFailed) as excinfo:
        run(tmp_path, rows=rows, logins=LoginDelivery.SHOW)

    assert error_cells(excinfo.value.report.errors) == [(5, "E（手机）")]
    assert not User.objects.exists()
    # Without logins the same file is fine: a landline is a phone for the notice board.
    assert run(tmp_path, rows=rows).created == 4


def test_a_failing_import_creates_no_login_and_sends_nothing(
    county, tmp_path, django_capture_on_commit_callbacks
):
    rows = [*ROWS, ["NOPE", "", "网格长", "赵六", "13800000009", "", "", ""]]

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ImportFailed):
        run(tmp_path, rows=rows, logins=LoginDelivery.SMS)

    assert not User.objects.exists() and not Person.objects.exists()
    assert not sms.outbox and not TextMessage.objects.exists()


def test_a_write_that_fails_late_rolls_the_logins_back(
    county, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """A failure after the logins are written (here: the import's record) takes them back,
    and the SMS already queued in the transaction with them."""

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("grids.imports.heads.import_run_record", broken)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        run(tmp_path, logins=LoginDelivery.SMS)

    assert not User.objects.exists() and not TextMessage.objects.exists()
    assert not sms.outbox


def test_re_importing_creates_no_second_login(county, tmp_path):
    run(tmp_path, logins=LoginDelivery.SHOW)
    report = run(tmp_path, logins=LoginDelivery.SHOW)

    assert (report.logins_created, report.logins_linked) == (0, 0)
    assert report.passwords == []
    assert User.objects.count() == 2


def test_logins_are_set_based(county, tmp_path):
    """The queries do not grow with the rows: 40 new heads cost what 4 do."""
    units = ["U1", "U2"]

    def rows(n, first):
        return [
            [units[i % 2], "", "单元长", f"人{first + i}", f"139{first + i:08d}", "", "是", ""]
            for i in range(n)
        ]

    def queries(rows):
        with CaptureQueriesContext(connection) as captured:
            run(tmp_path, rows=rows, logins=LoginDelivery.SMS)
        return len(captured)

    small, large = queries(rows(4, 0)), queries(rows(40, 100))
    assert large == small, (small, large)


def test_the_command_prints_shown_once_passwords(county, tmp_path, capsys):
    path = csv_file(tmp_path, HEADERS, ROWS)

    call_command("import_heads", str(path), "--logins", "show", verbosity=0)

    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split("\t")[:3] for line in lines] == [
        ["2", "王芳", "13800000001"],
        ["3", "李强", "13800000002"],
    ]
    assert OTP.fullmatch(lines[0].split("\t")[3])


def test_timing_of_one_time_password_hashing():
    """What the cheap hasher buys: 1,000 logins hash in well under a second of CPU (the
    default hasher would take about 0.3 s each, five minutes for these)."""
    from core.passwords import one_time_password_hash

    started = time.process_time()
    for _ in range(1000):
        one_time_password_hash("ABCDEFGHJKM")
    assert time.process_time() - started < 5
