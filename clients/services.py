"""Writes on clients, their RMs and their interactions (DOMAIN 2).

Every service is keyword-only, runs in one transaction and raises ``ApplicationError`` with a
translated message when a rule is broken; nothing is stored then.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from clients import selectors
from clients.models import Assignment, Client, Complaint, Employee, Interaction, Role, User
from rmportal.errors import ApplicationError
from rmportal.scoping import employee_of

# Seed articles 3–4 hold service staff to 24 hours for a reported fault. A bank complaint usually
# needs a finding from another department (cards, loans, operations) before the client gets an
# answer, so the portal allows twice that: two calendar days, weekends included, because the
# client's clock does not stop on a Saturday.
COMPLAINT_RESPONSE_TIME = dt.timedelta(hours=48)

BALANCED = "balanced"

HandoverPlan = Sequence[tuple[Client, Employee]]

_SERVED_STATUSES = (Client.Status.ACTIVE, Client.Status.DORMANT)


def _full_clean(instance, **kwargs) -> None:
    """Model validation as an ApplicationError, so that pages and the API show it the same way."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), extra=getattr(exc, "message_dict", {})) from exc


def _check_reason(reason: str) -> None:
    if reason not in Assignment.Reason.values:
        raise ApplicationError(_("“%(reason)s” is not a reason for an assignment.") % {"reason": reason})


def _check_target_rms(*, branch_id: int, rms: Sequence[Employee], leaving: Employee | None = None) -> None:
    """Clients go only to active RMs of their own branch (DOMAIN 1: no cross-branch books)."""
    for rm in rms:
        if leaving is not None and rm.pk == leaving.pk:
            raise ApplicationError(_("%(rm)s cannot take over their own clients.") % {"rm": rm})
        if rm.branch_id != branch_id:
            raise ApplicationError(_("%(rm)s does not work at the client's branch.") % {"rm": rm})
        if not rm.is_active:
            raise ApplicationError(_("%(rm)s has left the bank.") % {"rm": rm})
        if rm.role != Role.RM:
            raise ApplicationError(_("%(rm)s is not a relationship manager.") % {"rm": rm})


@transaction.atomic
def client_reassign(*, client: Client, to_rm: Employee, on: dt.date, reason: str, note: str = "",
                    by: User) -> Assignment:
    """Make ``to_rm`` responsible for ``client`` from ``on`` (DOMAIN 2, 一对一负责制).

    The open assignment ends on ``on`` (end dates are exclusive) and a new one starts that day, so
    the history has no gap and no overlap. ``to_rm`` must be an active RM of the client's branch,
    the client active or dormant, ``on`` not before the start of the open assignment.
    """
    _check_reason(reason)
    if client.status not in _SERVED_STATUSES:
        raise ApplicationError(_("Client %(client)s is lost and cannot be reassigned.") % {"client": client})
    _check_target_rms(branch_id=client.branch_id, rms=[to_rm])
    # The row lock serialises two reassignments of the same client.
    current = (Assignment.objects.select_for_update()
               .filter(client=client, ended_on__isnull=True).first())
    if current is not None:
        if current.rm_id == to_rm.pk:
            raise ApplicationError(_("%(rm)s is already responsible for this client.") % {"rm": to_rm})
        if on < current.started_on:
            raise ApplicationError(
                _("The reassignment date %(on)s is before the current assignment started (%(start)s).")
                % {"on": on, "start": current.started_on})
        current.ended_on = on
        current._history_user = by
        current._change_reason = note or reason
        _full_clean(current)
        current.save(update_fields=["ended_on"])
    else:
        last_end = (Assignment.objects.filter(client=client).order_by("-ended_on")
                    .values_list("ended_on", flat=True).first())
        if last_end is not None and on < last_end:
            raise ApplicationError(
                _("The reassignment date %(on)s is before the last assignment ended (%(end)s).")
                % {"on": on, "end": last_end})
    assignment = Assignment(client=client, rm=to_rm, started_on=on, reason=reason, note=note)
    _full_clean(assignment)
    assignment._history_user = by
    assignment._change_reason = note or reason
    assignment.save()
    return assignment


