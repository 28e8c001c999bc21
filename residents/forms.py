from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import Form
from residents.models import CareTag, Visit


class KeysInRangeMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses a key beyond 64 bits as no choice: Django looks the chosen keys up with
    ``__in``, which SQLite cannot take for such a number (a server error, not the field's)."""

    def _check_values(self, value):
        for key in value if isinstance(value, list | tuple) else ():
            text = str(key).strip().lstrip("-+")
            if text.isdigit() and int(text) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": key},
                )
        return super()._check_values(value)


class ResidentFilterForm(Form):
    q = forms.CharField(label=_("Name or masked ID number"), required=False)
    # Picked from the tree (templates/grids/_area_picker.html), as on the inbox.
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)
    tag = forms.ModelChoiceField(
        label=_("Care tag"), queryset=CareTag.objects.all(), required=False
    )


class HouseholdFilterForm(Form):
    q = forms.CharField(label=_("Door or address"), required=False)
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)
    in_online_group = forms.NullBooleanField(
        label=_("In the online group"),
        required=False,
        widget=forms.Select(choices=[("", "—"), ("true", _("yes")), ("false", _("no"))]),
    )


class ResidentEditForm(Form):
    name = forms.CharField(label=_("Full name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile"),
        max_length=20,
        required=False,
        help_text=_("Leave as it is to keep the current number."),
    )
    is_householder = forms.BooleanField(label=_("Householder"), required=False)
    care_tags = KeysInRangeMultipleChoiceField(
        label=_("Care tags"),
        queryset=CareTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class HouseholdEditForm(Form):
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    in_online_group = forms.BooleanField(label=_("In the online group"), required=False)


class VisitForm(Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Visit.Channel.choices)
    findings = forms.CharField(
        label=_("What was found"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    needs_follow_up = forms.BooleanField(label=_("Needs follow-up"), required=False)


class CoverageForm(Form):
    days = forms.IntegerField(
        label=_("Visited within (days)"), min_value=1, max_value=366, initial=30, required=False
    )
