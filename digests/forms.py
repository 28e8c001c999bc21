"""The digest list's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from grids.models import Area


class DigestFilterForm(forms.Form):
    day = forms.DateField(
        label=_("Period holding the day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )
    area = forms.ModelChoiceField(
        label=_("Area"),
        queryset=Area.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All"),
    )

    def __init__(self, *args, areas: list[Area], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["area"]
        field.queryset = Area.objects.filter(pk__in=[a.pk for a in areas]).order_by("code")
        field.label_from_instance = lambda area: f"{area.name} · {area.get_kind_display()}"
        field.widget.attrs["class"] = "form-select form-select-sm"
