"""Writes on career paths (DOMAIN 4): sequences and levels, career records, level changes,
career interviews and exits.

Every service is keyword-only, runs in one transaction and raises ``ApplicationError`` with a
translated message when a rule is broken; nothing is stored then. Who may call which service is
decided by the pages through ``restrict`` (HR for most, HR and branch managers for commendations).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from careers.models import (CareerGoal, CareerInterview, Certificate, CertificateType, Commendation, Exit,
                            ExitHandover, JobSequence, Level, LevelChange, Training)
from clients import services as client_services
from clients.models import Assignment, Branch, Employee, User
from performance.models import Signal
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError
from rmportal.scoping import employee_of

HANDOVER_LOOKBACK = dt.timedelta(days=30)
"""Handovers made this long before an exit was opened (or before its date) still belong to it."""


def _full_clean(instance, **kwargs) -> None:
    """Model validation as an ApplicationError, so that pages and the API show it the same way."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), extra=getattr(exc, "message_dict", {})) from exc


def _not_in_future(day: dt.date, what: str) -> None:
    if day > timezone.localdate():
        raise ApplicationError(_("The %(what)s cannot be in the future.") % {"what": what})


def _not_before_hire(employee: Employee, day: dt.date, what: str) -> None:
    if employee.hired_on and day < employee.hired_on:
        raise ApplicationError(_("The %(what)s %(day)s is before %(employee)s was hired (%(hired)s).")
                               % {"what": what, "day": day, "employee": employee, "hired": employee.hired_on})


def _active(employee: Employee) -> None:
    if not employee.is_active:
        raise ApplicationError(_("%(employee)s has left the bank (%(on)s).")
                               % {"employee": employee, "on": employee.left_on})


def _locked(employee: Employee) -> Employee:
    return Employee.objects.select_for_update(of=("self",)).select_related("level__sequence", "branch").get(
        pk=employee.pk)


# --- job sequences and levels -----------------------------------------------------------------

@transaction.atomic
def job_sequence_save(*, sequence: JobSequence | None = None, code: str, name: str,
                      interview_interval_months: int, norm_months_at_level: int, norm_book_size: int,
                      by: User) -> JobSequence:
    """Create a job sequence, or change one (DOMAIN 4). The code is what the ``levels`` import
    matches on, so an existing sequence keeps it; the interview interval is at least a month."""
    code = (code or "").strip()
    if sequence is None:
        if JobSequence.objects.filter(code=code).exists():
            raise ApplicationError(_("A job sequence with the code “%(code)s” exists already.") % {"code": code})
        sequence = JobSequence(code=code)
    elif code and code != sequence.code:
        raise ApplicationError(_("The code of a job sequence cannot change; the levels import matches on it."))
    if interview_interval_months < 1:
        raise ApplicationError(_("The interview interval is at least one month."))
    sequence.name = (name or "").strip()
    sequence.interview_interval_months = interview_interval_months
    sequence.norm_months_at_level = norm_months_at_level
    sequence.norm_book_size = norm_book_size
    _full_clean(sequence)
    sequence.save()
    dashboard_data_changed()
    return sequence


