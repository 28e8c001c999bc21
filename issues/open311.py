"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2): the intake API that the
mini-program, the hotline's system and other channels use to file residents' problems.

Reads are public, as the spec has them, so nothing here says who reported a problem: no
reporter name or phone, no event notes or feedback (workers write those freely), and phone
numbers, ID numbers (``core.privacy.scrub_personal_numbers``) and the reporter's own
name are masked inside the description.

Statuses: the spec knows only ``open`` and ``closed``. Open is a problem still being
worked (``rules.OPEN_STATES``); closed is every other (``rules.ENDED_STATES``): resolved
and awaiting the reporter's rating, closed, and declined at triage (受理/核实) -- not taken
on, or merged into another problem that repeats it. ``status_notes`` says which, from the
problem's own fields: the state, who has it, the rating; for a declined one the reason
("不属于我们的问题"…) and for a merged one "merged into #N" (the note the triager wrote for the
reporter is never shown: it may name people). A merged request's ``service_request_id``
keeps answering, with its own row; the reporters follow the problem it joined.

Filing: a POST files the problem through ``services.ticket_report`` as the system; its
reporter, reached by the phone number given, is sent a personal tracking link by SMS
(``services.tracking_sms``: the problem, its result and the rating form, no sign-in), and
is told the result by SMS again when it is resolved, declined or merged.

Every endpoint answers in JSON or XML, chosen by the suffix (``requests.json``,
``requests.xml``), with the spec's element names. Errors are the spec's list of
``{"code", "description"}``; bad input is a 400, never a 500. A POST with a control
character in any field is refused (it would make the XML feed unreadable); the XML writer
drops any such character an older row still holds, and error messages show a quoted control
character as its code point.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from core.images import KINDS, image_response
from core.privacy import scrub_personal_numbers
from core.ratelimit import RateLimited, rate_limit_take
from core.requests import client_ip
from core.text import code_point, control_character, visible, xml_text
from grids.models import Area
from grids.selectors import area_chains
from grids.validators import normalize_phone, validate_phone
from issues import services
from issues.models import Category, DepartmentTask, Level, Ticket, TicketPhoto, Tier
from issues.rules import ENDED_STATES, IN_HAND_STATES, SOLVED_STATES, SYSTEM

S = Ticket.State

# Open311 calls a request "closed" once it is no longer being worked: solved (resolved or
# closed here) or declined (not taken on, or merged into another).
CLOSED_STATES = ENDED_STATES
# The spec's response volume: a span of 90 days or the first 1000 requests, whichever is less.
WINDOW = dt.timedelta(days=90)
MAX_REQUESTS = 1000
DESCRIPTION_MAX = 4000  # the spec's limit on description
NAME_MAX = Ticket._meta.get_field("reporter_name").max_length
# The API is public: reads are counted per client address a minute; filings per address a
# minute (before the key is checked, so guessing keys is as slow) and per key an hour
# (settings.OPEN311_*); photos per address a minute (core.ratelimit). Over a limit: 429 with
# Retry-After, in the spec's error list.
MINUTE = 60
HOUR = 60 * 60
PHOTOS_PER_ADDRESS_MINUTE = 300

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
# Spark convention: a JSON list is an XML element holding one child per item.
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}

# "+08:00" in an unencoded query string arrives as " 08:00".
SPACE_FOR_PLUS = re.compile(r"(T\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}:?\d{2})$")


