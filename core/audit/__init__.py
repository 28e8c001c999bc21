"""The audit history: every create, change and delete of a tracked model, kept append-only.

A model is tracked with ``@audit.track(...)`` (django-pghistory and django-pgtrigger):
PostgreSQL triggers write one row per changed row into the model's ``<Model>History`` table,
whatever wrote it — a service's ``save()``, an import's ``bulk_create`` or ``bulk_update``, a
``QuerySet.update``, raw SQL or a tree renumbering. Each history row holds

- ``pgh_label``: ``insert``, ``update`` or ``delete``, and ``pgh_obj``: the row's id;
- ``pgh_before`` and ``pgh_after``: for an update, the tracked columns that changed, with
  their values before and after; for a delete, every tracked column as it was. An insert
  stores no copy of the row (a city's tables are not written twice): the row as created is
  the row now with its later changes undone (``values_at_creation``);
- ``pgh_context``: who and what made the change — the signed-in user and the URL of a
  request (``HistoryMiddleware``), the command, import or Celery task (``audit.context``) —
  copied into the row itself, so the row alone tells it and nothing it points at can change;
- ``pgh_created_at``: the time of the transaction.

A secret is never copied: a ``masked`` column (a password's hash) is written as the marker
``"changed"`` before and after in the row of an update that changes it, and left out of a
delete's row and of ``values_at_creation``; the row says the secret changed, never what it
was or became.

A model of a package we do not own (django.contrib.auth's users and groups) has its
history table in an app of ours, and its triggers are installed by that app's migration:
they are kept out of the tracked model's migration state, so ``makemigrations`` never
writes a migration into Django's own package (``_RowTracker.setup``).

The history tables refuse UPDATE and DELETE at the database (``pgtrigger.Protect``), for the
portal's own database user and a superuser's SQL session alike (short of dropping the
trigger, which is a schema change), and the admin shows them read-only. An update that
changes only columns left out (nested-set numbers a renumbering shifts, ancestor keys a
move rewrites, ``updated_at``) writes no row.

The triggers exist on PostgreSQL, the production database. On the embedded SQLite setup
django-pgtrigger installs nothing: the history tables exist there and stay empty.
"""

from __future__ import annotations

import contextlib
import json

import pghistory
import pgtrigger
from django.db import connection, models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from pghistory.core import Tracker
from pghistory.models import Event

# Columns every tracked model placed in the tree carries (grids.models.AncestorKeys): copies
# of where the row lies, rewritten for every row under a node that moves. The move itself is
# in the moved area's history; the copies are left out.
ANCESTOR_KEY_FIELDS = ("district", "street", "community", "grid")

INSERT, UPDATE, DELETE = "insert", "update", "delete"

# What the history holds, before and after, for a masked column an update changed.
MASKED_VALUE = "changed"

_CONTEXT_SQL = (
    "COALESCE(NULLIF(CURRENT_SETTING('pghistory.context_metadata', TRUE), ''), NULL)::JSONB"
)
_CONTEXT_ID_SQL = "COALESCE(NULLIF(CURRENT_SETTING('pghistory.context_id', TRUE), ''), NULL)::UUID"


