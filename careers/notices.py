"""E-mails to branch managers and HR (DOMAIN 4, 5): the daily reminders of overdue career
interviews and expiring certificates, and the retention-risk alerts.

Mail goes through Django's e-mail backend, written in the bank's language. The reminders are
sent at most once a day: the day's ScheduledRun records which digests went out, so a second run
that day (a retry, HR starting it by hand, two at once) sends only what is still missing.
"""
from __future__ import annotations

import datetime as dt
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from careers.models import Certificate, RiskAlert
from careers.risk import (ACTION_BY_FACTOR, FACTOR_LABELS, Action, bank_wide_user, book_at_risk, factor_rows,
                          previous_scores, risk_alerts_wake, top_factor)
from careers.selectors import CERTIFICATE_WARNING_DAYS, InterviewDue, interviews_overdue
from clients.models import Employee, Role
from performance.models import ScheduledRun
from performance.runs import (scheduled_run_branch_done, scheduled_run_branch_failed, scheduled_run_finish,
                              scheduled_run_resume, scheduled_run_start)
from rmportal.celery import job_lock

HR_DIGEST = "HR"
"""The key of HR's bank-wide digest among the day's run's branches (the others are branch codes)."""

MAIL_ERRORS = (smtplib.SMTPException, OSError)


def _addresses(queryset) -> list[str]:
    return sorted({email for email in queryset.exclude(email="").values_list("email", flat=True)})


def manager_addresses(branch_ids) -> dict[int, list[str]]:
    """The e-mail addresses of the active branch managers of each branch: one query."""
    found: dict[int, set[str]] = defaultdict(set)
    for branch_id, email in (Employee.objects.filter(role=Role.BRANCH_MANAGER, status=Employee.Status.ACTIVE,
                                                     branch_id__in=list(branch_ids))
                             .exclude(email="").values_list("branch_id", "email")):
        found[branch_id].add(email)
    return {branch_id: sorted(emails) for branch_id, emails in found.items()}


def hr_addresses() -> list[str]:
    return _addresses(Employee.objects.filter(role=Role.HR, status=Employee.Status.ACTIVE))


def _send(subject: str, template: str, context: dict, recipients: list[str]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(template, context)
        send_mail(str(subject), body, settings.DEFAULT_FROM_EMAIL, recipients)


# --- daily reminders -----------------------------------------------------------------------------

@dataclass
class Digest:
    recipients: list[str]
    overdue: list[InterviewDue] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)


def reminder_digests(day: dt.date) -> dict[str, Digest]:
    """What each branch's managers and HR are reminded of on ``day``: the career interviews
    overdue (DOMAIN 4) and the certificates expiring within 90 days. Only digests with something
    to say and someone to say it to. A fixed number of queries."""
    overdue = interviews_overdue(bank_wide_user(), as_of=day)
    certificates = list(Certificate.objects.filter(
        employee__status=Employee.Status.ACTIVE, expires_on__gte=day,
        expires_on__lte=day + dt.timedelta(days=CERTIFICATE_WARNING_DAYS))
        .select_related("employee__branch", "certificate_type").order_by("expires_on", "employee__employee_no"))
    by_branch: dict[int, tuple] = {}
    for row in overdue:
        by_branch.setdefault(row.employee.branch_id, (row.employee.branch, [], []))[1].append(row)
    for certificate in certificates:
        by_branch.setdefault(certificate.employee.branch_id, (certificate.employee.branch, [], []))[2].append(
            certificate)
    managers = manager_addresses(by_branch)
    digests = {}
    for branch_id, (branch, rows, certs) in sorted(by_branch.items(), key=lambda item: item[1][0].code):
        if managers.get(branch_id):
            digests[branch.code] = Digest(recipients=managers[branch_id], overdue=rows, certificates=certs)
    hr = hr_addresses()
    if hr and (overdue or certificates):
        digests[HR_DIGEST] = Digest(recipients=hr, overdue=overdue, certificates=certificates)
    return digests


