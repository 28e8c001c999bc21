"""Bootstrap styling for every portal form, in one place."""

from django import forms


class BootstrapMixin:
    """Gives each widget the Bootstrap class it needs; errors mark the field invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                css = ""
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            if css:
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class Form(BootstrapMixin, forms.Form):
    pass