@transaction.atomic
def level_save(*, sequence: JobSequence, level: Level | None = None, code: str, name: str, rank: int,
               bonus_coefficient: Decimal, min_months_at_level: int, good_grades_required: int,
               good_grades_window: int, required_certificates: Iterable[CertificateType] = (),
               training_hours_per_year: int, min_book_size: int, by: User) -> Level:
    """Create a level of ``sequence`` or change one, with its bonus coefficient and the
    requirements for promotion out of it (DOMAIN 4). Ranks are unique within the sequence, the
    coefficient is above 0, and no more good grades are asked than the years they are counted in.
    The code stays as it is (the ``levels`` import matches on it)."""
    code = (code or "").strip()
    if level is None:
        if Level.objects.filter(sequence=sequence, code=code).exists():
            raise ApplicationError(_("%(sequence)s has a level with the code “%(code)s” already.")
                                   % {"sequence": sequence, "code": code})
        level = Level(sequence=sequence, code=code)
    else:
        if level.sequence_id != sequence.pk:
            raise ApplicationError(_("The level %(level)s belongs to another job sequence.") % {"level": level})
        if code and code != level.code:
            raise ApplicationError(_("The code of a level cannot change; the levels import matches on it."))
    taken = Level.objects.filter(sequence=sequence, rank=rank).exclude(pk=level.pk).first()
    if taken is not None:
        raise ApplicationError(_("Rank %(rank)s of %(sequence)s is held by %(level)s already.")
                               % {"rank": rank, "sequence": sequence.name, "level": taken.name})
    if bonus_coefficient is None or bonus_coefficient <= 0:
        raise ApplicationError(_("The bonus coefficient must be above 0."))
    if good_grades_required > good_grades_window:
        raise ApplicationError(_("%(required)s good grades cannot be earned within %(window)s years.")
                               % {"required": good_grades_required, "window": good_grades_window})
    level.name = (name or "").strip()
    level.rank = rank
    level.bonus_coefficient = bonus_coefficient
    level.min_months_at_level = min_months_at_level
    level.good_grades_required = good_grades_required
    level.good_grades_window = good_grades_window
    level.training_hours_per_year = training_hours_per_year
    level.min_book_size = min_book_size
    _full_clean(level)
    level.save()
    level.required_certificates.set(list(required_certificates))
    dashboard_data_changed()
    return level


@transaction.atomic
def certificate_type_create(*, code: str, name: str, by: User) -> CertificateType:
    """A certificate a level may require, e.g. AFP, CFP or the banking qualification (DOMAIN 4);
    codes are unique."""
    code = (code or "").strip()
    if CertificateType.objects.filter(code=code).exists():
        raise ApplicationError(_("A certificate with the code “%(code)s” exists already.") % {"code": code})
    certificate_type = CertificateType(code=code, name=(name or "").strip())
    _full_clean(certificate_type)
    certificate_type.save()
    return certificate_type


# --- career record ----------------------------------------------------------------------------

@transaction.atomic
def certificate_add(*, employee: Employee, certificate_type: CertificateType, obtained_on: dt.date,
                    expires_on: dt.date | None = None, number: str = "", by: User) -> Certificate:
    """Record a certificate the employee holds (DOMAIN 4). It is obtained by today, and expires
    (if it does) after it was obtained."""
    _not_in_future(obtained_on, _("date obtained"))
    if expires_on is not None and expires_on <= obtained_on:
        raise ApplicationError(_("The certificate expires (%(expires)s) before it was obtained (%(obtained)s).")
                               % {"expires": expires_on, "obtained": obtained_on})
    certificate = Certificate(employee=employee, certificate_type=certificate_type, obtained_on=obtained_on,
                              expires_on=expires_on, number=(number or "").strip())
    _full_clean(certificate)
    certificate.save()
    dashboard_data_changed()
    return certificate


@transaction.atomic
def training_record(*, employee: Employee, title: str, completed_on: dt.date, hours: Decimal,
                    by: User) -> Training:
    """Record a completed training with its hours (DOMAIN 4): more than 0 hours, completed by
    today and not before the employee was hired."""
    if hours is None or hours <= 0:
        raise ApplicationError(_("A training lasts more than 0 hours."))
    _not_in_future(completed_on, _("completion date"))
    _not_before_hire(employee, completed_on, _("completion date"))
    training = Training(employee=employee, title=(title or "").strip(), completed_on=completed_on, hours=hours)
    _full_clean(training)
    training.save()
    dashboard_data_changed()
    return training


