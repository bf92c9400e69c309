"""What every page form shares: free-text fields take their limit from the model field, and
numbers, dates and codes are refused when typed with digits other than 0-9."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from rmportal.validators import validate_ascii_digits

# Fields whose text Django turns into a number or a date: a full-width digit would pass.
_DIGIT_FIELDS = (forms.DateField, forms.DateTimeField, forms.DecimalField, forms.IntegerField)


def text_field(model, name: str, **kwargs) -> forms.CharField:
    """The form field of the model's free-text field ``name``: its max_length (and the message
    saying so) come from the model, so a page refuses what the model would."""
    return model._meta.get_field(name).formfield(**kwargs)


class AsciiDigitsMixin:
    """Refuses full-width or other non-ASCII digits in numbers, dates and the fields named in
    ``ascii_fields`` (periods, codes), before they are read as values."""

    ascii_fields: tuple[str, ...] = ("period", "code", "branch", "month")

    def _clean_fields(self):
        super()._clean_fields()
        for name, bound in self._bound_items():
            field = bound.field
            if name in self._errors or field.disabled:
                continue
            if not (isinstance(field, _DIGIT_FIELDS) or name in self.ascii_fields):
                continue
            raw = bound.data
            for value in raw if isinstance(raw, (list, tuple)) else [raw]:
                try:
                    validate_ascii_digits(value)
                except ValidationError as exc:
                    self.add_error(name, exc)
                    break
