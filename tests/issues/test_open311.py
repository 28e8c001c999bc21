"""The Open311 GeoReport v2 API (issues/open311.py): field names as the spec has them,
filters, the open/closed mapping, filing through ``ticket_report``, the spec's error lists,
405 for other methods and a constant number of queries for the list."""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from grids import selectors as grid_selectors
from grids import services as grid_services
from grids.models import Area, Department
from grids.rules import AreaKind as K
from grids.rules import PostTitle as T
from issues import open311, services
from issues.models import ApiKey, Category, Level, Ticket

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded"

# The spec's names, per response (wiki.open311.org/GeoReport_v2).
SERVICE_KEYS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
DEFINITION_KEYS = {"service_code", "attributes"}
REQUEST_KEYS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
CREATED_KEYS = {"service_request_id", "service_notice", "account_id"}
ERROR_KEYS = {"code", "description"}

REPORTER_NAME = "张三丰"
REPORTER_PHONE = "13812345678"


# --- a small world, built through the services ------------------------------------------------
#
#   青山市 (city) › 青山县 (district) › 河口街道 (street, nobody in post) › 柳岸社区
#     › 第1网格 (grid head) › 3栋 › 2单元 (unit head)
#   plus a county officer on the district, so hard problems reach an assignment meeting.


@dataclass
class Place:
    city: Area
    county: Area
    street: Area
    community: Area
    grid: Area
    building: Area
    unit: Area
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    departments: list[Department] = field(default_factory=list)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def place(db) -> Place:
    g = grid_services
    city = g.area_create(code="5101", name="青山市", kind=K.CITY)
    county = g.area_create(code="510121", name="青山县", kind=K.DISTRICT, parent=city)
    street = g.area_create(code="510121001", name="河口街道", kind=K.STREET, parent=county)
    community = g.area_create(code="510121001001", name="柳岸社区", kind=K.COMMUNITY, parent=street)
    grid = g.area_create(code="510121001001001", name="第1网格", kind=K.GRID, parent=community)
    building = g.area_create(code="510121001001001003", name="3栋", kind=K.BUILDING, parent=grid)
    unit = g.area_create(code="51012100100100100302", name="2单元", kind=K.UNIT, parent=building)
    made = Place(city, county, street, community, grid, building, unit)

    for key, name, phone, area, title in [
        ("unit_head", "严福", "13900000001", unit, T.UNIT_HEAD),
        ("grid_head", "李雪永", "13900000002", grid, T.GRID_HEAD),
        ("county", "陈志远", "13900000003", county, T.COUNTY_OFFICER),
    ]:
        user = User.objects.create_user(key, password="pw-for-tests-1")
        person = g.person_get_or_create(name=name, phone=phone)
        person.user = user
        person.save(update_fields=["user"])
        g.post_assign(area=area, title=title, person=person)
        made.users[key] = user

    # Reference data: the categories are the Open311 services.
    municipal = Category.objects.create(
        code="municipal", name="市政设施", description="道路、路灯、井盖"
    )
    made.categories = {
        "municipal": municipal,
        "streetlight": Category.objects.create(
            code="streetlight", name="路灯不亮", description="路灯坏了或不亮", parent=municipal
        ),
        "noise": Category.objects.create(code="noise", name="噪音扰民"),
        "retired": Category.objects.create(code="retired", name="旧分类", active=False),
    }
    made.departments = [
        Department.objects.create(code="housing", name="住建局"),
        Department.objects.create(code="water", name="水务局"),
    ]
    return made


@pytest.fixture
def api_key(db) -> tuple[ApiKey, str]:
    return services.api_key_create(name="青山一网通小程序", channel=Ticket.Channel.MINI_PROGRAM)