@transaction.atomic
def commendation_record(*, employee: Employee, title: str, awarded_on: dt.date, awarded_by: str = "",
                        by: User) -> Commendation:
    """Record a commendation (表彰, DOMAIN 4), awarded by today and not before the hiring date."""
    _not_in_future(awarded_on, _("award date"))
    _not_before_hire(employee, awarded_on, _("award date"))
    commendation = Commendation(employee=employee, title=(title or "").strip(), awarded_on=awarded_on,
                                awarded_by=(awarded_by or "").strip())
    _full_clean(commendation)
    commendation.save()
    dashboard_data_changed()
    return commendation


@transaction.atomic
def career_goal_set(*, employee: Employee, target_level: Level, target_date: dt.date, actions: str = "",
                    by: User) -> CareerGoal:
    """Set a career goal (DOMAIN 4): a level above the current one in the employee's own job
    sequence, to be reached after today."""
    _active(employee)
    today = timezone.localdate()
    current = employee.level
    if current is not None:
        if target_level.sequence_id != current.sequence_id:
            raise ApplicationError(
                _("%(level)s belongs to another job sequence than the level of %(employee)s (%(current)s).")
                % {"level": target_level, "employee": employee.name, "current": current})
        if target_level.rank <= current.rank:
            raise ApplicationError(_("The goal %(level)s is not above the current level %(current)s.")
                                   % {"level": target_level.name, "current": current.name})
    if target_date <= today:
        raise ApplicationError(_("The target date of a goal is after today."))
    goal = CareerGoal(employee=employee, target_level=target_level, target_date=target_date,
                      actions=(actions or "").strip(), created_on=today)
    _full_clean(goal)
    goal._history_user = by
    goal.save()
    dashboard_data_changed()
    return goal


@transaction.atomic
def career_goal_update(*, goal: CareerGoal, status: str, by: User) -> CareerGoal:
    """Mark a career goal achieved, revised or dropped, or open again (DOMAIN 4)."""
    if status not in CareerGoal.Status.values:
        raise ApplicationError(_("“%(status)s” is not a status of a goal.") % {"status": status})
    goal = CareerGoal.objects.select_for_update().get(pk=goal.pk)
    goal.status = status
    goal._history_user = by
    goal.save(update_fields=["status"])
    dashboard_data_changed()
    return goal


# --- level changes ----------------------------------------------------------------------------

