"""The Content Security Policy: every page is sent with it (django-csp), and no template or
admin column puts an inline script, an event handler, a javascript: URL or a style into the
markup, which the policy would refuse. The photo views keep their own sandboxing policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE = Path(settings.BASE_DIR)
TEMPLATES = sorted((BASE / "templates").rglob("*.html"))
# E-mails are read in mail clients, which apply no policy of ours and ignore <link>: the
# digest's e-mail keeps its <style> block.
MAIL_TEMPLATES = {"digests/email.html"}
PAGE_TEMPLATES = [
    p for p in TEMPLATES if str(p.relative_to(BASE / "templates")) not in MAIL_TEMPLATES
]

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
# on…= as an attribute: after whitespace inside a tag, not a word like "conditions=".
HANDLER = re.compile(r"<[a-z][^>]*\s(on[a-z]+)\s*=", re.I | re.S)
JS_URL = re.compile(r"javascript:", re.I)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S)
STYLE_TAG = re.compile(r"<style\b", re.I)
HX_ON = re.compile(r"\shx-on[:-]", re.I)


def _name(path: Path) -> str:
    return str(path.relative_to(BASE))


def _offences(text: str) -> list[str]:
    found = []
    for match in SCRIPT_TAG.finditer(text):
        attributes = match.group(1)
        data_only = re.search(r"type\s*=\s*[\"']application/(ld\+)?json", attributes)
        if "src=" not in attributes and not data_only:
            found.append("inline <script>")
    found += [f"handler {m.group(1)}=" for m in HANDLER.finditer(text)]
    found += ["javascript: URL" for _ in JS_URL.finditer(text)]
    found += ["style attribute" for _ in STYLE_ATTR.finditer(text)]
    found += ["<style> element" for _ in STYLE_TAG.finditer(text)]
    found += ["hx-on handler" for _ in HX_ON.finditer(text)]
    return found


def test_the_scanner_finds_what_it_looks_for():
    """The scan can fail: each kind of offence is caught, and what the policy allows is not."""
    for bad in (
        "<script>alert(1)</script>",
        '<select onchange="this.form.submit()">',
        "<button\n  onclick='window.print()'>",
        '<a href="javascript:void(0)">',
        '<div class="x" style="width:3px">',
        "<style>p{}</style>",
        '<button hx-on:click="go()">',
    ):
        assert _offences(bad), bad
    for good in (
        "<script src=\"{% static 'portal/portal.js' %}\" defer></script>",
        '<script type="application/json" id="data">{}</script>',
        '<select data-autosubmit name="language">',
        '<p class="pre-wrap">conditions = 3</p>',
        '<div data-bar-width="37.5"></div>',
    ):
        assert not _offences(good), good


def test_there_are_templates_to_scan():
    assert len(PAGE_TEMPLATES) > 100
    assert any(_name(p) == "templates/base.html" for p in PAGE_TEMPLATES)


@pytest.mark.parametrize("path", PAGE_TEMPLATES, ids=_name)
def test_no_template_has_inline_script_handler_or_style(path):
    assert _offences(path.read_text(encoding="utf-8")) == []


def test_no_python_markup_has_a_style_attribute_or_handler():
    """Admin columns and template tags build markup too (format_html)."""
    offenders = []
    apps = [p for p in BASE.iterdir() if p.is_dir() and (p / "apps.py").exists()]
    for app in apps:
        for source in app.rglob("*.py"):
            if "migrations" in source.parts:
                continue
            text = source.read_text(encoding="utf-8")
            if re.search(r"""['"<][^'"\n]*\sstyle=""", text) or re.search(
                r"<[a-z]+[^>\n]*\son[a-z]+=", text
            ):
                offenders.append(_name(source))
    assert offenders == []


def test_the_static_scripts_the_templates_name_exist():
    named = set()
    for path in TEMPLATES:
        named |= set(re.findall(r"\{% static '([^']+\.js)' %\}", path.read_text(encoding="utf-8")))
    assert "portal/portal.js" in named and "citizens/citizens.js" in named
    for name in named:
        assert (BASE / "static" / name).exists() or any(
            (app / "static" / name).exists() for app in BASE.iterdir() if app.is_dir()
        ), name


DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = [part.strip().split(None, 1) for part in header.split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["login", "home", "admin:index", "citizens:sign_in", "residents:resident_list"],
)
def test_pages_are_sent_with_the_policy(client, world, name):
    if name != "login" and not name.startswith("citizens"):
        client.force_login(world.users["admin"])
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert _policy(response) == DIRECTIVES


@pytest.mark.django_db
def test_the_429_page_and_an_error_page_carry_the_policy_too(client, world):
    client.force_login(world.users["community"])
    response = client.get(reverse("issues:ticket_detail", args=[999999]))
    assert response.status_code == 404
    assert _policy(response) == DIRECTIVES


@pytest.mark.django_db
def test_a_photo_keeps_its_own_sandboxing_policy(client, world, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from issues import services
    from issues.models import Category

    settings.MEDIA_ROOT = tmp_path / "media"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buffer, "PNG")
    photo = SimpleUploadedFile("p.png", buffer.getvalue(), content_type="image/png")
    category = Category.objects.create(code="light", name="楼道照明")
    ticket = services.ticket_report(
        area=world.u1,
        category=category,
        channel="walk_in",
        description="楼道灯不亮",
        reporter_phone="13900000009",
        actor=world.users["unit_head"],
        photos=[photo],
    )
    client.force_login(world.users["community"])
    url = reverse("issues:ticket_photo", args=[ticket.pk, ticket.photos.get().pk])
    response = client.get(url)
    assert response.status_code == 200
    policy = _policy(response)
    assert "sandbox" in policy and policy["default-src"] == "'none'"