def png(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def report(place: Place, *, area=None, code="streetlight", tier=None, **extra) -> Ticket:
    ticket = services.ticket_report(
        area=area or place.unit,
        category=place.categories[code],
        channel=extra.pop("channel", Ticket.Channel.HOTLINE),
        description=extra.pop("description", "楼下路灯不亮，晚上看不见路"),
        reporter_name=REPORTER_NAME,
        reporter_phone=REPORTER_PHONE,
        tier=tier,
        **extra,
    )
    ticket.refresh_from_db()
    return ticket


def to_department(place: Place, ticket: Ticket) -> Ticket:
    """A hard problem handed to both departments at an assignment meeting."""
    county = place.users["county"]
    meeting = services.meeting_open(area=place.county, title="第1次交办会", actor=county)
    deadline = timezone.now() + dt.timedelta(days=10)
    services.meeting_assign(
        meeting=meeting,
        ticket=ticket,
        parts=[services.Part(department=d, deadline=deadline) for d in place.departments],
        actor=county,
    )
    ticket.refresh_from_db()
    return ticket


def resolve(place: Place, ticket: Ticket) -> Ticket:
    services.ticket_resolve(ticket=ticket, actor=place.users["unit_head"], feedback="已换灯泡")
    ticket.refresh_from_db()
    return ticket


def w3(moment: dt.datetime) -> str:
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["service_request_id"] for row in response.json()}


