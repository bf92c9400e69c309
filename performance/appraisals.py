"""Computing appraisals for a period (DOMAIN 3.1–3.3): metrics → points → total → grade.

A run covers every active RM of every active branch scheme (or one branch). It is idempotent:
one appraisal per RM, scheme and period, recomputed in place; approved ones are never touched.
Each group of RMs costs a fixed number of queries whatever its size.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import Employee, Role
from core.money import round_half_up
from performance.metrics import rm_metrics
from performance.models import Appraisal, AppraisalLine, Indicator, Scheme, Target
from performance.periods import Period
from performance.scoring import (MissingTarget, grade_for, rescale, score_bands, score_inverse, score_manual,
                                 score_ratio, total_score)
from rmportal.celery import job_lock
from rmportal.errors import ApplicationError
from rmportal.history import CHANGED, CREATED, history_snapshot

CHUNK = 500
EMPTY_METRICS: dict = {}
LINE_FIELDS = ("weight", "actual", "target", "manual_score", "points")


@dataclass
class RunResult:
    period: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    frozen: int = 0
    schemes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.frozen


def _line_values(indicator: Indicator, scale: Decimal, actual, target, manual_score):
    """The effective weight and points of one indicator, and what is missing for it."""
    weight = indicator.weight * scale
    if indicator.method == "manual":
        entered = score_manual(indicator.weight, manual_score)
        return weight, None, None, (None if entered is None else entered * scale), "manual"
    try:
        if indicator.method == "ratio":
            points = score_ratio(weight, actual, target, indicator.cap)
        elif indicator.method == "inverse":
            points = score_inverse(weight, actual, target, indicator.ceiling)
        else:
            points = score_bands(weight, actual, indicator.band_table)
    except MissingTarget:
        return weight, actual, target, None, "target"
    return weight, actual, target, points, None


def _compute_group(group: list[tuple[Employee, Scheme, list[Indicator]]], period: Period, metrics: dict,
                   result: RunResult, reason: str, now) -> None:
    """Scores one chunk of RMs from their metrics and writes what changed, in bulk, with history."""
    rm_ids = [rm.pk for rm, _s, _i in group]
    existing = {(a.employee_id, a.scheme_id): a for a in Appraisal.objects.filter(
        period=period.key, employee_id__in=rm_ids)}
    open_group = [(rm, scheme, indicators) for rm, scheme, indicators in group
                  if (rm.pk, scheme.pk) not in existing or existing[rm.pk, scheme.pk].state not in Appraisal.FROZEN]
    result.frozen += len(group) - len(open_group)
    if not open_group:
        return
    open_ids = [rm.pk for rm, _s, _i in open_group]
    indicator_ids = {i.pk for _rm, _s, indicators in open_group for i in indicators}
    overrides = {(t.employee_id, t.indicator_id): t.value for t in Target.objects.filter(
        employee_id__in=open_ids, indicator_id__in=indicator_ids, period=period.key)}
    open_appraisals = [existing[rm.pk, scheme.pk] for rm, scheme, _i in open_group if (rm.pk, scheme.pk) in existing]
    old_lines = {(line.appraisal_id, line.indicator_id): line
                 for line in AppraisalLine.objects.filter(appraisal__in=open_appraisals)}
    lines_by_appraisal: dict[int, dict[int, AppraisalLine]] = {}
    for (appraisal_id, indicator_id), line in old_lines.items():
        lines_by_appraisal.setdefault(appraisal_id, {})[indicator_id] = line

    new_appraisals, changed_appraisals, pending_lines = [], [], []
    for rm, scheme, indicators in open_group:
        scale = rescale(i.weight for i in indicators)
        appraisal = existing.get((rm.pk, scheme.pk))
        lines, missing = [], []
        for indicator in indicators:
            old = old_lines.get((appraisal.pk, indicator.pk)) if appraisal else None
            actual = metrics.get(rm.pk, EMPTY_METRICS).get(indicator.metric) if indicator.metric else None
            target = overrides.get((rm.pk, indicator.pk), indicator.target)
            weight, actual, target, points, gap = _line_values(
                indicator, scale, actual, target, old.manual_score if old else None)
            if gap:
                missing.append({"indicator": indicator.code, "name": indicator.name, "missing": gap})
            lines.append((indicator, old, {"weight": weight, "actual": actual, "target": target,
                                           "manual_score": old.manual_score if old else None,
                                           "points": points}))
        total = total_score(values["points"] for _i, _o, values in lines if values["points"] is not None)
        grade = grade_for(total)
        if appraisal is None:
            appraisal = Appraisal(employee=rm, scheme=scheme, branch_id=rm.branch_id, period=period.key,
                                  period_kind=period.kind, total=total, grade=grade, missing=missing,
                                  computed_at=now)
            new_appraisals.append(appraisal)
        elif (appraisal.total, appraisal.grade, appraisal.missing) != (total, grade, missing):
            appraisal.total, appraisal.grade, appraisal.missing, appraisal.computed_at = total, grade, missing, now
            changed_appraisals.append(appraisal)
        pending_lines.append((appraisal, lines))

    if new_appraisals:
        Appraisal.objects.bulk_create(new_appraisals)
        # Primary keys of bulk-created rows are set on PostgreSQL; fetch them where the backend can't.
        if any(a.pk is None for a in new_appraisals):
            ids = {(a.employee_id, a.scheme_id): a.pk for a in Appraisal.objects.filter(
                period=period.key, employee_id__in=[a.employee_id for a in new_appraisals])}
            for a in new_appraisals:
                a.pk = a.id = ids[a.employee_id, a.scheme_id]
        history_snapshot(Appraisal.objects.filter(pk__in=[a.pk for a in new_appraisals]),
                         history_type=CREATED, reason=reason)
    if changed_appraisals:
        Appraisal.objects.bulk_update(changed_appraisals, ["total", "grade", "missing", "computed_at"])
        history_snapshot(Appraisal.objects.filter(pk__in=[a.pk for a in changed_appraisals]),
                         history_type=CHANGED, reason=reason)
    result.created += len(new_appraisals)
    result.updated += len(changed_appraisals)
    result.unchanged += len(open_group) - len(new_appraisals) - len(changed_appraisals)

    create_lines, update_lines, stale = [], [], []
    for appraisal, lines in pending_lines:
        for indicator, old, values in lines:
            if old is None:
                create_lines.append(AppraisalLine(appraisal_id=appraisal.pk, indicator=indicator, **values))
            elif any(_differs(getattr(old, f), values[f]) for f in LINE_FIELDS):
                for name, value in values.items():
                    setattr(old, name, value)
                update_lines.append(old)
        current = {indicator.pk for indicator, _o, _v in lines}
        stale += [line.pk for indicator_id, line in lines_by_appraisal.get(appraisal.pk, {}).items()
                  if indicator_id not in current]
    if create_lines:
        AppraisalLine.objects.bulk_create(create_lines)
        new_ids = {a.pk for a in new_appraisals}
        history_snapshot(AppraisalLine.objects.filter(appraisal_id__in=new_ids), history_type=CREATED, reason=reason)
        old_appraisal_lines = [line for line in create_lines if line.appraisal_id not in new_ids]
        if old_appraisal_lines:  # new indicators of existing appraisals (a replaced scheme definition)
            history_snapshot(AppraisalLine.objects.filter(pk__in=[line.pk for line in old_appraisal_lines]),
                             history_type=CREATED, reason=reason)
    if update_lines:
        AppraisalLine.objects.bulk_update(update_lines, list(LINE_FIELDS))
        history_snapshot(AppraisalLine.objects.filter(pk__in=[line.pk for line in update_lines]),
                         history_type=CHANGED, reason=reason)
    if stale:  # lines of indicators that no longer apply (a replaced scheme definition)
        AppraisalLine.objects.filter(pk__in=stale).delete()


def _differs(stored, computed) -> bool:
    if stored is None or computed is None:
        return stored is not computed
    # Stored values are rounded to their column's decimal places, half-up as PostgreSQL does.
    places = -stored.as_tuple().exponent if isinstance(stored, Decimal) else 0
    return stored != round_half_up(Decimal(computed), places)


def appraisal_run(*, period: str | Period, branch_code: str | None = None, reason: str = "") -> RunResult:
    """Computes or recomputes the appraisals of every active RM under every active branch scheme
    for ``period`` (DOMAIN 3.3). Appraisals already approved keep their numbers."""
    period = period if isinstance(period, Period) else Period.parse(period)
    reason = reason or _("computed")
    schemes = (Scheme.objects.filter(is_active=True, branch__isnull=False).select_related("branch")
               .prefetch_related("indicators").order_by("code"))
    if branch_code:
        schemes = schemes.filter(branch__code=branch_code)
        if not schemes:
            raise ApplicationError(_("Branch %(code)s has no active scheme.") % {"code": branch_code})
    result = RunResult(period=period.key)
    now = timezone.now()
    applicable = {}
    for scheme in schemes:
        indicators = [i for i in scheme.indicators.all() if i.applies_to(period.kind)]
        if indicators:
            applicable[scheme.branch_id] = (scheme, indicators)
            result.schemes.append(scheme.code)
    # Two runs of the same period and branch (the command, beat, HR's "run now", late data) take
    # turns on one lock per branch, in code order so that overlapping runs never deadlock: the
    # second finds the first's appraisals stored and recomputes them in place.
    with contextlib.ExitStack() as locks:
        for code in sorted(scheme.branch.code for scheme, _indicators in applicable.values()):
            locks.enter_context(job_lock(appraisal_lock_key(period, code)))
        _run(applicable, period, result, reason, now)
    return result


def appraisal_lock_key(period: Period, branch_code: str) -> str:
    """The lock computing one branch's appraisals of a period holds (rmportal.celery.job_lock)."""
    return f"appraisals:{period.key}:{branch_code}"


