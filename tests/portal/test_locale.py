"""Pages follow the language of the request: labels made at import are lazy, so the English
pages (under /en/) are English whichever language loaded the module; dates go through the
locale's formats (2024年3月5日 / March 5, 2024), never a format written into a template."""

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import formats, translation

from issues import services
from issues.models import Category, Ticket

ROOT = Path(__file__).resolve().parents[2]
APPS = ("grids", "issues", "residents", "digests", "portal")
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
HAN = re.compile(r"[\u4e00-\u9fff]")
CHINESE_TABS = ("我的待办", "辖区问题", "超期", "整改清单", "待评议")
CHINESE_BUTTONS = ("受理", "填写处置进展", "办结并反馈反映人")


def _url(language: str, name: str, *args) -> str:
    # A request under /en/ leaves English active in the test's thread: say which one.
    with translation.override(language):
        return reverse(name, args=args)


def _english(name: str, *args) -> str:
    return _url("en", name, *args)


def _report(world):
    category = Category.objects.create(code="lighting", name="楼道照明")
    return services.ticket_report(
        area=world.u1,
        category=category,
        channel=Ticket.Channel.VISIT,
        description="楼道灯不亮",
        reporter=world.residents["U1"],
        reporter_phone="13700000001",
        tier="simple",
    )


@pytest.mark.django_db
def test_defect_english_inbox_shows_english_tabs_and_buttons(world, login_as):
    ticket = _report(world)
    client = login_as("unit_head")
    chinese = client.get(_url("zh-hans", "issues:inbox")).content.decode()
    assert all(tab in chinese for tab in CHINESE_TABS)

    url = _english("issues:inbox")
    assert url.startswith("/en/")
    html = client.get(url).content.decode()
    for tab in ("Mine", "My area", "Overdue", "Rectification list", "Awaiting rating"):
        assert f">{tab}</a>" in html
    assert not [tab for tab in CHINESE_TABS if tab in html]

    html = client.get(_english("issues:ticket_detail", ticket.pk)).content.decode()
    for button in ("Accept", "Add progress", "Resolve and tell the reporter"):
        assert button in html
    assert not [button for button in CHINESE_BUTTONS if button in html]


def test_module_level_labels_are_lazy():
    """A label made with ``gettext`` while a module loads is fixed in the language of
    whichever request loaded it; module and class bodies and default arguments use
    ``gettext_lazy``."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            eager = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
                for alias in node.names
                if alias.name in EAGER
            }
            found += [
                f"{path.relative_to(ROOT)}:{call.lineno}: {ast.unparse(call)[:60]}"
                for call in _import_time_calls(tree)
                if isinstance(call.func, ast.Name) and call.func.id in eager
            ]
    assert found == []


def _import_time_calls(node):
    """The calls evaluated when the module is imported (not inside a function's body)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        at_definition = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
        for child in [*at_definition, *getattr(node, "decorator_list", [])]:
            yield from _import_time_calls(child)
        return
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _import_time_calls(child)


@pytest.mark.parametrize(
    ("language", "date", "month_day"),
    [("zh-hans", "2024年3月5日", "3月5日"), ("en", "March 5, 2024", "March 5")],
)
def test_dates_use_the_locale_formats(language, date, month_day):
    day = dt.date(2024, 3, 5)
    with translation.override(language):
        assert formats.date_format(day, "DATE_FORMAT") == date
        assert formats.date_format(day, "SHORT_DATE_FORMAT") in (date, "03/05/2024")
        assert formats.date_format(day, "MONTH_DAY_FORMAT") == month_day


@pytest.mark.django_db
def test_defect_dates_on_pages_follow_the_language(world, login_as):
    county = world.users["county"]
    meeting = services.meeting_open(
        area=world.county, title="三月交办会", actor=county, held_on=dt.date(2024, 3, 5)
    )
    client = login_as("county")
    for name, args in (("issues:meeting_list", ()), ("issues:meeting_detail", (meeting.pk,))):
        chinese = client.get(_url("zh-hans", name, *args)).content.decode()
        assert "2024年3月5日" in chinese
        english = client.get(_english(name, *args)).content.decode()
        assert "March 5, 2024" in english and "2024年3月5日" not in english


def test_livez_answers_without_a_session_or_a_query(db, client, django_assert_num_queries):
    """/livez is the bare liveness answer (/healthz reads the database: test_health.py)."""
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert client.post("/livez").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, query",
    [("home", ""), ("issues:inbox", "?tab=area&page=2"), ("digests:digest_list", "")],
)
def test_switching_back_to_chinese_returns_to_the_same_page_in_chinese(
    world, login_as, name, query
):
    client = login_as("community")
    english = _english(name) + query
    response = client.post(
        reverse("set_language"), {"language": "en", "next": _url("zh-hans", name) + query}
    )
    assert response.status_code == 302 and response["Location"] == english
    assert client.get(english).status_code == 200

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": english})

    assert response.status_code == 302
    assert response["Location"] == _url("zh-hans", name) + query  # no /en/ left
    page = client.get(response["Location"])
    assert page.status_code == 200 and page.headers["Content-Language"] == "zh-hans"
    assert HAN.search(page.content.decode())


@pytest.mark.django_db
def test_the_language_menu_names_each_language_in_itself(world, login_as):
    for language in ("zh-hans", "en"):
        page = login_as("community").get(_url(language, "home")).content.decode()
        assert '<option value="zh-hans" lang="zh-hans"' in page
        assert ">简体中文</option>" in page and ">English</option>" in page