def only_error(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert set(body[0]) == ERROR_KEYS
    assert body[0]["code"] == status
    return body[0]["description"]


def post_form(client, data: dict, fmt: str = "json"):
    return client.post(f"{BASE}/requests.{fmt}", urlencode(data), content_type=FORM)


def good_form(place: Place, raw_key: str, **changes) -> dict:
    data = {
        "api_key": raw_key,
        "service_code": "streetlight",
        "address_id": place.unit.code,
        "description": "3栋门口路灯不亮",
        "first_name": "三丰",
        "last_name": "张",
        "phone": "+86 138 1234 5678",
        "email": "zhang@example.org",
        "media_url": "https://example.org/a.jpg",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def xml_of(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


# --- GET services -----------------------------------------------------------------------------


def test_services_lists_active_categories_with_the_spec_fields(client, place):
    response = client.get(f"{BASE}/services.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    rows = {row["service_code"]: row for row in response.json()}
    assert set(rows) == {"municipal", "streetlight", "noise"}  # not the inactive one
    for row in rows.values():
        assert set(row) == SERVICE_KEYS
        assert row["metadata"] is False
        assert row["type"] == "realtime"
    assert rows["streetlight"] == {
        "service_code": "streetlight",
        "service_name": "路灯不亮",
        "description": "路灯坏了或不亮",
        "metadata": False,
        "type": "realtime",
        "keywords": "路灯不亮,市政设施",
        "group": "市政设施",
    }
    assert rows["municipal"]["group"] is None


def test_services_in_xml_use_the_spec_element_names(client, place):
    root = xml_of(client.get(f"{BASE}/services.xml"))

    assert root.tag == "services"
    assert {child.tag for child in root} == {"service"}
    assert len(root) == 3
    for service in root:
        assert {e.tag for e in service} == SERVICE_KEYS
        assert service.findtext("metadata") == "false"
    streetlight = next(s for s in root if s.findtext("service_code") == "streetlight")
    assert streetlight.findtext("group") == "市政设施"


def test_service_definition_has_no_attributes(client, place):
    response = client.get(f"{BASE}/services/streetlight.json")

    assert response.status_code == 200
    assert response.json() == {"service_code": "streetlight", "attributes": []}
    assert set(response.json()) == DEFINITION_KEYS

    root = xml_of(client.get(f"{BASE}/services/streetlight.xml"))
    assert root.tag == "service_definition"
    assert [e.tag for e in root] == ["service_code", "attributes"]
    assert len(root.find("attributes")) == 0


@pytest.mark.parametrize("code", ["no-such-thing", "retired"])
def test_unknown_or_inactive_service_code_is_a_404_list(client, place, code):
    description = only_error(client.get(f"{BASE}/services/{code}.json"), 404)
    assert code in description

    root = xml_of(client.get(f"{BASE}/services/{code}.xml"))
    assert root.tag == "errors"
    assert [e.tag for e in root] == ["error"]
    assert {e.tag for e in root[0]} == ERROR_KEYS
    assert root[0].findtext("code") == "404"


# --- GET requests -----------------------------------------------------------------------------


def test_request_row_has_the_spec_fields_and_no_personal_data(client, place):
    ticket = report(
        place,
        description=f"{REPORTER_NAME}反映：楼下路灯不亮，请回电13987654321，"
        "身份证360102199001011234",
    )

    response = client.get(f"{BASE}/requests.json")

    assert response.status_code == 200
    [row] = response.json()
    assert set(row) == REQUEST_KEYS
    assert row["service_request_id"] == str(ticket.pk)
    assert row["status"] == "open"
    assert row["status_notes"] == str(Ticket.State.REPORTED.label)
    assert row["service_name"] == "路灯不亮"
    assert row["service_code"] == "streetlight"
    assert row["agency_responsible"] is None  # not triaged yet
    assert row["service_notice"]
    assert row["requested_datetime"] == w3(ticket.created_at)
    assert row["requested_datetime"].endswith("+08:00")
    assert row["updated_datetime"] == w3(ticket.updated_at)
    assert row["expected_datetime"] is None
    # Most specific to most general, as the spec orders an address, up to the city.
    assert row["address"] == "2单元，3栋，第1网格，柳岸社区，河口街道，青山县，青山市"
    assert row["address_id"] == place.unit.code
    assert (row["zipcode"], row["lat"], row["long"], row["media_url"]) == (None,) * 4
    # Nothing that says who reported it, not even inside the description.
    text = response.content.decode()
    for secret in (REPORTER_NAME, REPORTER_PHONE, "13987654321", "360102199001011234"):
        assert secret not in text
    assert "楼下路灯不亮" in row["description"]
    assert "139****4321" in row["description"]


# Each as a reporter might type it, and what the public list shows instead.
LEAKS = [
    ("+8613800138000", "138****8000"),
    ("8613800138000", "138****8000"),
    ("138-0013-8000", "138****8000"),
    ("138 0013 8000", "138****8000"),
    ("１３８００１３８０００", "138****8000"),
    ("362401900101123", "3*************3"),  # an old ID number of 15 digits
    ("362401-19900101-123x", "3****************X"),
    ("362401 19900101 1234", "3****************4"),
    ("0794-1234567", "079****4567"),
]


@pytest.mark.parametrize(("written", "masked"), LEAKS)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_personal_numbers_in_any_form_are_masked_in_the_description(
    client, place, written, masked, fmt
):
    ticket = report(place, description=f"{REPORTER_NAME}反映：3栋301室漏水，请回电{written}，谢谢")

    for url in (f"{BASE}/requests.{fmt}", f"{BASE}/requests/{ticket.pk}.{fmt}"):
        response = client.get(url)
        assert response.status_code == 200
        text = response.content.decode()
        assert written not in text
        assert "".join(c for c in written if c.isdigit()) not in text
        if fmt == "json":
            [row] = response.json()
            description = row["description"]
        else:
            description = xml_of(response).findtext("request/description")
        assert description == f"张**反映：3栋301室漏水，请回电{masked}，谢谢"


def test_a_routed_ticket_shows_who_has_it_and_by_when(client, place):
    ticket = report(place, tier="simple", photos=[png()])

    [row] = client.get(f"{BASE}/requests/{ticket.pk}.json").json()

    handler = f"2单元{Level.UNIT.label}"
    assert row["agency_responsible"] == handler
    assert row["status_notes"] == f"{Ticket.State.ASSIGNED.label} · {handler}"
    assert row["expected_datetime"] == w3(ticket.deadline)
    assert row["media_url"].startswith("http://testserver/open311/v2/photos/")
    assert row["media_url"].endswith(".png")


def test_a_ticket_with_departments_names_them(client, place):
    ticket = to_department(place, report(place, tier="hard"))
    assert ticket.level == Level.DEPARTMENT

    [row] = client.get(f"{BASE}/requests/{ticket.pk}.json").json()

    assert row["agency_responsible"] == "住建局、水务局"
    assert row["status"] == "open"
    assert "住建局、水务局" in row["status_notes"]


def test_status_is_closed_once_resolved_or_closed(client, place):
    reported = report(place)
    assigned = report(place, tier="simple")
    in_progress = report(place, tier="simple")
    services.ticket_accept(ticket=in_progress, actor=place.users["unit_head"])
    resolved = resolve(place, report(place, tier="simple"))
    closed = resolve(place, report(place, tier="simple"))
    services.ticket_rate(
        ticket=closed, actor=place.users["grid_head"], rating=Ticket.Rating.SATISFIED
    )
    closed.refresh_from_db()
    assert closed.state == Ticket.State.CLOSED

    def status(ticket):
        [row] = client.get(f"{BASE}/requests/{ticket.pk}.json").json()
        return row["status"]

    assert [status(t) for t in (reported, assigned, in_progress, resolved, closed)] == [
        "open",
        "open",
        "open",
        "closed",
        "closed",
    ]
    opened = {str(t.pk) for t in (reported, assigned, in_progress)}
    done = {str(resolved.pk), str(closed.pk)}
    assert ids(client.get(f"{BASE}/requests.json", {"status": "open"})) == opened
    assert ids(client.get(f"{BASE}/requests.json", {"status": "closed"})) == done
    assert ids(client.get(f"{BASE}/requests.json", {"status": "open,closed"})) == opened | done

    [row] = client.get(f"{BASE}/requests/{closed.pk}.json").json()
    assert row["status_notes"] == " · ".join(
        [
            str(Ticket.State.CLOSED.label),
            f"2单元{Level.UNIT.label}",
            str(Ticket.Rating.SATISFIED.label),
        ]
    )


def test_bad_status_is_a_400(client, place):
    description = only_error(client.get(f"{BASE}/requests.json", {"status": "pending"}), 400)
    assert "status" in description and "pending" in description


def test_filter_by_service_request_ids_overrides_the_window(client, place):
    first, second, third = (report(place) for _ in range(3))
    # No service back-dates a report (rightly); the test moves one into the past by hand.
    Ticket.objects.filter(pk=third.pk).update(created_at=timezone.now() - dt.timedelta(days=200))

    wanted = f"{first.pk},{third.pk}"
    assert ids(client.get(f"{BASE}/requests.json", {"service_request_id": wanted})) == {
        str(first.pk),
        str(third.pk),
    }
    assert ids(client.get(f"{BASE}/requests.json")) == {str(first.pk), str(second.pk)}
    assert ids(client.get(f"{BASE}/requests.json", {"service_request_id": "abc"})) == set()


def test_filter_by_service_codes(client, place):
    light = report(place, code="streetlight")
    noise = report(place, code="noise")

    assert ids(client.get(f"{BASE}/requests.json", {"service_code": "noise"})) == {str(noise.pk)}
    both = client.get(f"{BASE}/requests.json", {"service_code": "noise,streetlight"})
    assert ids(both) == {str(light.pk), str(noise.pk)}
    repeated = client.get(f"{BASE}/requests.json?service_code=noise&service_code=streetlight")
    assert ids(repeated) == {str(light.pk), str(noise.pk)}


def test_filter_by_dates(client, place):
    ticket = report(place)
    now = timezone.localtime()
    hour = dt.timedelta(hours=1)
    found = {str(ticket.pk)}

    def listed(**params):
        return ids(client.get(f"{BASE}/requests.json", params))

    assert listed(start_date=(now - hour).isoformat()) == found
    assert listed(start_date=(now + hour).isoformat()) == set()
    assert listed(end_date=(now - hour).isoformat()) == set()
    assert listed(start_date=(now - hour).isoformat(), end_date=(now + hour).isoformat()) == found
    utc = (now - hour).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed(start_date=utc) == found
    assert listed(start_date=now.date().isoformat(), end_date=now.date().isoformat()) == found
    # "+08:00" sent unencoded arrives as " 08:00".
    unencoded = (now - hour).replace(microsecond=0).isoformat().replace("+", " ")
    assert listed(start_date=unencoded) == found


def test_the_default_window_is_the_last_90_days(client, place):
    recent = report(place)
    old = report(place)
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=100))

    assert ids(client.get(f"{BASE}/requests.json")) == {str(recent.pk)}
    start = (timezone.localtime() - dt.timedelta(days=120)).isoformat()
    assert ids(client.get(f"{BASE}/requests.json", {"start_date": start})) == {str(old.pk)}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-45T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90"),
        ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
    ],
)
def test_bad_dates_are_a_400(client, place, params, named):
    assert named in only_error(client.get(f"{BASE}/requests.json", params), 400)


