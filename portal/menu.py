"""The navbar by role: each page's link shows only to those the page lets in, decided by the
same predicate the page's view checks (a hidden link is a 403 page, tested one by one in
tests/portal/test_menu.py). No query beyond the user's scope, which the page reads anyway.

Every page shows the navbar, and the links of a role are the same on every page: each link's
URL is reversed once per process (and language), and the navbar's list of links is rendered
once per set of links and language (``NavbarMenu.html``), not on every page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from councils.selectors import may_run_meetings
from deliberation import rules as deliberation_rules
from grids.access import scope_for
from issues.permissions import holds_meetings, may_report
from points.permissions import VIEW as POINTS_VIEW
from points.permissions import user_may as points_user_may
from residents.permissions import LIST, user_may
from wishes.views import may_see_wishes


@dataclass(frozen=True)
class Link:
    url_name: str
    label: str
    group: str = ""  # links of one group sit together in one dropdown of the navbar

    @property
    def url(self) -> str:
        return _reversed(self.url_name, get_language(), get_script_prefix(), get_urlconf())


@cache  # a few dozen names, times the languages (i18n_patterns) and script prefixes
def _reversed(url_name: str, language: str, prefix: str, urlconf) -> str:
    """``reverse(url_name)`` as it is with ``language`` active and ``prefix``, read once."""
    return reverse(url_name, urlconf=urlconf)


@dataclass(frozen=True)
class Entry:
    """One item of the navbar: a link, or a group's dropdown of links (``label`` set)."""

    links: tuple[Link, ...]
    label: str = ""


# The navbar's dropdowns: on a phone fifteen links would be a long list before the page.
RESIDENTS = _("Residents")
ENGAGEMENT = _("Engagement")


def in_post(user) -> bool:
    """A head, worker or officer over some area, or an administrator: the tree, its pages
    and its digests (a department handler sees only the parts assigned to it)."""
    scope = scope_for(user)
    return scope.is_admin or bool(scope.grants)


def in_department(user) -> bool:
    """A handler of a department: the list of its parts of problems."""
    return bool(scope_for(user).department_ids)


# In navbar order: the link, and who may follow it.
LINKS = (
    (Link("home", _("Dashboard")), lambda user: True),
    (Link("issues:inbox", _("Problems")), lambda user: True),
    (Link("issues:report", _("Report a problem")), may_report),
    (Link("grids:area_root", _("Areas")), in_post),
    (Link("residents:resident_list", _("Residents"), RESIDENTS), lambda user: user_may(user, LIST)),
    (
        Link("residents:household_list", _("Households"), RESIDENTS),
        lambda user: user_may(user, LIST),
    ),
    (Link("residents:coverage", _("Visit coverage"), RESIDENTS), lambda user: user_may(user, LIST)),
    (Link("issues:department_parts", _("Our parts")), in_department),
    (Link("issues:meeting_list", _("Assignment meetings")), holds_meetings),
    (
        Link("deliberation:proposal_list", _("Proposals"), ENGAGEMENT),
        lambda user: deliberation_rules.user_may(user, deliberation_rules.VIEW),
    ),
    (Link("wishes:list", _("Micro-wishes"), ENGAGEMENT), may_see_wishes),
    (
        Link("points:index", _("Points"), ENGAGEMENT),
        lambda user: points_user_may(user, POINTS_VIEW),
    ),
    (Link("councils:rhythm", _("Regular meetings"), ENGAGEMENT), may_run_meetings),
    (Link("digests:digest_list", _("Digests")), in_post),
    (Link("admin:index", _("Admin")), lambda user: user.is_staff),
)


def menu_for(user) -> list[Link]:
    if not user.is_authenticated:
        return []
    return [link for link, may in LINKS if may(user)]


def menu_entries(links: list[Link]) -> list[Entry]:
    """``links`` as the navbar shows them: a group's links together in one dropdown, where
    its first link would be; a group with one link left is that link alone."""
    entries: list[Entry] = []
    groups: dict[str, list[Link]] = {}
    for link in links:
        if not link.group:
            entries.append(Entry((link,)))
        elif link.group in groups:
            groups[link.group].append(link)
        else:
            groups[link.group] = [link]
            entries.append(Entry((), label=link.group))
    return [
        entry
        if not entry.label
        else Entry(
            tuple(groups[entry.label]), label=entry.label if len(groups[entry.label]) > 1 else ""
        )
        for entry in entries
    ]


_LINK_NAMED = {link.url_name: link for link, _may in LINKS}


# Keyed by the links' names (hashing a Link would translate its lazy label on every page).
@lru_cache(maxsize=256)  # one per role's set of links and language, in practice a few dozen
def _menu_html(names: tuple[str, ...], language: str, prefix: str, urlconf) -> SafeString:
    """The navbar's items for the links ``names`` (``portal/_navbar_menu.html``), rendered
    once."""
    entries = menu_entries([_LINK_NAMED[name] for name in names])
    return render_to_string("portal/_navbar_menu.html", {"entries": entries})


class NavbarMenu:
    """The signed-in user's navbar, worked out on first use only (a fragment or a file shows
    none): its ``entries``, and their items as HTML (``html``, what base.html shows)."""

    def __init__(self, request):
        self.request = request

    @cached_property
    def links(self) -> tuple[Link, ...]:
        # Read on first use: a request that never passed the authentication middleware
        # (an error page rendered early, a test's bare request) has no user and no menu.
        user = getattr(self.request, "user", None)
        return tuple(menu_for(user)) if user is not None else ()

    @cached_property
    def entries(self) -> list[Entry]:
        return menu_entries(list(self.links))

    def __iter__(self):
        return iter(self.entries)

    @cached_property
    def html(self) -> SafeString:
        names = tuple(link.url_name for link in self.links)
        return _menu_html(names, get_language(), get_script_prefix(), get_urlconf())


def menu(request) -> dict:
    """Context processor: ``menu``, the signed-in user's navbar (``NavbarMenu``)."""
    return {"menu": NavbarMenu(request)}