def book_handover_preview(*, from_rm: Employee, targets: Sequence[Employee],
                          strategy: str | Mapping[Client, Employee] = BALANCED) -> list[tuple[Client, Employee]]:
    """Who would take over which of ``from_rm``'s clients; writes nothing (DOMAIN 2, handover).

    ``balanced``: the clients, largest first (12-month contribution, then AUM), each go to the
    target with the fewest clients so far (its current book counts), ties to the one that has
    received the least contribution so far. Book sizes even out and the large clients are spread.
    A mapping client → RM is an explicit plan; it may cover part of the book.
    Returns (client, RM) pairs ordered by client number.
    """
    targets = list(dict.fromkeys(targets))
    if not targets:
        raise ApplicationError(_("Choose at least one RM to take over the clients."))
    _check_target_rms(branch_id=from_rm.branch_id, rms=targets, leaving=from_rm)
    book = list(selectors.with_client_figures(
        Client.objects.filter(assignments__rm=from_rm, assignments__ended_on__isnull=True),
        month=selectors.latest_month()))

    if isinstance(strategy, Mapping):
        in_book = {client.pk: client for client in book}
        allowed = {rm.pk for rm in targets}
        plan = []
        for client, rm in strategy.items():
            if client.pk not in in_book:
                raise ApplicationError(_("Client %(client)s is not in the book of %(rm)s.")
                                       % {"client": client, "rm": from_rm})
            if rm.pk not in allowed:
                raise ApplicationError(_("%(rm)s is not one of the RMs chosen to take over.") % {"rm": rm})
            plan.append((in_book[client.pk], rm))
        if not plan:
            raise ApplicationError(_("The plan hands over no client."))
        return sorted(plan, key=lambda pair: pair[0].client_no)

    if strategy != BALANCED:
        raise ApplicationError(_("Unknown handover strategy “%(strategy)s”.") % {"strategy": strategy})
    sizes = dict(Assignment.objects.filter(rm__in=targets, ended_on__isnull=True)
                 .values("rm").annotate(n=Count("pk")).values_list("rm", "n"))
    load = {rm.pk: [sizes.get(rm.pk, 0), 0, rm.employee_no] for rm in targets}
    by_pk = {rm.pk: rm for rm in targets}
    plan = []
    for client in sorted(book, key=lambda c: (-c.contribution_12m, -c.aum, c.client_no)):
        rm_pk = min(load, key=lambda pk: load[pk])
        load[rm_pk][0] += 1
        load[rm_pk][1] += client.contribution_12m
        plan.append((client, by_pk[rm_pk]))
    return sorted(plan, key=lambda pair: pair[0].client_no)


@transaction.atomic
def book_handover(*, from_rm: Employee, plan: HandoverPlan, on: dt.date,
                  reason: str = Assignment.Reason.EXIT_HANDOVER, note: str = "", by: User) -> list[Assignment]:
    """Apply a handover plan of ``from_rm``'s clients on ``on`` (DOMAIN 2, handover).

    Set-based: the open assignments are locked and closed in one statement and the new ones
    created in one more, whatever the size of the book. Every client of the plan must still be
    in ``from_rm``'s book, active or dormant, and ``on`` not before its assignment started; every
    RM must be an active RM of the branch other than ``from_rm``.
    """
    _check_reason(reason)
    if not plan:
        raise ApplicationError(_("The plan hands over no client."))
    client_ids = [client.pk for client, _rm in plan]
    if len(set(client_ids)) != len(client_ids):
        raise ApplicationError(_("A client appears twice in the plan."))
    _check_target_rms(branch_id=from_rm.branch_id, rms=list({rm.pk: rm for _c, rm in plan}.values()),
                      leaving=from_rm)

    # The note and reason are the same for every row: validate them once, not per client.
    _full_clean(Assignment(started_on=on, reason=reason, note=note), exclude=["client", "rm"],
                validate_unique=False, validate_constraints=False)
    # Locked in primary-key order (STYLE 10) so that two handovers cannot deadlock.
    current = {a.client_id: a for a in Assignment.objects.select_for_update(of=("self",))
               .select_related("client").filter(rm=from_rm, ended_on__isnull=True, client_id__in=client_ids)
               .order_by("pk")}
    new = []
    for client, rm in plan:
        open_assignment = current.get(client.pk)
        if open_assignment is None:
            raise ApplicationError(_("Client %(client)s is no longer in the book of %(rm)s.")
                                   % {"client": client, "rm": from_rm})
        if open_assignment.client.status not in _SERVED_STATUSES:
            raise ApplicationError(_("Client %(client)s is lost and cannot be reassigned.") % {"client": client})
        if on < open_assignment.started_on:
            raise ApplicationError(
                _("The handover date %(on)s is before %(client)s was assigned (%(start)s).")
                % {"on": on, "client": client, "start": open_assignment.started_on})
        open_assignment.ended_on = on
        new.append(Assignment(client_id=client.pk, rm=rm, started_on=on, reason=reason, note=note))

    change_reason = note or reason
    bulk_update_with_history(list(current.values()), Assignment, ["ended_on"],
                             default_user=by, default_change_reason=change_reason)
    return bulk_create_with_history(new, Assignment, default_user=by, default_change_reason=change_reason)


@transaction.atomic
def employee_mark_left(*, employee: Employee, on: dt.date, by: User) -> Employee:
    """Record that ``employee`` left on ``on`` and close their log-in (DOMAIN 2, handover).

    Refused while they are still responsible for a client: every client is handed over first.
    """
    employee = Employee.objects.select_for_update(of=("self",)).select_related("user").get(pk=employee.pk)
    if not employee.is_active:
        raise ApplicationError(_("%(employee)s has already left (%(on)s).")
                               % {"employee": employee, "on": employee.left_on})
    clients = Assignment.objects.filter(rm=employee, ended_on__isnull=True).count()
    if clients:
        raise ApplicationError(
            ngettext("%(employee)s is still responsible for %(count)d client. Hand it over before "
                     "recording the exit.",
                     "%(employee)s is still responsible for %(count)d clients. Hand them over before "
                     "recording the exit.", clients) % {"employee": employee, "count": clients})
    if employee.hired_on and on < employee.hired_on:
        raise ApplicationError(_("The exit date %(on)s is before the hiring date %(hired)s.")
                               % {"on": on, "hired": employee.hired_on})
    employee.status = Employee.Status.LEFT
    employee.left_on = on
    _full_clean(employee, exclude=["user", "level"])
    employee.save(update_fields=["status", "left_on"])
    if employee.user is not None and employee.user.is_active:
        employee.user.is_active = False
        employee.user.save(update_fields=["is_active"])
    return employee


