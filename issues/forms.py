from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import Form
from grids.models import Area
from issues.models import Category, Ticket, Tier
from issues.services.triage import DECLINE_REASONS


class DateInput(forms.DateInput):
    """The browser's date picker; it needs ISO dates whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several photos in one input; each is checked and re-encoded by ``services.photo_clean``."""

    def __init__(self, *args, **kwargs):
        accept = "image/jpeg,image/png,image/webp"
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ReportForm(Form):
    area = forms.CharField(
        label=_("Place (area code)"),
        max_length=32,
        help_text=_("Search by name or walk the tree below; the code fills in."),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(active=True, children__isnull=True)
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[c for c in Ticket.Channel.choices if c[0] != Ticket.Channel.API],
    )
    description = forms.CharField(
        label=_("What is the problem"), widget=forms.Textarea(attrs={"rows": 4})
    )
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reporter_name = forms.CharField(label=_("Reporter's name"), max_length=50, required=False)
    reporter_phone = forms.CharField(
        label=_("Reporter's phone"),
        max_length=20,
        required=False,
        help_text=_(
            "Needed to tell the reporter the result, unless a registered resident is chosen."
        ),
    )
    tier = forms.ChoiceField(
        label=_("Tier"),
        required=False,
        choices=[("", _("decide later (triage)")), *Tier.choices],
        help_text=_(
            "Simple: the building/unit head; complex: the grid head with the community;"
            " hard: reported up to the county office."
        ),
    )
    photos = MultipleImageField(label=_("Photos"), required=False)
    visit = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, tiers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tiers is not None:
            field = self.fields["tier"]
            field.choices = [(v, label) for v, label in field.choices if not v or v in tiers]


class AssignForm(Form):
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteForm(Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))