def test_the_list_is_capped_most_recent_first(client, place, monkeypatch):
    tickets = [report(place) for _ in range(4)]
    monkeypatch.setattr(open311, "MAX_REQUESTS", 3)

    rows = client.get(f"{BASE}/requests.json").json()

    assert [r["service_request_id"] for r in rows] == [str(t.pk) for t in tickets[:0:-1]]


def test_requests_in_xml_use_the_spec_element_names(client, place):
    ticket = report(place, tier="simple")

    for url in (f"{BASE}/requests.xml", f"{BASE}/requests/{ticket.pk}.xml"):
        root = xml_of(client.get(url))
        assert root.tag == "service_requests"
        [request] = root
        assert request.tag == "request"
        assert {e.tag for e in request} == REQUEST_KEYS
        assert request.findtext("service_request_id") == str(ticket.pk)
        assert request.findtext("status") == "open"
        assert request.findtext("zipcode") == ""  # null is an empty element


def test_one_request_is_a_one_element_list(client, place):
    ticket = report(place)

    response = client.get(f"{BASE}/requests/{ticket.pk}.json")

    assert response.status_code == 200
    [row] = response.json()
    assert set(row) == REQUEST_KEYS
    assert row["service_request_id"] == str(ticket.pk)


@pytest.mark.parametrize("pk", ["999999", "abc", "-1"])
def test_unknown_request_is_a_404_list(client, place, pk):
    assert pk in only_error(client.get(f"{BASE}/requests/{pk}.json"), 404)


