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
    outcome = forms.ChoiceField(label=_("Put it on the wish list as"), choices=Outcome.choices)
    note = forms.CharField(
        label=_("What the resident is told"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was done, which renovation plan, or why it cannot be done."),
    )


class HandBackForm(Form):
    reason = forms.CharField(
        label=_("Why you hand it back"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class FulfilForm(Form):
    note = forms.CharField(
        label=_("What was done"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.ImageField(label=_("Photo (optional)"), required=False)