class Open311Error(Exception):
    """Answered as the spec's error list with ``status``."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions


# --- rendering --------------------------------------------------------------------------------


def _xml_fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _xml_fill(ET.SubElement(element, name), child)
    elif isinstance(value, list):
        for child in value:
            _xml_fill(ET.SubElement(element, XML_ITEMS[element.tag]), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = xml_text(str(value))  # an old row may hold what XML cannot carry


def _render(data, fmt: str, root: str, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        element = ET.Element(root)
        _xml_fill(element, data)
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, "unicode")
        return HttpResponse(body, content_type=XML_TYPE, status=status)
    body = json.dumps(data, ensure_ascii=False)
    return HttpResponse(body, content_type=JSON_TYPE, status=status)


def _errors(fmt: str, status: int, descriptions: Iterable[str]) -> HttpResponse:
    # A message may quote what the client sent: never echo its control characters.
    rows = [{"code": status, "description": visible(str(d))} for d in descriptions]
    return _render(rows, fmt, "errors", status)


def open311_view(*methods: str):
    """Answer in the portal's language, refuse other methods with 405, and turn
    ``Open311Error`` into the spec's error list. CSRF-exempt: API clients hold a key, not a
    session, so there is no cookie to forge (and a PUT gets the spec's 405, not a CSRF page)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            with translation.override(settings.LANGUAGE_CODE):
                if request.method not in methods:
                    response = _errors(
                        fmt,
                        405,
                        [
                            _("method %(method)s is not allowed here; use %(allowed)s")
                            % {"method": request.method, "allowed": " or ".join(methods)}
                        ],
                    )
                    response["Allow"] = ", ".join(methods)
                    return response
                try:
                    _refuse_nul(value for _n, values in request.GET.lists() for value in values)
                    _count_per_address(request)
                    return view(request, *args, fmt=fmt, **kwargs)
                except Open311Error as exc:
                    return _errors(fmt, exc.status, exc.descriptions)
                except RateLimited as exc:
                    response = _errors(
                        fmt,
                        429,
                        [
                            _("too many requests; try again in %(seconds)s seconds")
                            % {"seconds": exc.retry_after}
                        ],
                    )
                    response["Retry-After"] = str(exc.retry_after)
                    return response

        return csrf_exempt(wrapper)

    return decorate


def _count_per_address(request: HttpRequest) -> None:
    ip = client_ip(request)
    if not ip:
        return
    if request.method == "POST":
        action, limit = "open311-create", settings.OPEN311_CREATES_PER_MINUTE
    else:
        action, limit = "open311-read", settings.OPEN311_READS_PER_MINUTE
    rate_limit_take(action=action, limits={f"ip:{ip}": limit}, window=MINUTE)


def _refuse_nul(values: Iterable[str]) -> None:
    # PostgreSQL refuses NUL in text: a query with one would fail as a 500.
    if any("\x00" in value for value in values):
        raise Open311Error(400, _("the request contains a NUL character"))


def _w3(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


# --- services ---------------------------------------------------------------------------------


def _service_row(category: Category) -> dict:
    parent = category.parent
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(filter(None, [category.name, parent.name if parent else ""])),
        "group": parent.name if parent else None,
    }


@open311_view("GET")
def service_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    categories = (
        Category.objects.filter(active=True).select_related("parent").order_by("tree_id", "lft")
    )
    return _render([_service_row(c) for c in categories], fmt, "services")


@open311_view("GET")
def service_definition(request: HttpRequest, *, code: str, fmt: str) -> HttpResponse:
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise Open311Error(404, _("service_code “%(code)s” was not found") % {"code": code})
    return _render({"service_code": category.code, "attributes": []}, fmt, "service_definition")


# --- service requests: reading ----------------------------------------------------------------


def public_tickets() -> QuerySet[Ticket]:
    """The tickets the public may read about, rows and photos alike: every ticket (the
    rows leave out who reported it)."""
    return Ticket.objects.all()


def public_requests() -> QuerySet[Ticket]:
    """The public tickets, with what their rows need fetched in a fixed number of queries."""
    return (
        public_tickets()
        .select_related("category", "area", "handler_area")
        .prefetch_related(
            Prefetch("photos", queryset=TicketPhoto.objects.order_by("uploaded_at", "pk")),
            Prefetch(
                "tasks", queryset=DepartmentTask.objects.select_related("department").order_by("pk")
            ),
        )
    )


def _address_paths(areas: Iterable[Area]) -> dict[int, str]:
    """Area id → its names from the most specific to the most general (as the spec orders an
    address), up to the city above the district: one query for the areas of a page
    (``grids.selectors.area_chains``)."""
    chains = area_chains(areas, with_city=True)
    return {pk: "，".join(node.name for node in reversed(chain)) for pk, chain in chains.items()}


def _handled_by(ticket: Ticket) -> str | None:
    """Who has the ticket: the departments it was handed to, or the node and its rung."""
    if ticket.level == Level.DEPARTMENT:
        names = list(dict.fromkeys(t.department.name for t in ticket.tasks.all()))
        return "、".join(names) or str(Level(ticket.level).label)
    if ticket.handler_area is not None and ticket.level:
        return f"{ticket.handler_area.name}{Level(ticket.level).label}"
    return None


def _status_notes(ticket: Ticket) -> str:
    """The state and where the ticket stands, from its own fields only (no event notes:
    workers write those freely, and reading them would cost a query per row)."""
    parts = [str(S(ticket.state).label)]
    if ticket.state == S.DECLINED:
        if ticket.merged_into_id:
            parts.append(_("merged into #%(id)s") % {"id": ticket.merged_into_id})
        elif ticket.decline_reason:
            parts.append(str(Ticket.DeclineReason(ticket.decline_reason).label))
        return " · ".join(parts)
    if ticket.state in IN_HAND_STATES or ticket.state in SOLVED_STATES:
        parts.append(_handled_by(ticket) or "")
    if ticket.on_rectification_list:
        parts.append(str(Ticket._meta.get_field("on_rectification_list").verbose_name))
    if ticket.state == S.CLOSED and ticket.rating:
        parts.append(str(Ticket.Rating(ticket.rating).label))
    return " · ".join(p for p in parts if p)


def _tier_notices() -> dict[str, str]:
    return {
        Tier.SIMPLE: _("a simple problem: the unit or building head sees to it directly"),
        Tier.COMPLEX: _(
            "a complex problem: the grid head and the community Party organisation solve it "
            "together"
        ),
        Tier.HARD: _(
            "a hard problem: reported upward and handed to the functional departments at an "
            "assignment meeting"
        ),
    }


def _service_notice(ticket: Ticket) -> str:
    if ticket.merged_into_id:
        return _("the same problem as #%(id)s: it is handled there") % {"id": ticket.merged_into_id}
    if ticket.state == S.DECLINED:
        return _("not taken on at triage; the reporter was told why")
    if ticket.tier:
        return _tier_notices()[ticket.tier]
    return _("received: it will be triaged and handed to whoever handles it")


def _without_name(text: str, name: str) -> str:
    """``text`` with the reporter's own name masked but for its first character."""
    name = name.strip()
    if len(name) >= 2:
        text = text.replace(name, name[0] + "*" * (len(name) - 1))
    return text


def _photo_path(photo: TicketPhoto) -> str:
    return reverse(
        "open311:photo", kwargs={"token": photo.token, "ext": KINDS[photo.kind].extension}
    )


def _request_rows(request: HttpRequest, tickets: Iterable[Ticket]) -> list[dict]:
    tickets = list(tickets)
    paths = _address_paths(t.area for t in tickets)
    rows = []
    for ticket in tickets:
        photo = next((p for p in ticket.photos.all() if p.kind in KINDS), None)
        rows.append(
            {
                "service_request_id": str(ticket.pk),
                "status": "closed" if ticket.state in CLOSED_STATES else "open",
                "status_notes": _status_notes(ticket),
                "service_name": ticket.category.name,
                "service_code": ticket.category.code,
                "description": _without_name(
                    scrub_personal_numbers(ticket.description), ticket.reporter_name
                ),
                "agency_responsible": _handled_by(ticket),
                "service_notice": _service_notice(ticket),
                "requested_datetime": _w3(ticket.created_at),
                "updated_datetime": _w3(ticket.updated_at),
                "expected_datetime": _w3(ticket.deadline),
                "address": paths[ticket.area_id],
                "address_id": ticket.area.code,
                "zipcode": None,
                "lat": None,
                "long": None,
                "media_url": request.build_absolute_uri(_photo_path(photo)) if photo else None,
            }
        )
    return rows


def _listed(request: HttpRequest, name: str) -> list[str]:
    """A parameter that may be given several times and comma-delimited; empty = absent."""
    values = []
    for raw in request.GET.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


def _moment(request: HttpRequest, name: str, *, end: bool) -> dt.datetime | None:
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    value = SPACE_FOR_PLUS.sub(r"\1+\2", value)
    try:
        # A bare date first: parse_datetime would read it as midnight, which ends the day
        # an end_date names before it starts.
        day = parse_date(value)
        if day is not None:
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(
            400,
            _("%(name)s “%(value)s” is not a W3C date/time such as 2010-01-01T00:00:00Z")
            % {"name": name, "value": value},
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _filtered(request: HttpRequest) -> QuerySet[Ticket]:
    tickets = public_requests().order_by("-created_at", "-pk")
    ids = _listed(request, "service_request_id")
    if ids:  # the spec: this overrides all other arguments
        return tickets.filter(pk__in=[i for i in ids if i.isdigit()][:MAX_REQUESTS])

    codes = _listed(request, "service_code")
    if codes:
        tickets = tickets.filter(category__code__in=codes)

    statuses = set(_listed(request, "status"))
    unknown = statuses - {"open", "closed"}
    if unknown:
        raise Open311Error(
            400,
            _("status “%(value)s” is not one of: open, closed")
            % {"value": ",".join(sorted(unknown))},
        )
    if statuses == {"open"}:
        tickets = tickets.exclude(state__in=CLOSED_STATES)
    elif statuses == {"closed"}:
        tickets = tickets.filter(state__in=CLOSED_STATES)

    start = _moment(request, "start_date", end=False)
    end = _moment(request, "end_date", end=True)
    if start and end:
        if end < start:
            raise Open311Error(400, _("end_date is before start_date"))
        if end - start > WINDOW:
            raise Open311Error(400, _("start_date and end_date may not span more than 90 days"))
    elif start:
        end = start + WINDOW
    elif end:
        start = end - WINDOW
    else:
        start = timezone.now() - WINDOW
    tickets = tickets.filter(created_at__gte=start)
    if end:
        tickets = tickets.filter(created_at__lte=end)
    return tickets


@open311_view("GET")
def request_detail(request: HttpRequest, *, pk: str, fmt: str) -> HttpResponse:
    ticket = public_requests().filter(pk=pk).first() if pk.isdigit() else None
    if ticket is None:
        raise Open311Error(404, _("service_request_id “%(id)s” was not found") % {"id": pk})
    return _render(_request_rows(request, [ticket]), fmt, "service_requests")


@require_GET
def request_photo(request: HttpRequest, *, token: str, ext: str) -> HttpResponse:
    """A public ticket's photo, as ``media_url`` announces it: found by its unguessable token
    (never by an id one could count through), only while its ticket is public."""
    ip = client_ip(request)
    if ip:
        try:
            limits = {f"ip:{ip}": PHOTOS_PER_ADDRESS_MINUTE}
            rate_limit_take(action="open311-photo", limits=limits, window=MINUTE)
        except RateLimited as exc:
            return HttpResponse(
                status=429, headers={"Retry-After": str(exc.retry_after)}, content_type="text/plain"
            )
    photo = (
        TicketPhoto.objects.filter(token=token, ticket__in=public_tickets()).first()
        if token
        else None
    )
    if photo is None or photo.kind not in KINDS or KINDS[photo.kind].extension != ext:
        raise Http404
    return image_response(
        photo.image, kind=photo.kind, download_name=f"photo-{photo.token[:8]}", public=True
    )


# --- service requests: filing -----------------------------------------------------------------


def _payload(request: HttpRequest) -> dict[str, str]:
    """The POSTed arguments: form-encoded as the spec has it, or a JSON object."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Open311Error(400, _("the request body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise Open311Error(400, _("the JSON body must be an object of named arguments"))
        fields = {}
        for name, value in data.items():
            if isinstance(value, dict | list):
                raise Open311Error(400, _("%(name)s must be text") % {"name": name})
            fields[name] = "" if value is None else str(value)
    else:
        try:
            fields = {name: request.POST.get(name, "") for name in request.POST}
        except Exception:  # a broken multipart body: Django raises its parser's own errors
            raise Open311Error(400, _("the request body could not be read")) from None
    _refuse_nul([*fields, *fields.values()])
    return fields


MULTI_LINE_FIELDS = frozenset({"description"})


def _refuse_control_characters(data: dict[str, str]) -> None:
    """One error per field holding a control character (``core.text``): stored, it would
    break the XML feed for every consumer. The description may hold tabs and line breaks."""
    errors = []
    for name, value in data.items():
        found = control_character(name) or control_character(
            value, multiline=name in MULTI_LINE_FIELDS
        )
        if found is not None:
            errors.append(
                _("%(name)s: contains a control character (%(character)s); remove it")
                % {"name": visible(name), "character": code_point(found)}
            )
    if errors:
        raise Open311Error(400, *errors)


def _reporter_name(first: str, last: str) -> str:
    first, last = first.strip(), last.strip()
    if (first + last).isascii():
        return f"{first} {last}".strip()
    return f"{last}{first}"  # Chinese order: family name first, no space


def _field_errors(exc: ValidationError) -> list[str]:
    wire_names = {"reporter_phone": "phone", "area": "address_id", "category": "service_code"}
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    return [
        f"{wire_names.get(field, field)}: {message}"
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def _category_from(data, errors: list) -> Category | None:
    code = data.get("service_code", "").strip()
    if not code:
        errors.append(_("service_code is required (see services.json)"))
        return None
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        errors.append(_("service_code “%(code)s” was not found") % {"code": code})
    return category


def _area_from(data, errors: list) -> Area | None:
    address_id = data.get("address_id", "").strip()
    if address_id:
        area = Area.objects.filter(code=address_id).first()
        if area is None:
            errors.append(
                _("address_id “%(code)s” is not the code of any place") % {"code": address_id}
            )
        return area
    if any(data.get(name, "").strip() for name in ("lat", "long", "address_string")):
        errors.append(
            _(
                "address_id is required: this server cannot place lat/long or address_string; "
                "send the code of the unit, building or grid as address_id"
            )
        )
    else:
        errors.append(
            _("address_id is required: the code of the unit, building or grid of the problem")
        )
    return None


def _description_from(data, errors: list) -> str:
    description = data.get("description", "").strip()
    if not description:
        errors.append(_("description is required: describe the problem"))
    elif len(description) > DESCRIPTION_MAX:
        errors.append(_("description is longer than %(max)s characters") % {"max": DESCRIPTION_MAX})
    return description


def _reporter_from(data, errors: list) -> tuple[str, str]:
    """The reporter's (name, phone number)."""
    phone = normalize_phone(data.get("phone", ""))
    if not phone:
        errors.append(_("phone is required: someone will call the reporter back on it"))
    else:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            errors += [f"phone: {message}" for message in exc.messages]
    name = _reporter_name(data.get("first_name", ""), data.get("last_name", ""))
    if len(name) > NAME_MAX:
        errors.append(
            _("first_name and last_name together are longer than %(max)s characters")
            % {"max": NAME_MAX}
        )
    return name, phone


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    data = _payload(request)
    key = services.api_key_check(data.get("api_key") or request.GET.get("api_key", ""))
    if key is None:
        raise Open311Error(
            403, _("missing or invalid api_key -- can't proceed with create_request")
        )
    rate_limit_take(
        action="open311-create-key",
        limits={f"key:{key.pk}": settings.OPEN311_CREATES_PER_KEY_HOUR},
        window=HOUR,
    )
    _refuse_control_characters(data)

    errors: list[str] = []
    category = _category_from(data, errors)
    area = _area_from(data, errors)
    description = _description_from(data, errors)
    name, phone = _reporter_from(data, errors)
    if errors:
        raise Open311Error(400, *errors)

    # email and media_url have no home on a ticket; device_id and account_id neither.
    try:
        ticket = services.ticket_report(
            area=area,
            category=category,
            channel=key.channel,
            description=description,
            actor=SYSTEM,
            reporter_name=name,
            reporter_phone=phone,
        )
    except ValidationError as exc:
        raise Open311Error(400, *_field_errors(exc)) from None
    notice = _(
        "received: it will be triaged and handed to whoever handles it; we will call you back "
        "on the phone number you gave"
    )
    rows = [{"service_request_id": str(ticket.pk), "service_notice": notice, "account_id": None}]
    return _render(rows, fmt, "service_requests", status=201)


@open311_view("GET", "POST")
def request_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    tickets = _filtered(request)[:MAX_REQUESTS]
    return _render(_request_rows(request, tickets), fmt, "service_requests")