# --- POST requests ----------------------------------------------------------------------------


def test_post_files_a_ticket_through_the_service(place, api_key):
    key, raw = api_key
    client = Client(enforce_csrf_checks=True)  # an API client has no session and no token

    response = post_form(client, good_form(place, raw))

    assert response.status_code == 201, response.content
    [created] = response.json()
    assert set(created) == CREATED_KEYS
    assert created["account_id"] is None
    assert created["service_notice"]
    ticket = Ticket.objects.get(pk=int(created["service_request_id"]))
    assert ticket.channel == key.channel == Ticket.Channel.MINI_PROGRAM
    assert ticket.area == place.unit
    assert ticket.category == place.categories["streetlight"]
    assert ticket.reporter_phone == "13812345678"
    assert ticket.reporter_name == "张三丰"
    assert ticket.reporter is None
    assert ticket.reported_by is None
    assert ticket.state == Ticket.State.REPORTED
    assert ticket.description == "3栋门口路灯不亮"
    assert list(ticket.events.values_list("kind", flat=True)) == ["report"]


def test_post_accepts_a_json_body(client, place):
    key, raw = services.api_key_create(name="12345热线", channel=Ticket.Channel.HOTLINE)
    body = {
        "api_key": raw,
        "service_code": "noise",
        "address_id": place.building.code,
        "description": "楼上半夜装修",
        "first_name": "Li",
        "last_name": "Lei",
        "phone": "0797-8123456",
        "lat": None,
    }

    response = client.post(f"{BASE}/requests.json", json.dumps(body), "application/json")

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=int(response.json()[0]["service_request_id"]))
    assert (ticket.channel, ticket.area, ticket.category.code) == (
        "hotline",
        place.building,
        "noise",
    )
    assert (ticket.reporter_phone, ticket.reporter_name) == ("0797-8123456", "Li Lei")


def test_post_in_xml(client, place, api_key):
    response = post_form(client, good_form(place, api_key[1]), fmt="xml")

    assert response.status_code == 201
    root = xml_of(response)
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request"
    assert [e.tag for e in request] == ["service_request_id", "service_notice", "account_id"]
    assert Ticket.objects.filter(pk=int(request.findtext("service_request_id"))).exists()


@pytest.mark.parametrize("missing", ["service_code", "address_id", "description", "phone"])
def test_post_without_a_required_field_names_it(client, place, api_key, missing):
    response = post_form(client, good_form(place, api_key[1], **{missing: None}))

    assert missing in only_error(response, 400)
    assert not Ticket.objects.exists()


def test_post_lists_every_missing_field_at_once(client, place, api_key):
    response = post_form(client, {"api_key": api_key[1]})

    assert response.status_code == 400
    errors = response.json()
    assert all(set(e) == ERROR_KEYS and e["code"] == 400 for e in errors)
    text = " ".join(e["description"] for e in errors)
    for name in ("service_code", "address_id", "description", "phone"):
        assert name in text


