"""Proposals in the admin: shown, never written here — every step goes through the services
(the proposal pages). The history, the roll, the ballots and the results are append-only or
frozen: no add, change or delete."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from deliberation.models import (
    Ballot,
    PaperBallot,
    ProgressNote,
    Proposal,
    ProposalEvent,
    ProposalResult,
    RollEntry,
)
from grids.admin import PlaceColumnMixin


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProposalEvent
    fields = ("at", "kind", "from_state", "to_state", "actor", "note")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Proposal)
class ProposalAdmin(PlaceColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "place", "kind", "state", "outcome", "voting_closes_at")
    list_filter = ("state", "outcome", "kind")
    search_fields = ("title",)
    list_select_related = ("area",)
    inlines = [EventInline]


@admin.register(ProposalResult)
class ProposalResultAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("proposal", "eligible", "voted", "votes_for", "passed", "frozen_at")
    list_select_related = ("proposal",)


@admin.register(RollEntry)
class RollEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("proposal", "household", "voted", "how")
    list_filter = ("voted", "how")
    list_select_related = ("proposal", "household__area")


@admin.register(Ballot)
class BallotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Listed by their random id only: nothing here leads to a household. Only the ballots of
    # closed proposals: while a vote is open, watching the choices' counts beside the roll's
    # "voted" list would tell which household cast which choice.
    list_display = ("id", "proposal", "choice")
    list_filter = ("choice",)
    list_select_related = ("proposal",)
    ordering = ("id",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(proposal__state=Proposal.State.CLOSED)


@admin.register(PaperBallot)
class PaperBallotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("proposal", "household", "status", "recorded_by", "decided_by")
    list_filter = ("status",)
    list_select_related = ("proposal", "household__area", "recorded_by", "decided_by")


@admin.register(ProgressNote)
class ProgressNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("proposal", "on", "text", "author")
    list_select_related = ("proposal", "author")