@transaction.atomic
def level_change_record(*, employee: Employee, kind: str, effective_on: dt.date, to_level: Level | None = None,
                        to_branch: Branch | None = None, note: str = "", by: User) -> LevelChange:
    """Record a hire, promotion, demotion or transfer and make it the employee's level (DOMAIN 4).

    The bonus coefficient of the new level applies from ``effective_on`` (see
    ``careers.selectors.level_coefficients_as_of``). Rules: the employee is active; the date is
    not before the hiring date nor before the last change recorded (history stays in order);
    a hire is the first entry; a promotion goes to a higher rank and a demotion to a lower rank
    of the same sequence; a transfer moves to another branch or another sequence, and an RM who
    still has clients cannot move to another branch. A promotion closes the employee's open
    promotion-candidate signals. Exits are recorded by ``exit_complete``.
    """
    if kind not in (LevelChange.Kind.HIRE, LevelChange.Kind.PROMOTION, LevelChange.Kind.DEMOTION,
                    LevelChange.Kind.TRANSFER):
        raise ApplicationError(_("“%(kind)s” is not a level change that can be recorded here.") % {"kind": kind})
    employee = _locked(employee)
    _active(employee)
    _not_before_hire(employee, effective_on, _("effective date"))
    last = LevelChange.objects.filter(employee=employee).order_by("-effective_on", "-id").first()
    if last is not None and effective_on < last.effective_on:
        raise ApplicationError(_("The effective date %(on)s is before the last change recorded (%(last)s, %(kind)s).")
                               % {"on": effective_on, "last": last.effective_on, "kind": last.get_kind_display()})
    current = employee.level
    target_branch = to_branch or employee.branch
    if kind == LevelChange.Kind.HIRE:
        if last is not None:
            raise ApplicationError(_("The level history of %(employee)s starts already.") % {"employee": employee})
        if to_level is None:
            raise ApplicationError(_("Choose the level at hiring."))
        current = None
    elif kind in (LevelChange.Kind.PROMOTION, LevelChange.Kind.DEMOTION):
        if to_level is None:
            raise ApplicationError(_("Choose the new level."))
        if current is None:
            raise ApplicationError(_("%(employee)s has no level to change from; record the level at hiring "
                                     "or a transfer.") % {"employee": employee})
        if to_level.sequence_id != current.sequence_id:
            raise ApplicationError(_("%(level)s belongs to another job sequence than %(current)s; a move to "
                                     "another sequence is a transfer.") % {"level": to_level, "current": current})
        if kind == LevelChange.Kind.PROMOTION and to_level.rank <= current.rank:
            raise ApplicationError(_("A promotion goes to a higher rank: %(level)s is not above %(current)s.")
                                   % {"level": to_level.name, "current": current.name})
        if kind == LevelChange.Kind.DEMOTION and to_level.rank >= current.rank:
            raise ApplicationError(_("A demotion goes to a lower rank: %(level)s is not below %(current)s.")
                                   % {"level": to_level.name, "current": current.name})
        if to_branch is not None and to_branch.pk != employee.branch_id:
            raise ApplicationError(_("A move to another branch is a transfer."))
    else:
        to_level = to_level or current
        same_sequence = (current is not None and to_level is not None
                         and to_level.sequence_id == current.sequence_id)
        if same_sequence and to_level.pk != current.pk:
            raise ApplicationError(_("Within a job sequence, a level changes by promotion or demotion."))
        if target_branch.pk == employee.branch_id and (to_level is None or same_sequence):
            raise ApplicationError(_("A transfer moves to another branch or another job sequence."))
        if target_branch.pk != employee.branch_id:
            clients = Assignment.objects.filter(rm=employee, ended_on__isnull=True).count()
            if clients:
                raise ApplicationError(ngettext(
                    "%(employee)s is still responsible for %(count)d client of %(branch)s. Hand it over "
                    "before the transfer.",
                    "%(employee)s is still responsible for %(count)d clients of %(branch)s. Hand them over "
                    "before the transfer.", clients) % {"employee": employee, "count": clients,
                                                         "branch": employee.branch})

    change = LevelChange(employee=employee, kind=kind, effective_on=effective_on, from_level=current,
                         to_level=to_level, from_branch=employee.branch if kind != LevelChange.Kind.HIRE else None,
                         to_branch=target_branch, note=(note or "").strip())
    _full_clean(change)
    change._history_user = by
    change.save()
    fields = []
    if employee.level_id != (to_level.pk if to_level else None):
        employee.level = to_level
        fields.append("level")
    if employee.branch_id != target_branch.pk:
        employee.branch = target_branch
        fields.append("branch")
    if fields:
        employee.save(update_fields=fields)
    if kind == LevelChange.Kind.PROMOTION:
        # The appraisal rules' promotion candidacy (DOMAIN 3.4) is answered by the promotion.
        Signal.objects.filter(employee=employee, kind=Signal.Kind.PROMOTION_CANDIDATE,
                              closed_at__isnull=True).update(closed_at=timezone.now())
    dashboard_data_changed()
    return change


# --- career interviews ------------------------------------------------------------------------