def test_post_with_lat_long_only_asks_for_address_id(client, place, api_key):
    form = good_form(place, api_key[1], address_id=None, lat="27.95", long="116.36")

    description = only_error(post_form(client, form), 400)

    assert "address_id" in description and "lat/long" in description
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"service_code": "no-such-thing"}, "service_code"),
        ({"service_code": "retired"}, "service_code"),
        ({"address_id": "000000"}, "address_id"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "1381234567x"}, "phone"),
        ({"description": "   "}, "description"),
        ({"description": "长" * 4001}, "description"),
        ({"first_name": "名" * 40, "last_name": "姓" * 20}, "first_name"),
    ],
)
def test_post_with_bad_values_is_a_400(client, place, api_key, changes, named):
    response = post_form(client, good_form(place, api_key[1], **changes))

    assert named in only_error(response, 400)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("raw", [None, "", "not-a-key"])
def test_post_with_a_wrong_or_missing_api_key_is_a_403(client, place, api_key, raw):
    # Even with required fields missing: the key is checked first.
    response = post_form(client, good_form(place, raw, description=None))

    assert "api_key" in only_error(response, 403)
    assert not Ticket.objects.exists()


def test_post_with_an_inactive_key_is_a_403(client, place, api_key):
    key, raw = api_key
    ApiKey.objects.filter(pk=key.pk).update(active=False)  # as the admin's checkbox does

    only_error(post_form(client, good_form(place, raw)), 403)

    assert not Ticket.objects.exists()


def test_post_forbidden_in_xml(client, place):
    response = post_form(client, {"api_key": "wrong"}, fmt="xml")

    assert response.status_code == 403
    root = xml_of(response)
    assert root.tag == "errors"
    assert root[0].findtext("code") == "403"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"   ", b"[1, 2]", b'"text"', b'{"phone": ["1"]}', b"\xff\xfe{"],
)
def test_post_with_a_malformed_json_body_is_a_400(client, place, api_key, body):
    response = client.post(f"{BASE}/requests.json", body, "application/json")

    only_error(response, 400)
    assert not Ticket.objects.exists()


def test_a_nul_character_is_a_400_not_a_500(client, place, api_key):
    # PostgreSQL refuses NUL in text; without the check these would fail inside a query.
    only_error(client.get(f"{BASE}/requests.json", {"service_code": "a\x00b"}), 400)
    only_error(post_form(client, good_form(place, api_key[1], service_code="x\x00")), 400)
    only_error(post_form(client, good_form(place, api_key[1], description="d\x00")), 400)
    body = json.dumps({"api_key": api_key[1], "phone\x00": "1"})
    only_error(client.post(f"{BASE}/requests.json", body, "application/json"), 400)
    assert not Ticket.objects.exists()


# --- methods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("services.json", "GET"),
        ("services/streetlight.json", "GET"),
        ("requests.json", "GET, POST"),
        ("requests/1.xml", "GET"),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_a_405(place, path, allowed, method):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(f"{BASE}/{path}")

    assert response.status_code == 405
    assert response["Allow"] == allowed
    if path.endswith(".json"):
        assert response.json()[0]["code"] == 405
    else:
        assert xml_of(response)[0].findtext("code") == "405"


@pytest.mark.parametrize("path", ["services.json", "services/streetlight.json", "requests/1.json"])
def test_post_to_a_read_only_endpoint_is_a_405(place, path):
    only_error(Client(enforce_csrf_checks=True).post(f"{BASE}/{path}"), 405)


# --- query counts -----------------------------------------------------------------------------


def _add_tickets(place: Place, count: int) -> None:
    """A mix: reported with a photo, routed to the unit head, resolved, and one with
    departments, over places at different depths."""
    areas = [place.unit, place.building, place.grid, place.community]
    for i in range(count):
        area = areas[i % len(areas)]
        kind = i % 4
        if kind == 0:
            report(place, area=area, photos=[png(f"p{i}.png")])
        elif kind == 1:
            report(place, tier="simple", photos=[png(f"p{i}.png")])
        elif kind == 2:
            resolve(place, report(place, tier="simple"))
        else:
            to_department(place, report(place, area=area, tier="hard"))


def test_the_list_takes_the_same_queries_for_5_and_50_tickets(client, place):
    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{BASE}/requests.json")
        assert response.status_code == 200
        return len(queries), len(response.json())

    _add_tickets(place, 5)
    small, small_rows = measure()
    _add_tickets(place, 45)
    large, large_rows = measure()

    assert (small_rows, large_rows) == (5, 50)
    assert small == large
    assert small <= 4  # tickets, photos, department tasks, the places' ancestors


