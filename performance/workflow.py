"""The appraisal workflow (DOMAIN 3.3): computed → submitted (branch manager) → reviewed
(personal-finance reviewer) → approved (HR) → published → acknowledged, or appealed within 7 days.

Every transition is allowed to one role only, decided by ``restrict`` (rmportal/scoping.py), and
every change of state or score is kept in the appraisal's history with who, when and why.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from performance.models import Appraisal, AppraisalLine
from performance.rules import signals_evaluate
from performance.scoring import grade_for, score_manual, total_score
from rmportal import scoping
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError

APPEAL_DAYS = 7
S = Appraisal.State


@dataclass(frozen=True)
class Transition:
    action: str  # the scope action (Appraisal.scope) the step needs
    states: frozenset[str]  # the states the step leaves from


TRANSITIONS: dict[str, Transition] = {
    "score": Transition("score", frozenset({S.COMPUTED})),
    "submit": Transition("submit", frozenset({S.COMPUTED})),
    "review": Transition("review", frozenset({S.SUBMITTED})),
    "approve": Transition("approve", frozenset({S.REVIEWED})),
    "publish": Transition("publish", frozenset({S.APPROVED})),
    "reopen": Transition("reopen", Appraisal.FROZEN),
    "acknowledge": Transition("respond", frozenset({S.PUBLISHED})),
    "appeal": Transition("respond", frozenset({S.PUBLISHED})),
}
"""The workflow's steps (DOMAIN 3.3); pages and the API offer and check them from here."""

# A period is approved with its branch only when every appraisal of it is reviewed (or beyond).
_NOT_BLOCKING_APPROVAL = Appraisal.FROZEN | {S.REVIEWED}


def appraisal_transitions(user, appraisal: Appraisal, *, lines: Iterable[AppraisalLine] | None = None,
                          now: dt.datetime | None = None) -> dict[str, bool]:
    """The steps ``user`` may take on ``appraisal`` now, step by step. ``lines`` are the
    appraisal's lines when the caller has them (manual scores need a manual indicator).
    The services decide again when a step is taken."""
    now = now or timezone.now()
    state, own = appraisal.state, appraisal.employee.user_id == user.pk
    steps = {step: scoping.may(user, t.action, Appraisal) and state in t.states for step, t in TRANSITIONS.items()}
    if steps["score"]:
        steps["score"] = (any(line.indicator.method == "manual" for line in lines) if lines is not None
                          else appraisal.lines.filter(indicator__method="manual").exists())
    steps["acknowledge"] = steps["acknowledge"] and own
    deadline = appeal_deadline(appraisal)
    steps["appeal"] = steps["appeal"] and own and deadline is not None and now <= deadline
    return steps


def period_approval_waiting(appraisals) -> dict[tuple[int, str], int]:
    """Per (branch id, period) of the given appraisals, how many are not reviewed yet and so
    block approving the period with its branch."""
    waiting: dict[tuple[int, str], int] = {}
    rows = appraisals.exclude(state__in=_NOT_BLOCKING_APPROVAL).order_by().values_list("branch_id", "period")
    for key in rows:
        waiting[key] = waiting.get(key, 0) + 1
    return waiting


def _locked(appraisal: Appraisal, user, action: str) -> Appraisal:
    """The appraisal, locked for update, if ``user`` may ``action`` it; PermissionDenied otherwise."""
    locked = Appraisal.objects.restrict(user, action).select_for_update().filter(pk=appraisal.pk).first()
    if locked is None:
        raise PermissionDenied
    return locked


def _expect(appraisal: Appraisal, step: str) -> None:
    if appraisal.state not in TRANSITIONS[step].states:
        raise ApplicationError(_("This appraisal is %(state)s; that step is not possible now.")
                               % {"state": appraisal.get_state_display()})


def _save(appraisal: Appraisal, by, reason: str, fields: list[str]) -> None:
    appraisal._change_reason = reason
    appraisal._history_user = by
    appraisal.save(update_fields=fields)


def _require_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(_("Say why when sending an appraisal back."))
    return comment