@transaction.atomic
def client_mark_lost(*, client: Client, on: dt.date, reason: str, by: User) -> Client:
    """Record that ``client`` was lost on ``on`` and end its open assignment that day (DOMAIN 2)."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status == Client.Status.LOST:
        raise ApplicationError(_("Client %(client)s was already lost on %(on)s.")
                               % {"client": client, "on": client.lost_on})
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why the client was lost."))
    if client.opened_on and on < client.opened_on:
        raise ApplicationError(_("The loss date %(on)s is before the client joined (%(opened)s).")
                               % {"on": on, "opened": client.opened_on})
    current = Assignment.objects.select_for_update().filter(client=client, ended_on__isnull=True).first()
    if current is not None:
        if on < current.started_on:
            raise ApplicationError(
                _("The loss date %(on)s is before the current assignment started (%(start)s).")
                % {"on": on, "start": current.started_on})
        current.ended_on = on
        current._history_user = by
        current._change_reason = reason
        current.save(update_fields=["ended_on"])
    client.status = Client.Status.LOST
    client.lost_on = on
    client.lost_reason = reason
    _full_clean(client)
    client.save(update_fields=["status", "lost_on", "lost_reason"])
    return client


@transaction.atomic
def interaction_record(*, client: Client, kind: str, on: dt.date, score: int | None = None,
                       channel: str = "", comment: str = "", by: User) -> Interaction:
    """Record a visit, call or call-back (DOMAIN 2). A call-back carries the client's 1–5
    satisfaction score (it feeds the satisfaction indicator, DOMAIN 3.1); other kinds carry none."""
    if kind not in Interaction.Kind.values:
        raise ApplicationError(_("“%(kind)s” is not a kind of interaction.") % {"kind": kind})
    if kind == Interaction.Kind.CALLBACK:
        if score is None or not 1 <= score <= 5:
            raise ApplicationError(_("A call-back needs the client's satisfaction score from 1 to 5."))
    elif score is not None:
        raise ApplicationError(_("Only a call-back has a satisfaction score."))
    if on > timezone.localdate():
        raise ApplicationError(_("An interaction cannot be recorded for a future date."))
    interaction = Interaction(client=client, employee=employee_of(by), kind=kind, occurred_on=on,
                              score=score, channel=channel.strip(), comment=comment.strip())
    _full_clean(interaction)
    interaction.save()
    return interaction


@transaction.atomic
def complaint_open(*, client: Client, subject: str, description: str = "", opened_at: dt.datetime,
                   by: User) -> Complaint:
    """Open a complaint, due ``COMPLAINT_RESPONSE_TIME`` after it was received (DOMAIN 2). It is
    filed against the client's current RM so that complaints count in that RM's work pressure."""
    subject = (subject or "").strip()
    if not subject:
        raise ApplicationError(_("A complaint needs a subject."))
    if opened_at > timezone.now():
        raise ApplicationError(_("A complaint cannot be received in the future."))
    rm_id = (Assignment.objects.filter(client=client, ended_on__isnull=True)
             .values_list("rm_id", flat=True).first())
    complaint = Complaint(client=client, rm_id=rm_id, subject=subject, description=description.strip(),
                          opened_at=opened_at, due_at=opened_at + COMPLAINT_RESPONSE_TIME)
    _full_clean(complaint)
    complaint.save()
    return complaint


@transaction.atomic
def complaint_resolve(*, complaint: Complaint, resolved_at: dt.datetime, resolution: str,
                      by: User) -> Complaint:
    """Close a complaint with what was done; it cannot be resolved before it was received, and
    its response time (resolved − opened) is kept for the service indicators (DOMAIN 2)."""
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.resolved_at is not None:
        raise ApplicationError(_("This complaint was already resolved on %(at)s.")
                               % {"at": timezone.localtime(complaint.resolved_at).strftime("%Y-%m-%d %H:%M")})
    resolution = (resolution or "").strip()
    if not resolution:
        raise ApplicationError(_("Describe how the complaint was resolved."))
    if resolved_at < complaint.opened_at:
        raise ApplicationError(_("A complaint cannot be resolved before it was received."))
    if resolved_at > timezone.now():
        raise ApplicationError(_("A complaint cannot be resolved in the future."))
    complaint.resolved_at = resolved_at
    complaint.resolution = resolution
    _full_clean(complaint)
    complaint.save(update_fields=["resolved_at", "resolution"])
    return complaint