def _more_units(place: Place, buildings: int, units: int) -> list[Area]:
    """``buildings`` more buildings on the grid with ``units`` units each."""
    made = []
    for b in range(buildings):
        code = f"{place.grid.code}{100 + b}"
        building = grid_services.area_create(
            code=code, name=f"{100 + b}栋", kind=K.BUILDING, parent=place.grid
        )
        for u in range(units):
            made.append(
                grid_services.area_create(
                    code=f"{code}{u:02d}", name=f"{u + 1}单元", kind=K.UNIT, parent=building
                )
            )
    return made


def test_the_list_takes_the_same_queries_however_large_the_tree(client, place):
    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{BASE}/requests.json")
        assert response.status_code == 200
        return len(queries), response.json()

    _add_tickets(place, 8)
    before, rows = measure()

    units = _more_units(place, buildings=20, units=10)  # 220 more nodes in the district
    assert Area.objects.filter(tree_id=place.unit.tree_id).count() >= 220
    after, same_rows = measure()
    assert after == before
    assert same_rows == rows

    # Tickets on 20 more places: still the same queries, each with its own address.
    for unit in units[::10]:
        report(place, area=unit)
    spread, spread_rows = measure()
    assert spread == before
    assert len(spread_rows) == len(rows) + 20
    addresses = {row["address_id"]: row["address"] for row in spread_rows}
    assert addresses[units[0].code] == "1单元，100栋，第1网格，柳岸社区，河口街道，青山县，青山市"
    assert addresses[units[-10].code] == "1单元，119栋，第1网格，柳岸社区，河口街道，青山县，青山市"


def test_addresses_are_right_across_trees_and_query_chunks(client, place, monkeypatch):
    g = grid_services
    # A second district of the same city, and a district with no city above it.
    other = g.area_create(code="510122", name="青山区", kind=K.DISTRICT, parent=place.city)
    alone = g.area_create(code="520100", name="独立县", kind=K.DISTRICT)
    for district, prefix in ((other, "东"), (alone, "西")):
        street = g.area_create(
            code=f"{district.code}001", name=f"{prefix}街道", kind=K.STREET, parent=district
        )
        g.area_create(
            code=f"{district.code}001001",
            name=f"{prefix}社区",
            kind=K.COMMUNITY,
            parent=street,
        )
    east, west = Area.objects.get(code="510122001001"), Area.objects.get(code="520100001001")
    expected = {
        place.unit: "2单元，3栋，第1网格，柳岸社区，河口街道，青山县，青山市",
        place.building: "3栋，第1网格，柳岸社区，河口街道，青山县，青山市",
        place.grid: "第1网格，柳岸社区，河口街道，青山县，青山市",
        place.county: "青山县，青山市",
        place.city: "青山市",
        east: "东社区，东街道，青山区，青山市",
        west: "西社区，西街道，独立县",
        alone: "独立县",
    }
    for area in expected:
        report(place, area=area)

    for per_query in (1, 2, grid_selectors.LINEAGE_BATCH):
        monkeypatch.setattr(grid_selectors, "LINEAGE_BATCH", per_query)
        rows = client.get(f"{BASE}/requests.json").json()
        got = {row["address_id"]: row["address"] for row in rows}
        assert got == {area.code: address for area, address in expected.items()}


# --- control characters (issue 9, point 9) ----------------------------------------------------


def test_point9_a_control_character_in_a_post_is_refused_naming_the_field(client, place, api_key):
    response = post_form(client, good_form(place, api_key[1], description="路灯\x14不亮"))

    description = only_error(response, 400)
    assert description.startswith("description") and "控制字符" in description
    assert "U+0014" in description
    assert b"\x14" not in response.content  # not echoed
    assert not Ticket.objects.exists()

    response = post_form(client, good_form(place, api_key[1], last_name="张\x85"), fmt="xml")
    assert response.status_code == 400
    assert "last_name" in xml_of(response)[0].findtext("description")  # parses, names it
    body = json.dumps({**good_form(place, api_key[1]), "address_string": "3栋\x1b[31m"})
    response = client.post(f"{BASE}/requests.json", body, "application/json")
    assert "address_string" in only_error(response, 400)
    assert not Ticket.objects.exists()


