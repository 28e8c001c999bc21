"""Every named URL pattern of the portal (portal/urls.py, walked through the resolver), and
for each the world's object it names (if any) and how to fill its arguments for that object.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

MISSING = 999999  # a child row that does not exist (a visit, a paper ballot …)


def named_patterns() -> list[str]:
    """Every named pattern, with its namespace: ``issues:ticket_detail``, ``healthz`` …"""

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = ":".join(n for n in (namespace, pattern.namespace) if n) or None
                yield from walk(pattern.url_patterns, ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return sorted(set(walk(get_resolver().url_patterns)))


def _pk(obj):
    return dict(obj.kwargs)


def _ticket_photo(obj):
    return {"pk": obj.kwargs["pk"], "photo_pk": obj.extra["photo"].pk}


def _wish_photo(obj):
    return {"pk": obj.kwargs["pk"], "photo_pk": obj.extra["photo"].pk}


def _attachment(obj):
    return {"pk": obj.kwargs["pk"], "attachment_pk": obj.extra["attachment"].pk}


def _decision(obj):
    return {"pk": obj.kwargs["pk"], "decision_pk": obj.extra["decision"].pk}


# name → (the kind of world object it names, or None; its arguments for that object)
ARGS = {
    "healthz": (None, None),
    "livez": (None, None),
    "set_language": (None, None),
    "home": (None, None),
    "login": (None, None),
    "logout": (None, None),
    "password_change": (None, None),
    "password_reset": (None, None),
    "password_reset_done": (None, None),
    "password_reset_code": (None, None),
    "password_reset_confirm": (None, lambda o: {"uidb64": "MQ", "token": "set-password"}),
    # Open311: public by the spec, the reporters left out.
    "open311:services": (None, lambda o: {"fmt": "json"}),
    "open311:service": (None, lambda o: {"code": "repair", "fmt": "json"}),
    "open311:requests": (None, lambda o: {"fmt": "json"}),
    "open311:request": ("ticket", lambda o: {"pk": o.kwargs["pk"], "fmt": "json"}),
    "open311:photo": ("ticket", lambda o: {"token": o.extra["photo"].token, "ext": "png"}),
    # Residents.
    "residents:resident_list": (None, None),
    "residents:resident_export": (None, None),
    "residents:resident_find": (None, None),
    "residents:resident_import": (None, None),
    "residents:resident_detail": ("resident", _pk),
    "residents:resident_edit": ("resident", _pk),
    "residents:resident_reveal": ("resident", lambda o: {**o.kwargs, "field": "id_number"}),
    "residents:household_list": (None, None),
    "residents:household_detail": ("household", _pk),
    "residents:household_edit": ("household", _pk),
    "residents:visit_create": ("household", _pk),
    "residents:coverage": (None, None),
    "residents:unvisited": ("grid", _pk),
    # The tree and the dashboards.
    "grids:area_root": (None, None),
    "grids:area_search": (None, None),
    "grids:area_root_children": (None, None),
    "grids:area_children_partial": ("community", _pk),
    "grids:notice_board": ("community", _pk),
    "dashboard:engagement": (None, None),
    "dashboard:area_detail": ("community", _pk),
    # Problems.
    "issues:inbox": (None, None),
    "issues:inbox_ledger": (None, None),
    "issues:inbox_print": (None, None),
    "issues:inbox_bulk": (None, None),
    "issues:report": (None, None),
    "issues:ticket_detail": ("ticket", _pk),
    "issues:ticket_photo": ("ticket", _ticket_photo),
    "issues:ticket_do": ("ticket", _pk),
    "issues:ticket_act": ("ticket", lambda o: {**o.kwargs, "action": "assign"}),
    "issues:reporter_phone": ("ticket", _pk),
    "issues:reporter_row_phone": (
        "ticket",
        lambda o: {**o.kwargs, "reporter_pk": o.extra["reporter"].pk},
    ),
    "issues:description_reveal": ("ticket", _pk),
    "issues:return_visit_log": ("ticket", lambda o: {**o.kwargs, "visit_pk": MISSING}),
    "issues:department_parts": (None, None),
    "issues:meeting_list": (None, None),
    "issues:meeting_detail": ("ticket_meeting", _pk),
    "notifications:list": (None, None),
    "notifications:badge": (None, None),
    "notifications:read_all": (None, None),
    "notifications:open": ("notification", _pk),
    # The resident pages.
    "citizens:home": (None, None),
    "citizens:sign_in": (None, None),
    "citizens:sign_in_code": (None, None),
    "citizens:sign_out": (None, None),
    "citizens:privacy": (None, None),
    "citizens:report": (None, None),
    "citizens:places": (None, None),
    "citizens:problem": ("ticket", _pk),
    "citizens:problem_rate": ("ticket", _pk),
    "citizens:problem_photo": ("ticket", _ticket_photo),
    "citizens:wishes": (None, None),
    "citizens:wish_new": (None, None),
    "citizens:wishes_open": (None, None),
    "citizens:wishes_open_act": ("wish", lambda o: {**o.kwargs, "action": "claim"}),
    "citizens:wish": ("wish", _pk),
    "citizens:wish_confirm": ("wish", _pk),
    "citizens:wish_photo": ("wish", _wish_photo),
    "citizens:points": (None, None),
    "citizens:points_request": ("reward_item", lambda o: {"item_pk": o.kwargs["pk"]}),
    "citizens:track": ("ticket", lambda o: {"token": o.extra["token"]}),
    "citizens:track_rate": ("ticket", lambda o: {"token": o.extra["token"]}),
    "citizens:track_photo": (
        "ticket",
        lambda o: {"token": o.extra["token"], "photo_pk": o.extra["photo"].pk},
    ),
    "citizens:proposals": (None, None),
    "citizens:proposal_receipt": (None, None),
    "citizens:proposal": ("proposal", _pk),
    "citizens:proposal_vote": ("proposal", _pk),
    "citizens:proposal_attachment": ("proposal", _attachment),
    # Digests.
    "digests:digest_list": (None, None),
    "digests:best_heads": (None, None),
    "digests:digest_detail": ("digest", _pk),
    "digests:digest_export": ("digest", _pk),
    # Points.
    "points:index": (None, None),
    "points:deed_new": (None, None),
    "points:person": ("points_person", _pk),
    "points:adjust": ("points_person", _pk),
    "points:deed": ("points_person", _pk),
    "points:redeem": ("points_person", _pk),
    "points:items": (None, None),
    "points:item_add": (None, None),
    "points:item_update": ("reward_item", _pk),
    "points:request_answer": ("reward_item", lambda o: {"pk": o.extra["request"].pk}),
    # Proposals.
    "deliberation:proposal_list": (None, None),
    "deliberation:proposal_create": (None, None),
    "deliberation:proposal_detail": ("proposal", _pk),
    "deliberation:proposal_edit": ("proposal", _pk),
    "deliberation:proposal_step": ("proposal", _pk),
    "deliberation:attachment_add": ("proposal", _pk),
    "deliberation:attachment_file": ("proposal", _attachment),
    "deliberation:paper_record": ("proposal", _pk),
    "deliberation:paper_decide": (
        "proposal",
        lambda o: {**o.kwargs, "paper_pk": MISSING, "decision": "confirm"},
    ),
    "deliberation:cost_split": ("proposal", _pk),
    "deliberation:progress_add": ("proposal", _pk),
    "deliberation:progress_photo": ("proposal", lambda o: {**o.kwargs, "note_pk": MISSING}),
    # Micro-wishes.
    "wishes:list": (None, None),
    "wishes:new": (None, None),
    "wishes:near": (None, None),
    "wishes:near_act": ("wish", lambda o: {**o.kwargs, "action": "claim"}),
    "wishes:detail": ("wish", _pk),
    "wishes:sort": ("wish", _pk),
    "wishes:confirm_late": ("wish", _pk),
    "wishes:photo": ("wish", _wish_photo),
    # Regular meetings.
    "councils:rhythm": (None, None),
    "councils:plan": (None, None),
    "councils:meeting": ("council", _pk),
    "councils:agenda_add": ("council", _pk),
    "councils:hold": ("council", _pk),
    "councils:cancel": ("council", _pk),
    "councils:attendee_add": ("council", _pk),
    "councils:attendee_remove": ("council", _pk),
    "councils:correct": ("council", _pk),
    "councils:decide": ("council", _pk),
    "councils:decision_problem": ("council", _decision),
    "councils:decision_wish": ("council", _decision),
    "councils:decision_proposal": ("council", _decision),
}


def admin_patterns() -> list[tuple[str, list[str]]]:
    """The admin's named patterns (``admin:<name>``) with the names of their arguments."""

    def find(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    return pattern
                found = find(pattern.url_patterns)
                if found is not None:
                    return found
        return None

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif pattern.name:
                yield f"admin:{pattern.name}", list(pattern.pattern.regex.groupindex)

    return sorted(walk(find(get_resolver().url_patterns).url_patterns))


def admin_kwargs(name: str, params: list[str], mworld) -> dict:
    """Arguments for an admin URL: a model page's object is the first row of the model (side
    A's where the world has one), ``app_label`` the residents app, ``view_on_site`` side A's
    problem."""
    from django.contrib import admin
    from django.contrib.contenttypes.models import ContentType

    from issues.models import Ticket

    kwargs = {}
    short = name.split(":", 1)[1]
    model = next(
        (
            m
            for m in admin.site._registry
            if short.startswith(f"{m._meta.app_label}_{m._meta.model_name}_")
        ),
        None,
    )
    for param in params:
        if param == "app_label":
            kwargs[param] = "residents"
        elif param == "content_type_id":
            kwargs[param] = ContentType.objects.get_for_model(Ticket).pk
            kwargs["object_id"] = mworld.get("ticket", "A").kwargs["pk"]
        elif param in ("object_id", "id") and param not in kwargs:
            row = model._default_manager.order_by("pk").first() if model else None
            kwargs[param] = row.pk if row is not None else MISSING
    return kwargs
