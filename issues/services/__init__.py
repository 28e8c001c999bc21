"""The issues app's business acts, one module per part of the work:

- ``workflow``: the ticket steps (report, triage, accept, progress, escalate, remind, resolve,
  rate) and the deadline jobs, and ``ticket_step``, the one function every change of a
  ticket goes through (meetings and return visits included);
- ``routing``: who answers at which rung of the tree, time limits, working-day deadlines;
- ``meetings``: assignment meetings and the departments' parts and reports;
- ``return_visits``, ``api_keys``, ``contact`` (the reporter's phone and description);
- ``triage``: declining a report, merging duplicates, suggesting them (受理/核实);
- ``reporters``: tracking links, telling reporters, a resident's own problems;
- ``notifications``: the notification list, its deliveries and their sending;
  ``photos``: checking uploads.

Callers use the package (``from issues import services; services.ticket_report(...)``); the
names below are its public face.
"""

from issues.rules import SYSTEM
from issues.services.api_keys import api_key_check, api_key_create
from issues.services.bulk import BULK_MAX, BulkResult, tickets_assign_many, tickets_remind_many
from issues.services.contact import (
    CALL_BACK_ACTIONS,
    description_has_numbers,
    may_call_reporter,
    reporter_phone,
    ticket_description_reveal,
    ticket_reporter_phone_reveal,
)
from issues.services.errors import StaleTicket, TicketError
from issues.services.meetings import (
    Part,
    department_report,
    meeting_assign,
    meeting_open,
    part_deadline,
    part_send_back,
    parts_escalate_overdue,
    ticket_review,
)
from issues.services.notifications import (
    delivery_channels,
    notification_deliver,
    notifications_send,
    notifications_sweep,
    notify,
)
from issues.services.photos import PHOTO_MAX_BYTES, photo_clean
from issues.services.reporters import (
    reporter_by_token,
    reporters_of_account,
    reporters_tell,
    tracking_expires_at,
    tracking_sms,
    tracking_url,
)
from issues.services.return_visits import return_visit_log, return_visit_schedule
from issues.services.routing import (
    DEFAULT_DAYS,
    Route,
    holders_of,
    next_route,
    route,
    time_limit_days,
    working_deadline,
)
from issues.services.triage import (
    DECLINE_REASONS,
    duplicates_suggest,
    may_merge_into,
    ticket_decline,
    ticket_merge,
)
from issues.services.workflow import (
    Plan,
    first_asker_fields,
    rated_this_round,
    ticket_accept,
    ticket_assign,
    ticket_escalate,
    ticket_merged_in,
    ticket_progress,
    ticket_rate,
    ticket_remind,
    ticket_report,
    ticket_resolve,
    ticket_step,
    tickets_close_unrated,
    tickets_escalate_overdue,
)

__all__ = [
    "CALL_BACK_ACTIONS",
    "DECLINE_REASONS",
    "first_asker_fields",
    "may_merge_into",
    "ticket_merged_in",
    "rated_this_round",
    "reporter_by_token",
    "reporters_of_account",
    "reporters_tell",
    "ticket_decline",
    "ticket_merge",
    "tracking_expires_at",
    "tracking_sms",
    "tracking_url",
    "DEFAULT_DAYS",
    "PHOTO_MAX_BYTES",
    "Plan",
    "SYSTEM",
    "Part",
    "Route",
    "StaleTicket",
    "TicketError",
    "api_key_check",
    "api_key_create",
    "department_report",
    "part_deadline",
    "part_send_back",
    "parts_escalate_overdue",
    "ticket_review",
    "BULK_MAX",
    "BulkResult",
    "tickets_assign_many",
    "tickets_remind_many",
    "description_has_numbers",
    "holders_of",
    "may_call_reporter",
    "meeting_assign",
    "meeting_open",
    "next_route",
    "delivery_channels",
    "duplicates_suggest",
    "notification_deliver",
    "notifications_send",
    "notifications_sweep",
    "notify",
    "photo_clean",
    "reporter_phone",
    "return_visit_log",
    "return_visit_schedule",
    "route",
    "ticket_accept",
    "ticket_assign",
    "ticket_description_reveal",
    "ticket_escalate",
    "ticket_progress",
    "ticket_rate",
    "ticket_remind",
    "ticket_report",
    "ticket_reporter_phone_reveal",
    "ticket_resolve",
    "ticket_step",
    "tickets_close_unrated",
    "tickets_escalate_overdue",
    "time_limit_days",
    "working_deadline",
]