def test_point9_a_multi_line_description_is_still_accepted(client, place, api_key):
    response = post_form(client, good_form(place, api_key[1], description="路灯不亮\r\n\t三天了"))
    assert response.status_code == 201, response.content


def test_point9_requests_xml_stays_well_formed_with_an_old_row_holding_control_characters(
    client, place
):
    report(place, description="路灯\x14不亮\x1b\ufffe，晚上\n看不见")  # from before the check

    response = client.get(f"{BASE}/requests.xml")

    assert response.status_code == 200
    [row] = xml_of(response)  # ET.fromstring: well-formed
    assert row.findtext("description") == "路灯不亮，晚上\n看不见"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_point9_error_responses_do_not_echo_control_characters(client, place, fmt):
    response = client.get(f"{BASE}/requests.{fmt}", {"status": "open\x14\x07"})

    assert response.status_code == 400
    assert b"\x14" not in response.content and b"\x07" not in response.content
    if fmt == "xml":
        assert "status" in xml_of(response)[0].findtext("description")
    response = client.get(f"{BASE}/services/a\x14b.{fmt}")
    assert response.status_code in (400, 404) and b"\x14" not in response.content


# --- declined and merged (issue 11 point 7) ---------------------------------------------------


def test_declined_and_merged_requests_are_closed_with_their_reason(client, place):
    declined = report(place)
    services.ticket_decline(
        ticket=declined,
        actor=place.users["grid_head"],
        reason=Ticket.DeclineReason.OUTSIDE_AREA,
        note="请联系张三丰的物业 13812345678",
    )
    kept = report(place, tier="simple")
    merged = report(place, description="路灯又不亮了")
    services.ticket_merge(ticket=merged, into=kept, actor=place.users["grid_head"])

    def row(ticket):
        [found] = client.get(f"{BASE}/requests/{ticket.pk}.json").json()
        return found

    gone, joined = row(declined), row(merged)
    assert (gone["status"], joined["status"]) == ("closed", "closed")
    assert gone["status_notes"] == " · ".join(
        [str(Ticket.State.DECLINED.label), str(Ticket.DeclineReason.OUTSIDE_AREA.label)]
    )
    assert joined["status_notes"].endswith(f"#{kept.pk}")
    assert str(Ticket.State.DECLINED.label) in joined["status_notes"]
    assert f"#{kept.pk}" in joined["service_notice"]
    # The note for the reporter is not published: it may name people.
    body = client.get(f"{BASE}/requests.json").content.decode()
    assert "物业" not in body and "13812345678" not in body and "张三丰" not in body
    assert row(kept)["status"] == "open"
    closed = ids(client.get(f"{BASE}/requests.json", {"status": "closed"}))
    assert closed == {str(declined.pk), str(merged.pk)}
    assert ids(client.get(f"{BASE}/requests.json", {"status": "open"})) == {str(kept.pk)}
    xml = xml_of(client.get(f"{BASE}/requests/{merged.pk}.xml"))
    assert xml.find("request/status").text == "closed"


def test_a_report_merged_into_one_merged_later_names_the_last(client, place):
    """B into A, then A into C: B's notes name C, the problem its reporters follow."""
    c = report(place, tier="simple")
    a = report(place, description="路灯又不亮了")
    b = report(place, description="路灯还是不亮")
    services.ticket_merge(ticket=b, into=a, actor=place.users["grid_head"])
    services.ticket_merge(ticket=a, into=c, actor=place.users["grid_head"])
    [row] = client.get(f"{BASE}/requests/{b.pk}.json").json()
    assert row["status_notes"].endswith(f"#{c.pk}")
    assert f"#{c.pk}" in row["service_notice"] and f"#{a.pk}" not in row["service_notice"]


def test_a_post_with_a_phone_number_sends_the_tracking_link(place, api_key):
    from core.models import TextMessage

    _key, raw = api_key
    response = post_form(Client(), good_form(place, raw))
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=int(response.json()[0]["service_request_id"]))
    reporter = ticket.reporters.get()
    assert reporter.phone == "13812345678"
    (sent,) = TextMessage.objects.filter(purpose=TextMessage.Purpose.TRACKING)
    assert sent.number == "+8613812345678"
    assert services.tracking_url(reporter) in sent.text and f"#{ticket.pk}" in sent.text
