"""Findings of a review: full ID numbers never travel in URLs, uploads with personal data
do not outlive their preview, and the reveal log records the client behind the proxy."""

import os
import time

import pytest
from django.test import RequestFactory
from django.urls import reverse

from core import uploads
from core.requests import client_ip
from residents.models import AccessLog

pytestmark = pytest.mark.django_db


def test_find_by_full_id_is_a_post_and_redirects(world, login_as):
    client = login_as("community")
    resident = world.residents["U1"]
    response = client.post(reverse("residents:resident_find"), {"id_number": resident.id_number})
    assert response.status_code == 302
    assert response["Location"] == reverse("residents:resident_detail", args=[resident.pk])
    assert resident.id_number not in response["Location"]
    assert client.get(reverse("residents:resident_find")).status_code == 405
    outside = world.residents["U4"]
    response = client.post(reverse("residents:resident_find"), {"id_number": outside.id_number})
    assert response["Location"] == reverse("residents:resident_list")


def test_search_by_masked_id_as_shown(world, login_as):
    client = login_as("community")
    resident = world.residents["U1"]
    html = client.get(
        reverse("residents:resident_list"), {"q": resident.masked_id_number}
    ).content.decode()
    assert resident.name in html
    full = client.get(reverse("residents:resident_list"), {"q": resident.id_number})
    assert resident.name not in full.content.decode()  # full numbers are not searched by GET


def test_client_ip_behind_a_trusted_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_HOPS = 1
    assert client_ip(request) == "203.0.113.7"  # what our proxy saw, not what the client wrote


def test_reveal_logs_the_client_address(world, login_as, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    client = login_as("community")
    resident = world.residents["U1"]
    client.post(
        reverse("residents:resident_reveal", args=[resident.pk, "phone"]),
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert AccessLog.objects.get(resident=resident).ip == "203.0.113.9"


def test_old_uploads_are_swept(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    fresh, old = tmp_path / "imports" / "fresh.csv", tmp_path / "imports" / "old.csv"
    fresh.parent.mkdir()
    fresh.write_text("x")
    old.write_text("x")
    stale = time.time() - uploads.KEEP_SECONDS - 60
    os.utime(old, (stale, stale))
    assert uploads.upload_path("old.csv") is None
    assert uploads.upload_path("fresh.csv") == fresh
    assert not old.exists()


def test_a_failed_preview_keeps_no_file(world, login_as, settings, tmp_path):
    import io

    settings.VAR_DIR = tmp_path
    client = login_as("community")
    data = io.BytesIO("区域编码,房号,姓名,身份证号\nNOPE,101,张三,123\n".encode())
    data.name = "bad.csv"
    response = client.post(reverse("residents:resident_import"), {"file": data})
    assert response.status_code == 200 and "import-errors" in response.content.decode()
    assert not any((tmp_path / "imports").iterdir())