class AuditEvent(Event):
    """One insert, update or delete of a tracked row (see the module's docstring)."""

    pgh_before = models.JSONField(_("before"), null=True, blank=True, editable=False)
    pgh_after = models.JSONField(_("after"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def tracked_columns(model) -> dict[str, models.Field]:
    """The tracked model's columns that its history records, by column name."""
    skipped = set(getattr(model, "audit_exclude", ()))
    return {
        f.column: f
        for f in model._meta.concrete_fields
        if f.name not in skipped and not f.primary_key
    }


def masked_columns(model) -> set[str]:
    """The tracked columns whose values the history never holds (``track(masked=...)``)."""
    masked = set(getattr(model, "audit_masked", ()))
    return {column for column, f in tracked_columns(model).items() if f.name in masked}


def _sql_list(columns) -> str:
    return ", ".join(f"'{c}'" for c in sorted(columns))


class _HistoryTrigger(pgtrigger.Trigger):
    """An AFTER ROW trigger appending the change of one row to its history table."""

    def __init__(self, *, event_model, label, **kwargs):
        self.event_model = event_model
        self.label = label
        super().__init__(when=pgtrigger.After, level=pgtrigger.Row, **kwargs)

    def get_func(self, model):
        # The tracked model itself, not the one passed: migrations pass their own copy of
        # it, which lacks what ``track`` set on it.
        tracked = self.event_model.pgh_tracked_model
        table = self.event_model._meta.db_table
        pk = tracked._meta.pk.column
        columns = tracked_columns(tracked)
        masked = masked_columns(tracked)
        listed = _sql_list(columns)
        head = (
            f'INSERT INTO "{table}" ("pgh_obj_id", "pgh_label", "pgh_created_at",'
            ' "pgh_context", "pgh_context_id", "pgh_before", "pgh_after")'
        )
        row = "OLD" if self.label == DELETE else "NEW"
        common = f"{row}.\"{pk}\", '{self.label}', NOW(), {_CONTEXT_SQL}, {_CONTEXT_ID_SQL}"
        if self.label == INSERT:
            body = f"{head} VALUES ({common}, NULL, NULL);"
        elif self.label == DELETE:
            kept = _sql_list(set(columns) - masked)
            body = (
                f"{head} SELECT {common}, jsonb_object_agg(o.key, o.value), NULL"
                f" FROM jsonb_each(to_jsonb(OLD)) AS o WHERE o.key IN ({kept});"
            )
        else:
            before, after = "o.value", "n.value"
            if masked:
                marker = (
                    f"CASE WHEN o.key IN ({_sql_list(masked)}) THEN '\"{MASKED_VALUE}\"'::JSONB"
                )
                before, after = f"{marker} ELSE o.value END", f"{marker} ELSE n.value END"
            body = (
                f"{head} SELECT {common}, jsonb_object_agg(o.key, {before}),"
                f" jsonb_object_agg(o.key, {after})"
                " FROM jsonb_each(to_jsonb(OLD)) AS o JOIN jsonb_each(to_jsonb(NEW)) AS n"
                f" ON n.key = o.key WHERE o.key IN ({listed})"
                " AND o.value IS DISTINCT FROM n.value HAVING count(*) > 0;"
            )
        return f"{body} RETURN NULL;"


class _RowTracker(Tracker):
    operations = {
        INSERT: pgtrigger.Insert,
        UPDATE: pgtrigger.Update,
        DELETE: pgtrigger.Delete,
    }

    def setup(self, event_model):
        model = event_model.pgh_tracked_model
        condition = None
        if self.label == UPDATE:
            condition = pgtrigger.AnyChange(*(f.name for f in tracked_columns(model).values()))
        trigger = _HistoryTrigger(
            name=f"history_{self.label}",
            event_model=event_model,
            label=self.label,
            operation=self.operations[self.label],
            condition=condition,
        )
        pgtrigger.register(trigger)(model)
        if model._meta.app_label != event_model._meta.app_label:
            # A model of another package (django.contrib.auth's): registered, so pgtrigger
            # knows it, but out of the model's Meta and migration state, or makemigrations
            # would write the triggers into that package (pgtrigger's ready() reads them back
            # from Meta). The migration of the history's app installs them instead.
            meta = model._meta
            meta.triggers = [t for t in getattr(meta, "triggers", []) if t is not trigger]
            in_state = meta.original_attrs.get("triggers", [])
            meta.original_attrs["triggers"] = [t for t in in_state if t is not trigger]


def track(
    *,
    exclude=(),
    masked=(),
    operations=(INSERT, UPDATE, DELETE),
    model_name=None,
    app_label=None,
    verbose_name=None,
):
    """Track a model's inserts, updates and deletes in an append-only ``<Model>History``.

    ``exclude`` leaves fields out of the history (and an update that changes only those
    writes no row); ``masked`` fields are recorded as changed, never with their values;
    ``operations`` narrows what is recorded. ``app_label`` puts the history table in
    another app (needed for a model of a package we do not own), ``verbose_name`` names
    what the history is of when the model's own name does not say it."""

    def wrap(model):
        model.audit_exclude = tuple(exclude)
        model.audit_masked = tuple(masked)
        name = format_lazy(_("{model}: history"), model=verbose_name or model._meta.verbose_name)
        pghistory.track(
            *(_RowTracker(op) for op in operations),
            fields=[],
            obj_field=pghistory.ObjForeignKey(related_name="+"),
            context_field=pghistory.ContextJSONField(),
            append_only=True,
            base_model=AuditEvent,
            model_name=model_name or f"{model.__name__}History",
            app_label=app_label,
            meta={"verbose_name": name, "verbose_name_plural": name},
        )(model)
        return model

    return wrap


# django-pgtrigger's check at the top of every trigger function, ``_pgtrigger_should_ignore``,
# reads its setting inside a BEGIN … EXCEPTION block: a subtransaction per row, and each one's
# end walks the statement's queued AFTER-trigger events, so a set-based write of n rows cost
# O(n²) — 40 s for one 10,000-row batch of the city's area import, 93 % of it in PostgreSQL's
# AfterTriggerEndSubXact (perf). The same answer without the block: ``current_setting(…,
# true)`` is NULL when the setting was never made, '' once reset, a text array while
# ``pgtrigger.ignore`` is on. And honoured only for the role that owns the tables (the one
# running migrate, which installs this): any session may set ``pgtrigger.ignore``, and the
# services' role (``manage.py db_grants``) must not be able to write without a history row.
# Every trigger install (each migration adding history) writes pgtrigger's version back, so
# ``ignore_check_install`` runs after every ``migrate``.
FAST_IGNORE_CHECK = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        trigger_name = ANY(NULLIF(current_setting('pgtrigger.ignore', true), '')::TEXT[])
        AND pg_has_role(current_user, %(owner)s, 'USAGE'),
        FALSE
    )
$$;
"""


def ignore_check_install(sender=None, using="default", **kwargs) -> None:
    """``post_migrate``: pgtrigger's ignore check without its subtransaction, for the tables'
    owner alone (see above)."""
    from django.db import connections

    target = connections[using]
    if target.vendor != "postgresql":
        return
    with target.cursor() as cursor:
        cursor.execute("SELECT quote_literal(current_user)")
        (owner,) = cursor.fetchone()
        # Inside the function's dollar-quoted body: the owner's name as an SQL literal.
        cursor.execute(FAST_IGNORE_CHECK.replace("%(owner)s", owner))


def context(**metadata):
    """Who or what is writing, for every history row written inside: ``with
    audit.context(command="import_areas", user=pk): ...``. Nested calls add to the
    outermost one (an import inside a request keeps the request's user). Nothing on a
    database without the triggers: pghistory would prefix every statement with
    PostgreSQL's ``set_config``."""
    if connection.vendor != "postgresql":
        return contextlib.nullcontext()
    return pghistory.context(**metadata)


def history_model(model):
    """The history table of a tracked model (None if it is not tracked)."""
    event_models = getattr(model, "pgh_event_models", None) or {}
    return next(iter(event_models.values()), None)


def history_of(obj) -> models.QuerySet:
    """The history rows of one tracked object, oldest first."""
    return history_model(type(obj)).objects.filter(pgh_obj_id=obj.pk).order_by("pgh_id")


def values_at_creation(event: AuditEvent) -> dict | None:
    """The tracked columns of an inserted row as it was created, as the history stores
    values (JSON): the row now (or as it was deleted) with every later change undone, newest
    first. None when the row is gone and its delete is not in the history."""
    later = list(
        type(event)
        .objects.filter(pgh_obj_id=event.pgh_obj_id, pgh_id__gt=event.pgh_id)
        .exclude(pgh_label=INSERT)
        .order_by("-pgh_id")
    )
    deleted = next((e for e in later if e.pgh_label == DELETE), None)
    if deleted is not None:
        values = dict(deleted.pgh_before)
        later = [e for e in later if e.pgh_id < deleted.pgh_id]
    else:
        values = _row_as_json(event.pgh_tracked_model, event.pgh_obj_id)
        if values is None:
            return None
    for change in later:
        values.update(change.pgh_before or {})
    for column in masked_columns(event.pgh_tracked_model):
        values.pop(column, None)
    return values


def _row_as_json(model, pk) -> dict | None:
    """The tracked columns of one row, encoded as the triggers encode them."""
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_jsonb(t) FROM {table} AS t WHERE t.{key} = %s", [pk])  # nosec B608
        found = cursor.fetchone()
    if found is None:
        return None
    row = found[0] if isinstance(found[0], dict) else json.loads(found[0])
    masked = masked_columns(model)
    return {c: row.get(c) for c in tracked_columns(model) if c not in masked}


def import_context(target: str, source: str, user):
    """The context of a spreadsheet import's writes: what was imported, from which file and
    by whom (the user of a request or None at the command line, where the command adds its
    own name and the shell's user)."""
    metadata = {"import": str(target), "file": source[:255]}
    if user is not None:
        metadata["user"] = user.pk
    return context(**metadata)


_task_contexts: dict = {}


def _task_started(task_id=None, task=None, **_kwargs) -> None:
    # A task run eagerly (the embedded setup, the tests) runs inside its caller's context.
    if task is None or getattr(task.request, "is_eager", False):
        return
    entered = context(task=task.name, task_id=task_id)
    entered.__enter__()
    _task_contexts[task_id] = entered


def _task_ended(task_id=None, **_kwargs) -> None:
    entered = _task_contexts.pop(task_id, None)
    if entered is not None:
        entered.__exit__(None, None, None)


def tasks_connect() -> None:
    """Every Celery task's writes name the task (its name and id) in the history."""
    from celery import signals

    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="audit_task_started")
    signals.task_postrun.connect(_task_ended, weak=False, dispatch_uid="audit_task_ended")
