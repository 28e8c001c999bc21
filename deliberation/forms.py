from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import Form
from deliberation.models import Ballot, CostShare, Proposal


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class ProposalFilterForm(Form):
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", "—"), *Proposal.State.choices]
    )


class ProposalForm(Form):
    area = forms.CharField(label=_("Area"), widget=forms.HiddenInput)
    title = forms.CharField(label=_("Title"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Proposal.Kind.choices)
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What is proposed, why, what it costs and who does it."),
    )
    discussion_until = forms.DateField(
        label=_("Discussion until"), required=False, widget=DateInput()
    )
    voting_closes_at = forms.DateTimeField(label=_("Voting closes"), widget=DateTimeInput())
    threshold_numerator = forms.IntegerField(
        label=_("Threshold: more than … of the eligible households"), min_value=1, initial=2
    )
    threshold_denominator = forms.IntegerField(
        label=_("out of"), min_value=2, max_value=100, initial=3
    )

    def __init__(self, *args, editing=False, threshold_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["area"]
        if threshold_locked:
            for name in ("threshold_numerator", "threshold_denominator"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed once discussion opened.")


class AttachmentForm(Form):
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    file = forms.FileField(label=_("File (PDF, JPEG, PNG or WebP)"))


class PaperBallotForm(Form):
    household = forms.TypedChoiceField(label=_("Household"), coerce=int)
    choice = forms.ChoiceField(label=_("Choice on the paper ballot"), choices=Ballot.Choice.choices)

    def __init__(self, *args, households=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["household"].choices = [("", "—"), *households]


class CostSplitForm(Form):
    def __init__(self, *args, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        for source, label in CostShare.Source.choices:
            self.fields[source] = forms.IntegerField(
                label=label,
                required=False,
                min_value=0,
                max_value=100,
                initial=current.get(source),
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def shares(self) -> dict[str, int]:
        return {k: v for k, v in self.cleaned_data.items() if v}


class ProgressForm(Form):
    on = forms.DateField(label=_("Date"), widget=DateInput())
    text = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("Photo"), required=False)


class VoteForm(Form):
    choice = forms.ChoiceField(
        label=_("Your household's vote"), choices=Ballot.Choice.choices, widget=forms.RadioSelect
    )


class ReceiptForm(Form):
    code = forms.CharField(label=_("Receipt code"), max_length=20)
