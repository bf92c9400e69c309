"""Serializer fields shared by the API modules."""
import datetime as dt
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rmportal.validators import validate_ascii_digits, validate_month

MONTH_PATTERN = r"^[12][0-9]{3}-(0[1-9]|1[0-2])$"
PERIOD_PATTERN = r"^[12][0-9]{3}(-(0[1-9]|1[0-2])|-Q[1-4])?$"


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-01"})
class MonthField(serializers.Field):
    """A month as ``YYYY-MM`` (DOMAIN 6); stored as the month's first day. Months outside the
    data and full-width digits are refused, as on the pages and in imports."""

    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def __init__(self, **kwargs):
        kwargs["validators"] = [validate_month, *kwargs.get("validators", ())]
        super().__init__(**kwargs)

    def to_representation(self, value: dt.date) -> str:
        return f"{value:%Y-%m}"

    def to_internal_value(self, data) -> dt.date:
        try:
            validate_ascii_digits(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        if not isinstance(data, str) or not re.fullmatch(MONTH_PATTERN, data):
            self.fail("invalid")
        return dt.date(int(data[:4]), int(data[5:7]), 1)
