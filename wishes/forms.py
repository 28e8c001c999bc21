from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import Form
from wishes.models import Outcome, State


class WishForm(Form):
    """What a resident (or a worker for them) writes: what, where, by when, a photo."""

    title = forms.CharField(
        label=_("What do you wish for"),
        max_length=60,
        help_text=_("e.g. a bag of flour delivered, the stairwell lamp repaired"),
    )
    text = forms.CharField(
        label=_("Details (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    where = forms.CharField(label=_("Where (optional)"), max_length=100, required=False)
    wanted_by = forms.DateField(
        label=_("Wanted by (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    photo = forms.ImageField(label=_("Photo (optional)"), required=False)


class WorkerWishForm(WishForm):
    """A wish a worker posts for a resident who came in person or has no phone."""

    area = forms.CharField(label=_("Place"), widget=forms.HiddenInput)
    for_name = forms.CharField(label=_("Whose wish"), max_length=50, required=False)
    for_phone = forms.CharField(
        label=_("Their mobile (optional)"),
        max_length=20,
        required=False,
        help_text=_("They are told by SMS and see the wish when they sign in with it."),
    )


class ListFilterForm(Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *State.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Wish list"),
        required=False,
        choices=[("", _("All outcomes")), *Outcome.choices],
    )
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)


class SortForm(Form):
    """Where the wish goes on the wish list; for the renovation plan, the proposal (议事) it
    goes into: one not yet closed of a place covering the wish, or a new draft on one."""

    outcome = forms.ChoiceField(label=_("Put it on the wish list as"), choices=Outcome.choices)
    plan = forms.ChoiceField(
        label=_("Renovation plan put to the households"),
        required=False,
        help_text=_("For the renovation plan only: the proposal the wish goes into."),
    )
    note = forms.CharField(
        label=_("What the resident is told"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was done, which renovation plan, or why it cannot be done."),
    )

    def __init__(self, *args, proposals=(), draft_areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.proposals = {f"p{p.pk}": p for p in proposals}
        self.draft_areas = {f"new{a.pk}": a for a in draft_areas}
        choices = [("", _("none: the note says which plan"))]
        choices += [
            (key, f"{p.title} · {p.area.name} · {p.get_state_display()}")
            for key, p in self.proposals.items()
        ]
        choices += [
            (key, _("a new draft proposal on %(place)s") % {"place": a.name})
            for key, a in self.draft_areas.items()
        ]
        self.fields["plan"].choices = choices
        if len(choices) == 1:
            self.fields["plan"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        plan = data.get("plan") or ""
        data["proposal"] = self.proposals.get(plan)
        data["draft_area"] = self.draft_areas.get(plan)
        if plan and data.get("outcome") != Outcome.RENOVATION:
            self.add_error("plan", _("Only a renovation plan is a proposal."))
        if not plan and not (data.get("note") or "").strip() and "note" not in self.errors:
            self.add_error("note", _("Write what the resident is told."))
        return data


class HandBackForm(Form):
    reason = forms.CharField(
        label=_("Why you hand it back"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class FulfilForm(Form):
    note = forms.CharField(
        label=_("What was done"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.ImageField(label=_("Photo (optional)"), required=False)
