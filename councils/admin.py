"""Regular meetings in the admin: shown, never written here. Every act on a meeting goes
through ``councils.services`` from the meeting pages (its attendance earns and reverses
points, its history is appended), so the admin neither adds, changes nor deletes."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from councils.models import (
    AgendaItem,
    Attendance,
    Decision,
    Meeting,
    MeetingEvent,
    MeetingRhythm,
    MinutesCorrection,
)
from grids.admin import PlaceColumnMixin


class _ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class AttendanceInline(_ReadOnlyInline):
    model = Attendance
    fields = ("person", "capacity", "added_at", "added_by", "removed_at", "removed_reason")
    readonly_fields = fields


class AgendaInline(_ReadOnlyInline):
    model = AgendaItem
    fields = ("title", "ticket", "wish", "proposal", "proposed_by", "added_at")
    readonly_fields = fields


class DecisionInline(_ReadOnlyInline):
    model = Decision
    fields = ("text", "agenda_item", "ticket", "wish", "proposal", "decided_by", "decided_at")
    readonly_fields = fields


class CorrectionInline(_ReadOnlyInline):
    model = MinutesCorrection
    fields = ("text", "by", "at")
    readonly_fields = fields


class EventInline(_ReadOnlyInline):
    model = MeetingEvent
    fields = ("at", "kind", "actor", "person", "note")
    readonly_fields = fields


@admin.register(Meeting)
class MeetingAdmin(PlaceColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("date", "level", "place", "state", "chair")
    list_filter = ("level", "state")
    list_select_related = ("area", "chair")
    date_hierarchy = "date"
    search_fields = ("area__name", "area__code", "topic")
    readonly_fields = (
        "area",
        "level",
        "date",
        "room",
        "topic",
        "chair",
        "state",
        "minutes",
        "held_at",
        "created_by",
        "created_at",
    )
    fields = readonly_fields
    inlines = (AgendaInline, AttendanceInline, CorrectionInline, DecisionInline, EventInline)


@admin.register(MeetingEvent)
class MeetingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "meeting", "kind", "actor", "person")
    list_filter = ("kind",)
    list_select_related = ("meeting", "actor", "person")


@admin.register(MeetingRhythm)
class MeetingRhythmAdmin(PlaceColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where each area stands on its rhythm, as the meeting services keep it."""

    list_display = ("place", "level", "last_held", "next_due", "next_planned", "updated_at")
    list_filter = ("level",)
    list_select_related = ("area",)
    search_fields = ("area__name", "area__code")
    readonly_fields = ("area", "level", "last_held", "next_due", "next_planned", "updated_at")
    fields = readonly_fields
