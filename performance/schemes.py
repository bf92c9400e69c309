"""Scheme files (DOMAIN 3.1.1): validation, import, and copying a head-office template."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from clients.models import Branch
from performance.metrics import METRICS
from clients.contribution import ContributionMethod
from performance.models import Appraisal, AppraisalLine, Indicator, Scheme
from performance.scoring import Grade, Method
from rmportal.errors import ApplicationError

HUNDRED = Decimal(100)
PERIOD_KINDS = ("month", "quarter", "year")
# A survey indicator measures satisfaction, a churn indicator the churn rate.
SOURCE_METRIC = {Indicator.Source.SURVEY: "satisfaction", Indicator.Source.CHURN: "churn_rate"}


def _decimal(value, where: str, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise ApplicationError(_("%(where)s is missing.") % {"where": where})
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ApplicationError(_("%(where)s is not a number: %(value)s") % {"where": where, "value": value})
    if not number.is_finite():
        raise ApplicationError(_("%(where)s is not a number: %(value)s") % {"where": where, "value": value})
    return number


def _indicator_fields(raw: dict, position: int) -> dict:
    code = str(raw.get("code") or "").strip()
    if not code:
        raise ApplicationError(_("Indicator %(n)s has no code.") % {"n": position + 1})
    where = _("indicator “%(code)s”") % {"code": code}
    category = raw.get("category")
    if category not in Indicator.Category.values:
        raise ApplicationError(_("Unknown category “%(value)s” in %(where)s.") % {"value": category, "where": where})
    source = raw.get("source")
    if source not in Indicator.Source.values:
        raise ApplicationError(_("Unknown source “%(value)s” in %(where)s.") % {"value": source, "where": where})
    method = raw.get("method")
    if method not in Method.values:
        raise ApplicationError(_("Unknown scoring method “%(value)s” in %(where)s.") % {"value": method, "where": where})
    metric = str(raw.get("metric") or SOURCE_METRIC.get(source, "")).strip()
    if source == Indicator.Source.MANUAL:
        if method != Method.MANUAL:
            raise ApplicationError(_("The manual %(where)s must use the manual method.") % {"where": where})
        metric = ""
    else:
        if method == Method.MANUAL:
            raise ApplicationError(_("Only a manual source can use the manual method (%(where)s).") % {"where": where})
        if metric not in METRICS:
            raise ApplicationError(_("Unknown metric “%(value)s” in %(where)s.") % {"value": metric, "where": where})
    weight = _decimal(raw.get("weight"), _("the weight of %(where)s") % {"where": where})
    if weight <= 0:
        raise ApplicationError(_("The weight of %(where)s must be positive.") % {"where": where})
    target = _decimal(raw.get("target"), _("the target of %(where)s") % {"where": where}, required=False)
    cap = _decimal(raw.get("cap"), _("the cap of %(where)s") % {"where": where}, required=False)
    if cap is not None and cap <= 0:
        raise ApplicationError(_("The cap of %(where)s must be positive.") % {"where": where})
    ceiling = _decimal(raw.get("ceiling"), _("the ceiling of %(where)s") % {"where": where},
                       required=method == Method.INVERSE)
    if method == Method.INVERSE and target is not None and ceiling == target:
        raise ApplicationError(_("The ceiling of %(where)s must differ from its target.") % {"where": where})
    bands = []
    if method == Method.BANDS:
        raw_bands = raw.get("bands") or []
        if not isinstance(raw_bands, list) or not raw_bands:
            raise ApplicationError(_("%(where)s needs a table of bands.") % {"where": where})
        for row in raw_bands:
            if not isinstance(row, (list, tuple)) or len(row) != 2:
                raise ApplicationError(_("Each band of %(where)s is [threshold, fraction].") % {"where": where})
            threshold = _decimal(row[0], _("a band threshold of %(where)s") % {"where": where})
            fraction = _decimal(row[1], _("a band fraction of %(where)s") % {"where": where})
            if not 0 <= fraction <= 1:
                raise ApplicationError(_("A band fraction of %(where)s must lie between 0 and 1.") % {"where": where})
            bands.append((threshold, fraction))
        thresholds = [t for t, _f in bands]
        if thresholds != sorted(set(thresholds)):
            raise ApplicationError(_("The band thresholds of %(where)s must rise strictly.") % {"where": where})
    periods = raw.get("periods") or []
    if not periods or any(p not in PERIOD_KINDS for p in periods):
        raise ApplicationError(_("%(where)s must list its periods from month, quarter, year.") % {"where": where})
    return {
        "code": code, "name": str(raw.get("name") or code), "position": position, "category": category,
        "source": source, "metric": metric, "weight": weight, "method": method, "target": target,
        "cap": cap, "ceiling": ceiling, "bands": [[str(t), str(f)] for t, f in bands],
        "applies_month": "month" in periods, "applies_quarter": "quarter" in periods,
        "applies_year": "year" in periods,
    }


def scheme_validate(data: dict) -> tuple[dict, list[dict]]:
    """Checks a scheme definition; returns the scheme's fields and its indicators' fields."""
    if not isinstance(data, dict):
        raise ApplicationError(_("A scheme file holds one JSON object."))
    code = str(data.get("code") or "").strip()
    if not code:
        raise ApplicationError(_("The scheme has no code."))
    branch = None
    if data.get("branch_code"):
        branch = Branch.objects.filter(code=data["branch_code"]).first()
        if branch is None:
            raise ApplicationError(_("Unknown branch “%(code)s”.") % {"code": data["branch_code"]})
    method = data.get("contribution_method", ContributionMethod.REVENUE)
    if method not in ContributionMethod.values:
        raise ApplicationError(_("The contribution method must be 1, 2, 3 or 4."))
    pool_rate = _decimal(data.get("pool_rate", "0.10"), _("the pool rate"))
    if not 0 <= pool_rate < 1:
        raise ApplicationError(_("The pool rate must lie between 0 and 1."))
    fields = {"name": str(data.get("name") or code), "branch": branch, "contribution_method": method,
              "pool_rate": pool_rate}
    coefficients = data.get("grade_coefficients") or {}
    for grade, value in coefficients.items():
        if grade not in Grade.values:
            raise ApplicationError(_("Unknown grade “%(grade)s” in the grade coefficients.") % {"grade": grade})
        number = _decimal(value, _("the coefficient of %(grade)s") % {"grade": grade})
        if number < 0:
            raise ApplicationError(_("Grade coefficients cannot be negative."))
        fields[f"coefficient_{grade}"] = number
    for key in ("warning_consecutive_fails", "exit_review_fails", "exit_review_window_quarters",
                "promotion_excellent_years"):
        if key in (data.get("rules") or {}):
            fields[key] = int(data["rules"][key])
    raw_indicators = data.get("indicators") or []
    if not raw_indicators:
        raise ApplicationError(_("The scheme has no indicators."))
    indicators = [_indicator_fields(raw, i) for i, raw in enumerate(raw_indicators)]
    codes = [i["code"] for i in indicators]
    if len(set(codes)) != len(codes):
        raise ApplicationError(_("Indicator codes must be unique in a scheme."))
    total = sum((i["weight"] for i in indicators), Decimal(0))
    if total != HUNDRED:
        raise ApplicationError(_("The weights add up to %(total)s, not 100.") % {"total": total})
    return {"code": code, **fields}, indicators


@transaction.atomic
def scheme_import(*, data: dict, by=None) -> Scheme:
    """Creates a scheme, or replaces the definition of the scheme with the same code while none of
    its appraisals is approved (DOMAIN 3.1.1). A branch's new scheme becomes its active one."""
    fields, indicators = scheme_validate(data)
    scheme = Scheme.objects.select_for_update().filter(code=fields["code"]).first()
    if scheme is not None:
        if scheme.appraisals.filter(state__in=Appraisal.FROZEN).exists():
            raise ApplicationError(_("Scheme %(code)s has approved appraisals; its definition can no longer be replaced.")
                                   % {"code": scheme.code})
    if fields["branch"] is not None:
        Scheme.objects.filter(branch=fields["branch"], is_active=True).exclude(code=fields["code"]).update(is_active=False)
    scheme, _created = Scheme.objects.update_or_create(code=fields.pop("code"), defaults={**fields, "is_active": True})
    existing = {i.code: i for i in scheme.indicators.all()}
    keep = {i["code"] for i in indicators}
    gone = [i.pk for code, i in existing.items() if code not in keep]
    if gone:
        AppraisalLine.objects.filter(indicator_id__in=gone).delete()
        Indicator.objects.filter(pk__in=gone).delete()
    for values in indicators:
        indicator = existing.get(values["code"]) or Indicator(scheme=scheme)
        for name, value in values.items():
            setattr(indicator, name, value)
        indicator.full_clean(exclude=["scheme"], validate_unique=False)
        indicator.save()
    return scheme


def scheme_import_file(*, path, by=None) -> Scheme:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ApplicationError(_("The scheme file cannot be read: %(error)s") % {"error": exc})
    return scheme_import(data=data, by=by)


@transaction.atomic
def scheme_copy(*, template: Scheme, branch: Branch, code: str, name: str = "", by=None) -> Scheme:
    """Copies a (head-office) scheme to a branch, to be adjusted there; it becomes the branch's active scheme."""
    if Scheme.objects.filter(code=code).exists():
        raise ApplicationError(_("Scheme code %(code)s is taken.") % {"code": code})
    Scheme.objects.filter(branch=branch, is_active=True).update(is_active=False)
    indicators = list(template.indicators.all())
    copy = Scheme.objects.get(pk=template.pk)
    copy.pk = None
    copy.code, copy.name, copy.branch, copy.template, copy.is_active = code, name or template.name, branch, template, True
    copy.save()
    for indicator in indicators:
        indicator.pk = None
        indicator.scheme = copy
    Indicator.objects.bulk_create(indicators)
    return copy
