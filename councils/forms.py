from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import Form
from councils.rules import Level
from councils.selectors import Status
from deliberation.models import Proposal
from issues.models import Category, Tier

STATUS_CHOICES = [
    (Status.ALL, _("all")),
    (Status.OVERDUE, _("overdue")),
    (Status.NEVER, _("never met")),
    (Status.ON_TIME, _("on time")),
]


class RhythmFilterForm(Form):
    # Picked from the tree (templates/grids/_area_picker.html), as on the inbox.
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)
    level = forms.ChoiceField(
        label=_("Meeting"), choices=[("", _("all"))] + Level.choices, required=False
    )
    status = forms.ChoiceField(label=_("Rhythm"), choices=STATUS_CHOICES, required=False)


class PlanForm(Form):
    area = forms.CharField(
        label=_("Place (area code)"),
        max_length=32,
        help_text=_("A building, a grid, a compound or a community: search or walk the tree."),
    )
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    room = forms.CharField(
        label=_("Room"),
        max_length=100,
        required=False,
        help_text=_("e.g. 议事亭, the community's activity room"),
    )
    topic = forms.CharField(label=_("Topic"), max_length=200, required=False)


class AgendaForm(Form):
    tickets = forms.MultipleChoiceField(
        label=_("Open problems of the area"), required=False, widget=forms.CheckboxSelectMultiple
    )
    wishes = forms.MultipleChoiceField(
        label=_("Open micro-wishes of the area"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    proposals = forms.MultipleChoiceField(
        label=_("Proposals of the area"), required=False, widget=forms.CheckboxSelectMultiple
    )
    title = forms.CharField(label=_("Or a matter in words"), max_length=200, required=False)
    proposed_by = forms.ChoiceField(label=_("Proposed by"), required=False)

    def __init__(self, *args, problems=(), wishes=(), proposals=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].choices = [(str(t.pk), f"#{t.pk}") for t in problems]
        self.fields["wishes"].choices = [(str(w.pk), w.title) for w in wishes]
        self.fields["proposals"].choices = [(str(p.pk), p.title) for p in proposals]
        self.fields["proposed_by"].choices = [("", "—")] + [
            (str(c.person.pk), c.person.name) for c in people
        ]


class HoldForm(Form):
    attendees = forms.MultipleChoiceField(label=_("Who came"), widget=forms.CheckboxSelectMultiple)
    chair = forms.ChoiceField(label=_("Chaired by"), required=False)
    minutes = forms.CharField(label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(c.person.pk), c.person.name) for c in people]
        self.fields["attendees"].choices = choices
        self.fields["chair"].choices = [("", "—")] + choices


class CancelForm(Form):
    reason = forms.CharField(label=_("Why it is called off"), max_length=200)


class AttendeeAddForm(Form):
    person = forms.ChoiceField(label=_("Add someone who came"))

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [(str(c.person.pk), c.person.name) for c in people]


class AttendeeRemoveForm(Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why struck off"), max_length=200)


class CorrectionForm(Form):
    text = forms.CharField(
        label=_("Correction to the minutes"), widget=forms.Textarea(attrs={"rows": 3})
    )


class DecisionForm(Form):
    text = forms.CharField(label=_("Decision"), widget=forms.Textarea(attrs={"rows": 3}))
    agenda_item = forms.ChoiceField(label=_("On the item"), required=False)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agenda_item"].choices = [("", "—")] + [(str(i.pk), i.title) for i in items]


class DecisionProblemForm(Form):
    """The category's choices read once per page, however many decisions show the form."""

    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    tier = forms.ChoiceField(
        label=_("Tier"),
        choices=[("", _("leave to triage"))] + Tier.choices,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = {c.pk: c for c in Category.objects.filter(active=True).order_by("code")}
        self.fields["category"].choices = [(pk, c.name) for pk, c in self.categories.items()]

    def clean_category(self):
        return self.categories[self.cleaned_data["category"]]


class DecisionWishForm(Form):
    prefix = "wish"
    title = forms.CharField(
        label=_("The wish"),
        max_length=60,
        required=False,
        help_text=_("Empty: the decision's first words."),
    )
    for_name = forms.CharField(
        label=_("Whose wish"),
        max_length=50,
        required=False,
        help_text=_("Empty: the residents of the meeting's area."),
    )
    for_phone = forms.CharField(label=_("Their mobile (optional)"), max_length=20, required=False)


class DecisionProposalForm(Form):
    prefix = "proposal"
    title = forms.CharField(
        label=_("Proposal title"),
        max_length=120,
        required=False,
        help_text=_("Empty: the decision's first words."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Proposal.Kind.choices, initial=Proposal.Kind.RENOVATION
    )
