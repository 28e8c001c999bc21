"""What every portal form shares, in one place: no control characters in its text, and the
Bootstrap styling."""

from django import forms

from core.text import NoControlCharacters


class TextIntakeMixin:
    """Every text field refuses control characters (``core.text``); a multi-line one
    (a textarea) allows tab and line breaks. Passwords are checked, never stored or shown,
    and keep whatever characters their owner chose."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and not isinstance(
                field.widget, forms.PasswordInput
            ):
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(NoControlCharacters(multiline=multiline))


class BootstrapMixin(TextIntakeMixin):
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
