"""Open311 ``POST /open311/v2/requests.json`` (and ``.xml``) with an API key, sent random and
hostile arguments — form-encoded, multipart, as a JSON body of any shape, or bytes that are
none of these: never a server error; a refusal is a 400 (403 for the key, 429 for the rate)
with the spec's error body and writes nothing; a 201 files one problem whose rows pass
``full_clean``."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET  # noqa: S405 (our own answers, parsed in a test)
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from issues import services
from issues.models import Ticket

from . import engine

EXAMPLES = int(os.environ.get("PROPERTIES_OPEN311_EXAMPLES", "40"))
FIELDS = (
    "api_key",
    "service_code",
    "address_id",
    "description",
    "phone",
    "first_name",
    "last_name",
    "email",
    "lat",
    "long",
    "address_string",
    "media_url",
    "device_id",
    "account_id",
    "attribute[WHISPER]",
    "jurisdiction_id",
)


def values(world, key: str) -> dict:
    codes = [world.u1.code, world.b1.code, world.g1.code, world.u4.code, world.county.code]
    return {
        "api_key": st.sampled_from([key, key, key, key.upper(), key[:-1], "", "x" * 500]),
        "service_code": st.sampled_from(["repair", "leak", "noise", "REPAIR", "retired", ""]),
        "address_id": st.sampled_from([*codes, f"{world.u1.code}9", " " + codes[0]]),
        "description": st.sampled_from(["楼下路灯不亮，晚上看不见路", "水管\n漏水", "x" * 2001]),
        "phone": st.sampled_from(
            ["13900001234", "+86 139-0000-1234", "１３９００００１２３４", "12345", "0791-8888"]
        ),
        "first_name": st.sampled_from(["三", "John", ""]),
        "last_name": st.sampled_from(["张", "Smith", "李" * 60]),
        "email": st.sampled_from(["a@b.example", "not-an-email"]),
        "lat": st.sampled_from(["27.95", "91", "NaN", "1e309"]),
        "long": st.sampled_from(["116.35", "-181", "inf"]),
        "media_url": st.sampled_from(["https://example.org/a.jpg", "javascript:alert(1)"]),
        "key": key,
    }


@st.composite
def payload(draw, usual: dict):
    if draw(st.booleans()):
        # A request a client could send, one or two of its arguments made hostile.
        data = {name: draw(usual[name]) for name in usual if name not in ("description", "key")}
        data.update(
            api_key=usual["key"],
            service_code="repair",
            description="楼下路灯不亮，晚上看不见路",
            phone="13900001234",
        )
        for _ in range(draw(st.integers(0, 2))):
            data[draw(st.sampled_from(FIELDS))] = draw(engine.hostile_text)
        return data
    data = {}
    for name in FIELDS:
        pick = draw(st.integers(0, 9))
        if pick == 0:
            continue
        good = usual.get(name, st.text(max_size=20))
        if pick <= 6:
            data[name] = draw(good)
        elif pick <= 8:
            data[name] = draw(engine.hostile_text)
        else:
            data[name] = draw(st.lists(good | engine.hostile_text, min_size=0, max_size=3))
    if draw(st.integers(0, 4)) == 0:
        data[draw(engine.hostile_text.filter(bool))] = draw(engine.hostile_text)
    return data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | engine.hostile_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def body(draw, usual: dict):
    """(content type, body) of a POST."""
    how = draw(st.sampled_from(["form", "form", "multipart", "json", "json-any", "bytes"]))
    if how == "form":
        return "application/x-www-form-urlencoded", urlencode(draw(payload(usual)), doseq=True)
    if how == "multipart":
        return None, draw(payload(usual))
    if how == "json":
        data = draw(payload(usual))
        if draw(st.booleans()):
            data[draw(st.sampled_from(FIELDS))] = draw(json_values)
        return "application/json", json.dumps(data)
    if how == "json-any":
        return "application/json", json.dumps(draw(json_values))
    kind = draw(
        st.sampled_from(
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "text/xml",
            ]
        )
    )
    return kind, draw(st.binary(max_size=300))


def _error_body(response, fmt: str) -> list[str]:
    """The descriptions of an Open311 error answer; fails unless it is one."""
    if fmt == "json":
        rows = json.loads(response.content)
        assert isinstance(rows, list) and rows, rows
        assert all(set(row) == {"code", "description"} for row in rows), rows
        assert all(row["code"] == response.status_code for row in rows), rows
        return [row["description"] for row in rows]
    root = ET.fromstring(response.content)  # noqa: S314
    assert root.tag == "errors", root.tag
    errors = root.findall("error")
    assert errors and all(e.findtext("code") == str(response.status_code) for e in errors)
    return [e.findtext("description") for e in errors]


@pytest.fixture
def key(world):
    from tests.issues.conftest import Ticketing

    Ticketing(world)  # the categories and tiers
    return services.api_key_create(name="一网通", channel=Ticket.Channel.MINI_PROGRAM)[1]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_hostile_open311_posts(fmt, world, key, client):
    url = f"/open311/v2/requests.{fmt}"
    usual = values(world, key)
    name = f"POST requests.{fmt}"

    @hsettings(engine.HYPOTHESIS, max_examples=EXAMPLES)
    @given(sent=body(usual))
    def example(sent):
        content_type, data = sent
        with engine.rolled_back():
            cache.clear()
            before = engine.snapshot()
            if content_type is None:
                response = client.post(url, data)
            else:
                response = client.post(url, data, content_type=content_type)
            changes = engine.check_answer("open311", name, response, before)
            if response.status_code == 201:
                assert len(changes.added.get("issues_ticket", ())) == 1, changes.describe()
            else:
                assert response.status_code in (400, 403, 429), response.status_code
                _error_body(response, fmt)

    example()