def _run(applicable: dict, period: Period, result: RunResult, reason: str, now) -> None:
    # The metrics of all RMs whose schemes value clients the same way come from one pass over the
    # period's rows; scoring and writing then go by chunks of RMs.
    methods: dict[int, list[int]] = {}
    for branch_id, (scheme, _indicators) in applicable.items():
        methods.setdefault(scheme.contribution_method, []).append(branch_id)
    for method, branch_ids in sorted(methods.items()):
        metrics = rm_metrics(None, period, contribution_method=method, branch_ids=branch_ids)
        rms = Employee.objects.filter(branch_id__in=branch_ids, role=Role.RM,
                                      status=Employee.Status.ACTIVE).order_by("pk")
        group = []
        for rm in rms.iterator(chunk_size=CHUNK):
            group.append((rm, *applicable[rm.branch_id]))
            if len(group) == CHUNK:
                with transaction.atomic():
                    _compute_group(group, period, metrics, result, reason, now)
                group = []
        if group:
            with transaction.atomic():
                _compute_group(group, period, metrics, result, reason, now)


def appraisals_refresh_for_months(*, months, reason: str = "") -> list[RunResult]:
    """Recomputes the open appraisals whose period covers one of ``months`` or takes it as its
    December base: late business data (DOMAIN 3.3). Approved appraisals are left as they are."""
    keys, base_years = set(), set()
    for month in months:
        keys |= {f"{month:%Y-%m}", f"{month.year}-Q{(month.month - 1) // 3 + 1}", str(month.year)}
        if month.month == 12:
            base_years.add(str(month.year + 1))
    open_appraisals = Appraisal.objects.exclude(state__in=Appraisal.FROZEN)
    periods = set(open_appraisals.filter(period__in=keys).values_list("period", flat=True).distinct())
    for year in base_years:
        periods |= set(open_appraisals.filter(period__startswith=year).values_list("period", flat=True).distinct())
    reason = reason or _("recomputed with late business data")
    return [appraisal_run(period=key, reason=reason) for key in sorted(periods)]
