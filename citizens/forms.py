from django import forms
from django.utils.translation import gettext_lazy as _

from citizens.selectors import report_categories
from core.forms import Form
from issues.forms import MultipleImageField
from issues.models import Ticket


class PhoneForm(Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0000 0000"}
        ),
    )


class CodeForm(Form):
    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )


class PrivacyForm(Form):
    display_name = forms.CharField(
        label=_("What shall we call you (optional)"),
        max_length=50,
        required=False,
        help_text=_("Shown to the workers who handle your problems, with your number."),
    )


class ResidentReportForm(Form):
    category = forms.ModelChoiceField(
        label=_("What is it about"), queryset=None, empty_label=_("Choose the kind of problem")
    )
    place = forms.IntegerField(widget=forms.HiddenInput, required=False)
    description = forms.CharField(
        label=_("What is the problem"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photos = MultipleImageField(label=_("Photos (optional)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = report_categories()


class ResidentRateForm(Form):
    rating = forms.ChoiceField(
        label=_("Are you satisfied with the result?"),
        choices=[c for c in Ticket.Rating.choices if c[0] != Ticket.Rating.NOT_RATED],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