def appraisal_refresh_total(appraisal: Appraisal) -> None:
    """Total, grade and missing inputs from the stored lines (after a manual score changed)."""
    lines = list(appraisal.lines.select_related("indicator"))
    appraisal.total = total_score(line.points for line in lines if line.points is not None)
    appraisal.grade = grade_for(appraisal.total)
    appraisal.missing = [
        {"indicator": line.indicator.code, "name": line.indicator.name,
         "missing": "manual" if line.indicator.method == "manual" else "target"}
        for line in lines if line.points is None
    ]


@transaction.atomic
def appraisal_score_manual(*, appraisal: Appraisal, indicator_code: str, score, by, reason: str = "") -> AppraisalLine:
    """The branch manager enters a manual score, 0 … the indicator's weight (DOMAIN 3.1)."""
    appraisal = _locked(appraisal, by, TRANSITIONS["score"].action)
    _expect(appraisal, "score")
    line = appraisal.lines.select_related("indicator").filter(indicator__code=indicator_code).first()
    if line is None or line.indicator.method != "manual":
        raise ApplicationError(_("%(code)s is not a manual indicator of this appraisal.") % {"code": indicator_code})
    try:
        score = Decimal(str(score))
    except InvalidOperation:
        raise ApplicationError(_("A score is a number."))
    if score != score.quantize(Decimal("0.01")):
        raise ApplicationError(_("A score has at most two decimals."))
    entered = score_manual(line.indicator.weight, score)
    scale = line.weight / line.indicator.weight
    line.manual_score, line.points = entered, entered * scale
    line._change_reason = reason or _("manual score")
    line._history_user = by
    line.save(update_fields=["manual_score", "points"])
    appraisal_refresh_total(appraisal)
    _save(appraisal, by, reason or _("manual score"), ["total", "grade", "missing"])
    return line


@transaction.atomic
def appraisal_submit(*, appraisal: Appraisal, by, comment: str = "") -> Appraisal:
    """Branch manager: only when every target and manual score is there (DOMAIN 3.1)."""
    appraisal = _locked(appraisal, by, TRANSITIONS["submit"].action)
    _expect(appraisal, "submit")
    if appraisal.missing:
        names = ", ".join(f"{m['indicator']} ({_('target') if m['missing'] == 'target' else _('manual score')})"
                          for m in appraisal.missing)
        raise ApplicationError(_("Cannot submit: missing %(names)s.") % {"names": names})
    appraisal.state, appraisal.comment = S.SUBMITTED, comment
    _save(appraisal, by, comment or _("submitted"), ["state", "comment"])
    return appraisal


@transaction.atomic
def appraisal_review(*, appraisal: Appraisal, by, approve: bool, comment: str = "") -> Appraisal:
    """Personal-finance reviewer of the region: passes it on to HR, or returns it to the branch."""
    appraisal = _locked(appraisal, by, TRANSITIONS["review"].action)
    _expect(appraisal, "review")
    if approve:
        appraisal.state = S.REVIEWED
    else:
        comment = _require_comment(comment)
        appraisal.state = S.COMPUTED
    appraisal.comment = comment
    _save(appraisal, by, comment or _("reviewed"), ["state", "comment"])
    return appraisal


@transaction.atomic
def appraisal_approve(*, appraisal: Appraisal, by, approve: bool = True, comment: str = "") -> Appraisal:
    """HR's final approval, or a return to the branch with the reason. Approving the last open
    appraisal of a branch and period computes its bonus (DOMAIN 3.5)."""
    from performance.bonus import bonus_compute

    appraisal = _locked(appraisal, by, TRANSITIONS["approve"].action)
    _expect(appraisal, "approve")
    if approve:
        appraisal.state, appraisal.appealed = S.APPROVED, False
    else:
        comment = _require_comment(comment)
        appraisal.state = S.COMPUTED
    appraisal.comment = comment
    _save(appraisal, by, comment or _("approved"), ["state", "comment", "appealed"])
    if approve:
        bonus_compute(branch=appraisal.branch, period=appraisal.period, by=by)
        signals_evaluate(scheme=appraisal.scheme, period=appraisal.period, employee_ids=[appraisal.employee_id])
        dashboard_data_changed()  # approved grades count towards promotion
    return appraisal


