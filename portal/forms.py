"""Bootstrap styling for every portal form, in one place."""

from django import forms


class BootstrapMixin:
    """Gives each widget the Bootstrap class it needs; errors mark the field invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                css = ""
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            if self.is_bound and name in self.errors:
                css += " is-invalid"
            if css:
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class Form(BootstrapMixin, forms.Form):
    pass