class OptionalNoteForm(Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class EscalateForm(Form):
    note = forms.CharField(label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    as_hard = forms.BooleanField(
        label=_("Report up as a hard problem (to the street / county office)"), required=False
    )


class ResolveForm(Form):
    feedback = forms.CharField(
        label=_("Result told to the reporter"), widget=forms.Textarea(attrs={"rows": 3})
    )


class RateForm(Form):
    """A return call (回访) logged for the reporter: who answered, and what they said. Only
    for someone who did not work on the problem (``permissions.has_worked_on``)."""

    reporter = forms.TypedChoiceField(
        label=_("Who answered the call"), coerce=int, choices=(), widget=forms.RadioSelect
    )
    rating = forms.ChoiceField(
        label=_("Their rating"),
        choices=[c for c in Ticket.Rating.choices if c[0] != Ticket.Rating.NOT_RATED],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("What they said"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, reporters=(), **kwargs):
        """``reporters``: (reporter row, label) for those still to rate this result."""
        super().__init__(*args, **kwargs)
        field = self.fields["reporter"]
        field.choices = [(row.pk, label) for row, label in reporters]
        if len(field.choices) == 1:
            field.initial = field.choices[0][0]


class DeclineForm(Form):
    """受理/核实: not taken on, with everything the reporter needs told at once (一次性告知)."""

    reason = forms.ChoiceField(label=_("Why"), choices=(), widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("What the reporter is told"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Sent to the reporter by SMS: say at once why, and where to turn instead (一次性告知)."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [(r.value, r.label) for r in DECLINE_REASONS]


class MergeForm(Form):
    """A duplicate merged into the problem it repeats: one of the suggestions, or a number."""

    into = forms.TypedChoiceField(
        label=_("Likely duplicates"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=(),
        widget=forms.RadioSelect,
    )
    number = forms.CharField(
        label=_("Or the number of the problem it repeats"),
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "#"}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, suggestions=(), **kwargs):
        """``suggestions``: (ticket, likeness 0..1) from ``services.duplicates_suggest``."""
        super().__init__(*args, **kwargs)
        self.suggestions = list(suggestions)
        self.fields["into"].choices = [(str(t.pk), f"#{t.pk}") for t, _l in self.suggestions]
        if not self.suggestions:
            del self.fields["into"]

    def duplicate_choices(self) -> list[tuple]:
        """(radio button, ticket, likeness in per cent) for each suggestion, in order."""
        if "into" not in self.fields:
            return []
        return [
            (choice, ticket, round(likeness * 100))
            for choice, (ticket, likeness) in zip(self["into"], self.suggestions, strict=True)
        ]

    def clean(self):
        data = super().clean()
        number = data.get("number", "").strip().lstrip("#").strip()
        if number and not number.isdigit():
            self.add_error("number", _("give the problem's number, such as 1024"))
            return data
        into = int(number) if number else data.get("into")
        if into is None:
            raise forms.ValidationError(
                _("choose the problem it repeats, or give its number"), code="required"
            )
        data["into"] = into
        return data


class ReturnVisitForm(Form):
    on = forms.DateField(label=_("Return visit on"), widget=DateInput())


class ReturnVisitLogForm(Form):
    visit = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("What the reporter said"), widget=forms.Textarea(attrs={"rows": 2})
    )


class MeetingAssignForm(Form):
    """Put a problem on a meeting: each department chosen gets its own instructions (办理要求)
    and its own deadline. ``cleaned_data["parts"]``: (department, deadline date,
    instructions) for each."""

    meeting = forms.ModelChoiceField(label=_("Meeting"), queryset=None)

    def __init__(self, *args, meetings=None, departments=(), default_deadline=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = meetings
        self.departments = list(departments)
        for department in self.departments:
            key = department.pk
            self.fields[f"part_{key}"] = forms.BooleanField(label=department.name, required=False)
            self.fields[f"deadline_{key}"] = forms.DateField(
                label=_("Deadline for %(department)s") % {"department": department.name},
                required=False,
                initial=default_deadline,
                widget=DateInput(),
            )
            self.fields[f"instructions_{key}"] = forms.CharField(
                label=_("What %(department)s is to do") % {"department": department.name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def part_rows(self):
        """For the template: (chosen, deadline, instructions) bound fields per department."""
        return [
            (self[f"part_{d.pk}"], self[f"deadline_{d.pk}"], self[f"instructions_{d.pk}"])
            for d in self.departments
        ]

    def clean(self):
        data = super().clean()
        parts = []
        for department in self.departments:
            key = department.pk
            if not data.get(f"part_{key}"):
                continue
            deadline = data.get(f"deadline_{key}")
            instructions = (data.get(f"instructions_{key}") or "").strip()
            if deadline is None and f"deadline_{key}" not in self.errors:
                self.add_error(
                    f"deadline_{key}",
                    _("give %(department)s a deadline") % {"department": department.name},
                )
            elif deadline is not None and deadline < timezone.localdate():
                self.add_error(f"deadline_{key}", _("the deadline must not be in the past"))
            if not instructions:
                self.add_error(
                    f"instructions_{key}",
                    _("say what %(department)s is to do") % {"department": department.name},
                )
            parts.append((department, deadline, instructions))
        if not parts:
            raise forms.ValidationError(_("choose at least one department"))
        data["parts"] = parts
        return data


class DepartmentReportForm(Form):
    task = forms.IntegerField(widget=forms.HiddenInput)
    report = forms.CharField(
        label=_("What the department did"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ReviewForm(Form):
    """The county office accepts the departments' reports and says, in its own words, what
    the reporter is told."""

    feedback = forms.CharField(
        label=_("What the reporter is told"),
        help_text=_("In the office's own words: the departments' reports stay on this page."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SendBackForm(Form):
    """The county office sends one department's report back, with the reason and a new
    deadline."""

    task = forms.TypedChoiceField(label=_("Department"), coerce=int)
    reason = forms.CharField(
        label=_("Why it is sent back"), widget=forms.Textarea(attrs={"rows": 2})
    )
    deadline = forms.DateField(label=_("New deadline"), widget=DateInput())

    def __init__(self, *args, parts=(), default_deadline=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [(p.pk, p.department.name) for p in parts]
        if len(parts) == 1:
            self.fields["task"].initial = parts[0].pk
        self.fields["deadline"].initial = default_deadline

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline < timezone.localdate():
            raise forms.ValidationError(_("the deadline must not be in the past"))
        return deadline


class MeetingForm(Form):
    county = forms.ModelChoiceField(label=_("County"), queryset=None)
    title = forms.CharField(label=_("Title"), max_length=100)
    held_on = forms.DateField(label=_("Held on"), widget=DateInput())

    def __init__(self, *args, counties=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["county"]
        field.queryset = Area.objects.filter(pk__in=[c.pk for c in counties]).order_by("code")
        self.only_county = counties[0] if len(counties) == 1 else None
        if self.only_county is not None:  # nothing to choose: not asked
            field.required = False
            field.widget = forms.HiddenInput()

    def clean_county(self):
        return self.cleaned_data.get("county") or self.only_county


class InboxFilterForm(Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        # What issues.selectors.inbox_search finds.
        widget=forms.TextInput(
            attrs={"placeholder": _("number, name, mobile, place or text"), "type": "search"}
        ),
    )
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", "—"), *Tier.choices])
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", "—"), *Ticket.State.choices]
    )
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, queryset=Category.objects.all()
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", "—"), *Ticket.Channel.choices]
    )
    # Picked from the tree (templates/grids/_area_picker.html); a code typed into the URL
    # works too, and one outside the user's scope is a message (grids.rules.area_code_error).
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-created_at", _("newest first")),
            ("created_at", _("oldest first")),
            ("deadline", _("deadline soonest")),
            ("-updated_at", _("recently updated")),
        ],
    )