@transaction.atomic
def period_approve(*, branch, period: str, by) -> int:
    """HR approves every reviewed appraisal of a branch and period at once; then the bonus."""
    from performance.bonus import bonus_compute

    appraisals = list(Appraisal.objects.restrict(by, TRANSITIONS["approve"].action).select_for_update()
                      .filter(branch=branch, period=period).order_by("pk"))
    if not appraisals:
        raise PermissionDenied
    waiting = sum(1 for a in appraisals if a.state not in _NOT_BLOCKING_APPROVAL)
    if waiting:
        raise ApplicationError(_("%(n)s appraisals of %(branch)s are not reviewed yet.")
                               % {"n": waiting, "branch": branch.name})
    count = 0
    for appraisal in appraisals:
        if appraisal.state == S.REVIEWED:
            appraisal.state, appraisal.appealed = S.APPROVED, False
            _save(appraisal, by, _("approved with the branch"), ["state", "appealed"])
            count += 1
    bonus_compute(branch=branch, period=period, by=by)
    for scheme in {a.scheme for a in appraisals}:
        signals_evaluate(scheme=scheme, period=period, employee_ids=[a.employee_id for a in appraisals])
    dashboard_data_changed()
    return count


@transaction.atomic
def appraisal_publish(*, appraisal: Appraisal, by) -> Appraisal:
    """HR publishes an approved appraisal: from now on the RM sees it, and may appeal for 7 days."""
    appraisal = _locked(appraisal, by, TRANSITIONS["publish"].action)
    _expect(appraisal, "publish")
    appraisal.state, appraisal.published_at = S.PUBLISHED, timezone.now()
    _save(appraisal, by, _("published"), ["state", "published_at"])
    dashboard_data_changed()
    return appraisal


def appeal_deadline(appraisal: Appraisal) -> dt.datetime | None:
    return appraisal.published_at + dt.timedelta(days=APPEAL_DAYS) if appraisal.published_at else None


def _own(appraisal: Appraisal, by) -> Appraisal:
    appraisal = _locked(appraisal, by, TRANSITIONS["acknowledge"].action)
    if appraisal.employee.user_id != by.pk:
        raise PermissionDenied
    return appraisal


@transaction.atomic
def appraisal_acknowledge(*, appraisal: Appraisal, by) -> Appraisal:
    appraisal = _own(appraisal, by)
    _expect(appraisal, "acknowledge")
    appraisal.state = S.ACKNOWLEDGED
    _save(appraisal, by, _("acknowledged"), ["state"])
    return appraisal


@transaction.atomic
def appraisal_appeal(*, appraisal: Appraisal, by, comment: str) -> Appraisal:
    """The RM appeals within 7 days of publication; the appraisal returns for review (DOMAIN 3.3)."""
    appraisal = _own(appraisal, by)
    _expect(appraisal, "appeal")
    if timezone.now() > appeal_deadline(appraisal):
        raise ApplicationError(_("The 7 days for an appeal ended on %(date)s.")
                               % {"date": timezone.localtime(appeal_deadline(appraisal)).date()})
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(_("Say what the appeal is about."))
    appraisal.state, appraisal.appealed, appraisal.comment = S.SUBMITTED, True, comment
    _save(appraisal, by, _("appeal: %(comment)s") % {"comment": comment}, ["state", "appealed", "comment"])
    dashboard_data_changed()  # the grade no longer counts
    return appraisal


@transaction.atomic
def appraisal_reopen(*, appraisal: Appraisal, by, reason: str) -> Appraisal:
    """HR reopens an approved appraisal, only with a reason; it is computed again from the data."""
    appraisal = _locked(appraisal, by, TRANSITIONS["reopen"].action)
    _expect(appraisal, "reopen")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("An approved appraisal is reopened only with a reason."))
    appraisal.state, appraisal.comment = S.COMPUTED, reason
    _save(appraisal, by, _("reopened: %(reason)s") % {"reason": reason}, ["state", "comment"])
    dashboard_data_changed()  # the grade no longer counts
    return appraisal
