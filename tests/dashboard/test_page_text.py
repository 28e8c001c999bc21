"""Text the pages work out once instead of per row or per page (bench/page_cost.py): it reads
as the templates wrote it, in either language, and follows the language and role of each
request."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.utils import translation

from dashboard.figures import Row
from portal.menu import LINKS

pytestmark = pytest.mark.django_db

# What _rows.html rendered per row before the row gave it.
RATED = Template(
    "{% load i18n %}{% blocktranslate count counter=row.rated %}{{ counter }} rated"
    "{% plural %}{{ counter }} rated{% endblocktranslate %}"
)
SOURCES = Template(
    "{% load i18n %}{% blocktranslate with resident=row.rated_resident call=row.rated_call "
    "none=row.not_rated %}resident {{ resident }} · call {{ call }} · not rated {{ none }}"
    "{% endblocktranslate %}"
)
NAVBAR = re.compile(r'<ul class="navbar-nav me-auto">(.*?)</ul>\s*<div class="dropdown">', re.S)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("rated", [0, 1, 2, 1234])
def test_a_rows_rating_text_reads_as_the_template_wrote_it(language, rated):
    row = Row(name="第1网格", rated=rated, rated_resident=rated // 2, rated_call=1, not_rated=3)
    with translation.override(language):
        assert row.rated_label == RATED.render(Context({"row": row}))
        assert row.sources_label == SOURCES.render(Context({"row": row}))
    if language == "zh-hans":
        with translation.override(language):
            assert row.rated_label == f"已评议{rated}件"


def test_the_days_table_shows_the_charts_day_labels(login_as):
    client = login_as("community")
    for prefix, today in (("", "月"), ("/en", " ")):
        response = client.get(f"{prefix}/")
        dash = response.context["dash"]
        labels = dash.chart_data["daily"]["days"]
        assert [row["label"] for row in dash.daily_rows] == labels[::-1]
        assert today in labels[-1]
        table = re.search(
            r'<table[^>]*id="daily-table">.*?</table>', response.content.decode(), re.S
        )
        assert f"<tr><td>{labels[-1]}</td>" in table.group(0)


def _navbar(client, url: str) -> str:
    return NAVBAR.search(client.get(url).content.decode()).group(1)


def test_the_navbar_follows_each_requests_language_and_role(client, world):
    client.force_login(world.users["community"])
    chinese = _navbar(client, "/")
    english = _navbar(client, "/en/")
    assert "居民" in chinese and 'href="/tickets/"' in chinese
    assert ">Residents<" in english and 'href="/en/tickets/"' in english and "居民" not in english
    assert _navbar(client, "/") == chinese  # the English one did not stay behind

    client.force_login(world.users["department"])
    department = _navbar(client, "/")
    assert department != chinese
    parts = next(link for link, _may in LINKS if link.url_name == "issues:department_parts")
    assert f'href="{parts.url}"' in department and f'href="{parts.url}"' not in chinese
    client.force_login(world.users["community"])
    assert _navbar(client, "/") == chinese