@transaction.atomic
def interview_schedule(*, employee: Employee, scheduled_on: dt.date, interviewer: Employee | None = None,
                       by: User) -> CareerInterview:
    """Schedule a career interview (定期面谈, DOMAIN 4) with an active employee, not before the
    hiring date; one scheduled interview at a time. The interviewer defaults to the scheduler."""
    employee = _locked(employee)
    _active(employee)
    _not_before_hire(employee, scheduled_on, _("interview date"))
    pending = CareerInterview.objects.filter(employee=employee, held_on__isnull=True).first()
    if pending is not None:
        raise ApplicationError(_("An interview with %(employee)s is scheduled already for %(on)s.")
                               % {"employee": employee.name, "on": pending.scheduled_on})
    interview = CareerInterview(employee=employee, scheduled_on=scheduled_on,
                                interviewer=interviewer or employee_of(by))
    _full_clean(interview)
    interview.save()
    dashboard_data_changed()
    return interview


@transaction.atomic
def interview_record(*, employee: Employee, interview: CareerInterview | None = None, held_on: dt.date,
                     outcome: str, notes: str = "", revised_goals: str = "", by: User) -> CareerInterview:
    """Record a held career interview with its notes, outcome and revised goals (DOMAIN 4): the
    scheduled ``interview``, or one held without scheduling. Held by today, not before the hiring
    date, with an outcome; an interview is recorded once. The next one falls due
    ``interview_interval_months`` after ``held_on``."""
    if outcome not in CareerInterview.Outcome.values:
        raise ApplicationError(_("Choose the outcome of the interview."))
    _not_in_future(held_on, _("interview date"))
    _not_before_hire(employee, held_on, _("interview date"))
    if interview is None:
        interview = CareerInterview(employee=employee, scheduled_on=held_on)
    else:
        interview = CareerInterview.objects.select_for_update().get(pk=interview.pk)
        if interview.employee_id != employee.pk:
            raise ApplicationError(_("This interview belongs to another employee."))
        if interview.held_on is not None:
            raise ApplicationError(_("This interview was recorded already (held on %(on)s).")
                                   % {"on": interview.held_on})
    interview.held_on = held_on
    interview.outcome = outcome
    interview.notes = (notes or "").strip()
    interview.revised_goals = (revised_goals or "").strip()
    interview.interviewer = interview.interviewer or employee_of(by)
    _full_clean(interview)
    interview.save()
    dashboard_data_changed()
    return interview


# --- exits ------------------------------------------------------------------------------------

@transaction.atomic
def exit_open(*, employee: Employee, exit_on: dt.date, voluntary: bool, reason: str, destination: str = "",
              interview_notes: str = "", by: User) -> Exit:
    """Open the exit (流失/离职) of an active employee (DOMAIN 4): date, voluntary or not, reason
    category, destination, exit-interview notes. The exit is not before the hiring date nor the
    last level change. It stays open while the employee still has clients: they are handed over
    on the handover page, then ``exit_complete`` closes it."""
    if reason not in Exit.Reason.values:
        raise ApplicationError(_("Choose the reason for leaving."))
    employee = _locked(employee)
    _active(employee)
    if Exit.objects.filter(employee=employee).exists():
        raise ApplicationError(_("An exit of %(employee)s is recorded already.") % {"employee": employee})
    _not_before_hire(employee, exit_on, _("exit date"))
    last = LevelChange.objects.filter(employee=employee).order_by("-effective_on").first()
    if last is not None and exit_on < last.effective_on:
        raise ApplicationError(_("The exit date %(on)s is before the last level change (%(last)s).")
                               % {"on": exit_on, "last": last.effective_on})
    exit = Exit(employee=employee, exit_on=exit_on, voluntary=voluntary, reason=reason,
                destination=(destination or "").strip(), interview_notes=(interview_notes or "").strip())
    _full_clean(exit)
    exit._history_user = by
    exit.save()
    dashboard_data_changed()
    return exit


