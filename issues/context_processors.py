"""What every page's navbar shows of the problems: the signed-in worker's unread count."""

from __future__ import annotations

from functools import cached_property

from issues.selectors import UNREAD_CAP, notifications_unread_count


class UnreadBadge:
    """Counted on first use only: a page that shows no navbar (a fragment, a file) runs no
    query."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def count(self) -> int:
        return notifications_unread_count(self.user)

    @property
    def label(self) -> str:
        return f"{UNREAD_CAP - 1}+" if self.count >= UNREAD_CAP else str(self.count)

    def __bool__(self) -> bool:
        return self.count > 0


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": UnreadBadge(user)}