def reminders_send(*, day: dt.date | None = None, triggered_by_id: int | None = None) -> ScheduledRun | None:
    """Sends the day's reminders once (see the module docstring) and wakes the snoozed
    retention-risk alerts whose day has come. Returns the day's run, None when it was done
    already. A digest that cannot be sent is reported in the run; the others still go."""
    day = day or timezone.localdate()
    key = day.isoformat()
    with job_lock(f"reminders:{key}"):
        run = ScheduledRun.objects.filter(kind=ScheduledRun.Kind.REMINDERS, key=key).order_by("-pk").first()
        if run is not None and run.status == ScheduledRun.Status.SUCCEEDED:
            return None
        risk_alerts_wake(today=day)
        digests = reminder_digests(day)
        if run is None:
            run = scheduled_run_start(kind=ScheduledRun.Kind.REMINDERS, key=key, branch_codes=list(digests),
                                      triggered_by_id=triggered_by_id)
        else:  # an earlier run today failed part-way: send only what it did not
            run = scheduled_run_resume(run_id=run.pk, branch_codes=list(digests))
        for name, digest in digests.items():
            if name in run.branches_done:
                continue
            context = {"day": day, "digest": digest, "bank_wide": name == HR_DIGEST, "branch_code": name}
            try:
                _send(_("Reminders of %(day)s: career interviews and certificates") % {"day": key},
                      "careers/email/reminders.txt", context, digest.recipients)
            except MAIL_ERRORS as exc:
                scheduled_run_branch_failed(run_id=run.pk, branch_code=name, error=exc)
            else:
                scheduled_run_branch_done(run_id=run.pk, branch_code=name)
        return scheduled_run_finish(run_id=run.pk)


# --- retention-risk alerts ----------------------------------------------------------------------

def risk_alert_notices_send(*, alert_ids: list[int] | None = None, branch_code: str | None = None) -> int:
    """E-mails each alert not yet mailed — of ``alert_ids``, or of the RMs of ``branch_code`` — to
    the managers of the RM's branch and to HR (DOMAIN 5), with the factor breakdown, what changed
    since the month before, the suggested action and the book at risk. Each alert is marked as
    mailed once its mail is out, so a retry sends only what is missing. Returns the number of
    e-mails sent. A fixed number of queries, then one mail and one update per alert."""
    pending = RiskAlert.objects.filter(notified_at__isnull=True)
    if alert_ids is not None:
        pending = pending.filter(pk__in=alert_ids)
    if branch_code is not None:
        pending = pending.filter(employee__branch__code=branch_code)
    alerts = list(pending.select_related("employee__branch", "score")
                  .order_by("employee__branch__code", "employee__employee_no"))
    if not alerts:
        return 0
    before = previous_scores(a.score for a in alerts)
    books = book_at_risk(a.employee_id for a in alerts)
    managers = manager_addresses({a.employee.branch_id for a in alerts})
    hr = hr_addresses()
    sent = 0
    for alert in alerts:
        recipients = sorted(set(managers.get(alert.employee.branch_id, [])) | set(hr))
        if not recipients:  # nobody to mail; the alert is on the portal's alert list all the same
            RiskAlert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())
            continue
        previous = before.get((alert.employee_id, alert.score.month))
        top = top_factor(alert.score.factors)
        context = {"alert": alert, "score": alert.score, "previous": previous,
                   "rows": factor_rows(alert.score, previous), "book": books[alert.employee_id],
                   "top_label": FACTOR_LABELS[top],
                   "action_label": Action(alert.suggested_action or ACTION_BY_FACTOR[top]).label}
        _send(_("Retention risk: %(rm)s (%(branch)s), score %(score)s")
              % {"rm": alert.employee.name, "branch": alert.employee.branch.code, "score": alert.score.score},
              "careers/email/risk_alert.txt", context, recipients)
        RiskAlert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())
        sent += 1
    return sent