@transaction.atomic
def exit_update(*, exit: Exit, voluntary: bool, reason: str, destination: str = "", interview_notes: str = "",
                by: User) -> Exit:
    """Complete the exit record (DOMAIN 4): voluntary or not, reason category, destination and
    exit-interview notes; the date and the handover stay as they are."""
    if reason not in Exit.Reason.values:
        raise ApplicationError(_("Choose the reason for leaving."))
    exit = Exit.objects.select_for_update().get(pk=exit.pk)
    exit.voluntary, exit.reason = voluntary, reason
    exit.destination = (destination or "").strip()
    exit.interview_notes = (interview_notes or "").strip()
    _full_clean(exit)
    exit._history_user = by
    exit.save(update_fields=["voluntary", "reason", "destination", "interview_notes"])
    dashboard_data_changed()
    return exit


def exit_handover_since(exit: Exit) -> dt.date:
    """The first day whose handovers belong to ``exit``: 30 days before it was opened or before
    its date, whichever is earlier (a branch often starts moving the book before HR opens the exit)."""
    first = exit.history.order_by("history_date").values_list("history_date", flat=True).first()
    opened = timezone.localdate(first) if first else exit.exit_on
    return min(opened, exit.exit_on) - HANDOVER_LOOKBACK


@transaction.atomic
def exit_complete(*, exit: Exit, by: User) -> Exit:
    """Complete an exit (DOMAIN 2 handover, DOMAIN 4).

    Refused while the employee is still responsible for a client, and before the exit date
    (unless the handover page has recorded the departure already).
    Records which client went to whom (an ExitHandover per client whose assignment left the
    employee for one with the reason ``exit_handover`` since ``exit_handover_since``), marks the
    employee as left through ``clients.services.employee_mark_left`` and writes the ``exit``
    level change.
    """
    exit = Exit.objects.select_for_update().select_related("employee").get(pk=exit.pk)
    if exit.status == Exit.Status.COMPLETED:
        raise ApplicationError(_("This exit was completed already."))
    employee = _locked(exit.employee)
    clients = Assignment.objects.filter(rm=employee, ended_on__isnull=True).count()
    if clients:
        raise ApplicationError(ngettext(
            "%(employee)s is still responsible for %(count)d client. Hand it over on the handover page "
            "before completing the exit.",
            "%(employee)s is still responsible for %(count)d clients. Hand them over on the handover page "
            "before completing the exit.", clients) % {"employee": employee, "count": clients})
    if employee.is_active and exit.exit_on > timezone.localdate():
        raise ApplicationError(_("The exit takes effect on %(on)s; complete it on or after that day.")
                               % {"on": exit.exit_on})

    since = exit_handover_since(exit)
    left = {client_id: ended_on for client_id, ended_on in Assignment.objects.filter(
        rm=employee, ended_on__gte=since).order_by("ended_on").values_list("client_id", "ended_on")}
    taken = {}
    for client_id, rm_id, started_on in (Assignment.objects.filter(
            client_id__in=list(left), reason=Assignment.Reason.EXIT_HANDOVER, started_on__gte=since)
            .exclude(rm=employee).order_by("started_on", "id").values_list("client_id", "rm_id", "started_on")):
        # The assignment that took over on the day the employee's ended.
        if started_on == left[client_id]:
            taken[client_id] = (rm_id, started_on)
    ExitHandover.objects.bulk_create([
        ExitHandover(exit=exit, client_id=client_id, to_rm_id=rm_id, handed_over_on=on)
        for client_id, (rm_id, on) in sorted(taken.items())], ignore_conflicts=True)

    level = employee.level
    # The handover page may have recorded the departure already; it is not recorded twice.
    if employee.is_active:
        client_services.employee_mark_left(employee=employee, on=exit.exit_on, by=by)
    change = LevelChange(employee=employee, kind=LevelChange.Kind.EXIT, effective_on=exit.exit_on,
                         from_level=level, to_level=None, from_branch=employee.branch, to_branch=None)
    change._history_user = by
    change.save()
    exit.status = Exit.Status.COMPLETED
    exit.completed_at = timezone.now()
    exit._history_user = by
    exit.save(update_fields=["status", "completed_at"])
    dashboard_data_changed()
    return exit
