"""Text stored before its field had a limit: migrations that add a limit report the rows already
over it and keep them whole, so that nothing anyone wrote is cut. Such a row is refused only when
someone edits it (the form then shows the limit)."""
from __future__ import annotations

import logging
from typing import NamedTuple

from django.db.models import Q
from django.db.models.functions import Length

logger = logging.getLogger(__name__)


class OverLimit(NamedTuple):
    model: str
    field: str
    pk: object
    length: int
    limit: int


def text_over_limits(apps, fields: dict[str, dict[str, int]]) -> list[OverLimit]:
    """The rows whose text is longer than its field's limit. ``fields`` maps ``app_label.Model``
    to ``{field name: limit}``; one query per model."""
    found = []
    for label, limits in fields.items():
        model = apps.get_model(label)
        condition = Q()
        for name, limit in limits.items():
            condition |= Q(**{f"_length_{name}__gt": limit})
        rows = (model._default_manager
                .annotate(**{f"_length_{name}": Length(name) for name in limits})
                .filter(condition)
                .values("pk", *(f"_length_{name}" for name in limits)))
        for row in rows:
            for name, limit in limits.items():
                length = row[f"_length_{name}"] or 0
                if length > limit:
                    found.append(OverLimit(label, name, row["pk"], length, limit))
    return found


def text_over_limits_report(fields: dict[str, dict[str, int]]):
    """A RunPython step that logs (and prints, as migrations are read on a terminal) every row
    over its new limit; it changes nothing."""

    def report(apps, schema_editor):
        for over in text_over_limits(apps, fields):
            message = (f"{over.model} #{over.pk}: {over.field} holds {over.length} characters, over the "
                       f"limit of {over.limit}; kept whole")
            logger.warning(message)
            print(f"  {message}")

    return report
