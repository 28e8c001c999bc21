from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import Form


class RankingFilterForm(Form):
    # Picked from the tree (templates/grids/_area_picker.html), as on the residents list.
    area = forms.CharField(label=_("Area"), required=False, widget=forms.HiddenInput)
    q = forms.CharField(label=_("Name or mobile"), required=False, max_length=50)


class AdjustForm(Form):
    amount = forms.IntegerField(
        label=_("Points"),
        min_value=-1000,
        max_value=1000,
        help_text=_("A negative number deducts points."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)


class GoodDeedForm(Form):
    what = forms.CharField(label=_("The good deed"), max_length=200)
    done_on = forms.DateField(
        label=_("Done on"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    hours = forms.DecimalField(
        label=_("Volunteer hours"),
        required=False,
        min_value=0.5,
        max_value=24,
        decimal_places=1,
        help_text=_("Leave empty for a good deed counted once; hours count per hour."),
    )


class NewSaverForm(GoodDeedForm):
    phone = forms.CharField(
        label=_("Mobile number of the resident or head"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    field_order = ["phone", "what", "done_on", "hours"]


class RedeemForm(Form):
    item = forms.TypedChoiceField(label=_("Reward item"), coerce=int)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=20, initial=1)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [
            (item.pk, f"{item.name} · {item.cost} · {item.stock}") for item in items
        ]


class RewardItemForm(Form):
    community = forms.TypedChoiceField(label=_("Community/village"), coerce=int)
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    cost = forms.IntegerField(label=_("Cost in points"), min_value=1, max_value=100000)
    stock = forms.IntegerField(label=_("In stock"), min_value=0, max_value=100000)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.pk, c.name) for c in communities]


class StockForm(Form):
    stock = forms.IntegerField(label=_("In stock"), min_value=0, max_value=100000)
    active = forms.BooleanField(label=_("Offered"), required=False)
