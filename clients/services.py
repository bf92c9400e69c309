"""Writes on clients, their RMs and their interactions (DOMAIN 2).

Every service is keyword-only, runs in one transaction and raises ``ApplicationError`` with a
translated message when a rule is broken; nothing is stored then.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from clients import selectors, statements
from clients.books import book_months_refresh_since
from clients.models import (Assignment, Client, Complaint, Employee, FinancialStatement, Interaction, Role,
                            StatementEntry, StatementFlag, User)
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError
from rmportal.history import DELETED, history_snapshot
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
    the client active or dormant, ``on`` not before the start of the open assignment. A back-dated
    move rebuilds the books of the months from ``on`` on.
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
    book_months_refresh_since(since=on, branch_ids=[client.branch_id])
    dashboard_data_changed()
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
    RM must be an active RM of the branch other than ``from_rm``. A back-dated handover rebuilds the
    books of the months from ``on`` on.
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
    created = bulk_create_with_history(new, Assignment, default_user=by, default_change_reason=change_reason)
    book_months_refresh_since(since=on, branch_ids={a.client.branch_id for a in current.values()})
    dashboard_data_changed()
    return created


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
    dashboard_data_changed()
    return employee


@transaction.atomic
def client_mark_lost(*, client: Client, on: dt.date, reason: str, by: User) -> Client:
    """Record that ``client`` was lost on ``on`` and end its open assignment that day (DOMAIN 2);
    a back-dated loss rebuilds the books of the months from ``on`` on."""
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
    if current is not None:
        book_months_refresh_since(since=on, branch_ids=[client.branch_id])
    dashboard_data_changed()
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


# --- financial statements of credit clients (DOMAIN 2.3) ----------------------------------------

class StatementInput(NamedTuple):
    """One client-period's statement as entered: line code → amount (lines left out: not reported)."""

    client: Client
    period: str
    amounts: Mapping[str, Decimal]


@dataclass
class StatementsStored:
    created: int = 0
    updated: int = 0
    lines: int = 0
    lines_removed: int = 0
    checks: FlagsChecked | None = None
    # (client id, period) → {"created"|"updated"|"unchanged": lines}, when lines are merged.
    line_counts: dict = field(default_factory=dict)


@dataclass
class FlagsChecked:
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    open: int = 0


def statement_problems(item: StatementInput, *, today: dt.date) -> dict[str, str]:
    """What is wrong with one statement as entered, by line code ("" for the statement as a
    whole); the same rules as the import's (DOMAIN 2.3, 6)."""
    problems = {}
    if item.client.client_type != Client.Type.CORPORATE:
        problems[""] = _("%(client)s is not a corporate client; statements are kept for corporate credit "
                         "clients only.") % {"client": item.client}
    try:
        period = statements.StatementPeriod.parse(item.period)
    except ValueError as exc:
        problems["period"] = str(exc)
    else:
        if period.end > today:
            problems["period"] = _("%(period)s has not ended yet.") % {"period": period}
    for line, amount in item.amounts.items():
        problem = statements.line_problem(line, amount)
        if problem:
            problems[line] = problem
    return problems


@transaction.atomic
def statements_replace(*, items: Sequence[StatementInput], by: User | None,
                       now: dt.datetime | None = None, merge_lines: bool = False) -> StatementsStored:
    """Store credit clients' statements, each replacing the client-period's earlier lines, then
    run the checks on every statement of the clients concerned (DOMAIN 2.3). With
    ``merge_lines`` (imports, DOMAIN 6) the lines are upserted instead: a line given is created or
    updated, the statement's other lines are left alone.

    Set-based: one query finds the statements already there, one deletes their lines, bulk
    inserts write the rest. Refuses the whole batch (``ApplicationError``, problems by line in
    ``extra["problems"]``) when a client is not corporate, a period is malformed or not over, a
    line is unknown or negative where it may not be, or a client-period comes twice.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    seen, problems = set(), {}
    for item in items:
        found = statement_problems(item, today=today)
        period = item.period if "period" in found else statements.StatementPeriod.parse(item.period).key
        key = (item.client.pk, period)
        if key in seen:
            found[""] = _("The statement of %(client)s for %(period)s comes twice.") % {
                "client": item.client, "period": item.period}
        seen.add(key)
        problems.update(found)
    if problems:
        raise ApplicationError(" ".join(dict.fromkeys(problems.values())), extra={"problems": problems})
    if not items:
        return StatementsStored(checks=FlagsChecked())
    # Periods as the chart spells them ("2025-q3" → "2025-Q3"), so that lookups find them.
    items = [StatementInput(item.client, statements.StatementPeriod.parse(item.period).key, item.amounts)
             for item in items]

    client_ids = sorted({item.client.pk for item in items})
    existing = {(s.client_id, s.period): s for s in FinancialStatement.objects.select_for_update()
                .filter(client_id__in=client_ids, period__in={item.period for item in items}).order_by("pk")}
    stale_ids, new, kept = [], [], []
    for item in items:
        statement = existing.get((item.client.pk, item.period))
        if statement is None:
            period = statements.StatementPeriod.parse(item.period)
            new.append(FinancialStatement(client=item.client, period=period.key, kind=period.kind,
                                          period_end=period.end, uploaded_by=by, uploaded_at=now))
        else:
            statement.uploaded_by, statement.uploaded_at = by, now
            stale_ids.append(statement.pk)
            kept.append(statement)
    line_counts = {}
    if merge_lines:
        stored = {(e.statement_id, e.line): e for e in StatementEntry.objects.filter(statement_id__in=stale_ids)}
        removed = 0
    else:
        stored = {}
        removed = StatementEntry.objects.filter(statement_id__in=stale_ids).delete()[0] if stale_ids else 0
    FinancialStatement.objects.bulk_update(kept, ["uploaded_by", "uploaded_at"])
    FinancialStatement.objects.bulk_create(new)
    saved = {(s.client_id, s.period): s for s in (*kept, *new)}
    entries, changed = [], []
    for item in items:
        statement = saved[(item.client.pk, item.period)]
        counts = line_counts.setdefault((item.client.pk, item.period), {"created": 0, "updated": 0, "unchanged": 0})
        for line, amount in item.amounts.items():
            entry = stored.get((statement.pk, line))
            if entry is None:
                entries.append(StatementEntry(statement=statement, line=line, amount=amount))
                counts["created"] += 1
            elif entry.amount != amount:
                entry.amount = amount
                changed.append(entry)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    StatementEntry.objects.bulk_update(changed, ["amount"], batch_size=5000)
    StatementEntry.objects.bulk_create(entries, batch_size=5000)
    checks = statement_checks_run(client_ids=client_ids, now=now, by=by)
    return StatementsStored(created=len(new), updated=len(kept), lines=len(entries) + len(changed),
                            lines_removed=removed, checks=checks, line_counts=line_counts)


def statement_save(*, client: Client, period: str, amounts: Mapping[str, Decimal], by: User) -> FinancialStatement:
    """Store one statement entered on the form (see ``statements_replace``)."""
    statements_replace(items=[StatementInput(client, period, amounts)], by=by)
    return FinancialStatement.objects.get(client=client, period=statements.StatementPeriod.parse(period).key)


def _client_statements(client_ids: Sequence[int]) -> tuple[dict, dict]:
    """{client id: {period: {line: amount}}} and {(client id, period): statement id}: two queries."""
    ids, books = {}, defaultdict(dict)
    for pk, client_id, period in FinancialStatement.objects.filter(client_id__in=client_ids).values_list(
            "pk", "client_id", "period"):
        ids[(client_id, period)] = pk
        books[client_id][period] = {}
    by_pk = {pk: key for key, pk in ids.items()}
    for statement_id, line, amount in StatementEntry.objects.filter(
            statement__client_id__in=client_ids).values_list("statement_id", "line", "amount"):
        client_id, period = by_pk[statement_id]
        books[client_id][period][line] = amount
    return books, ids


@transaction.atomic
def statement_checks_run(*, client_ids: Iterable[int], now: dt.datetime | None = None,
                         by: User | None = None) -> FlagsChecked:
    """Run the statement checks (clients/statements.py) on every statement of the clients and
    bring their flags up to date (DOMAIN 2.3): a flag that still trips keeps its status and
    explanation and takes the new figures; one that no longer trips is deleted (its history
    keeps it); a new one opens. Set-based per chunk of clients, flags locked in key order."""
    now = now or timezone.now()
    counts = FlagsChecked()
    for chunk in _chunks(sorted(set(client_ids))):
        books, statement_ids = _client_statements(chunk)
        existing = {(f.statement_id, f.rule, f.subject): f for f in
                    StatementFlag.objects.select_for_update().filter(client_id__in=chunk).order_by("pk")}
        new, changed, still = [], [], set()
        for client_id, book in books.items():
            for finding in statements.statement_findings(book):
                key = (statement_ids[(client_id, finding.period)], finding.rule, finding.subject)
                still.add(key)
                flag = existing.get(key)
                if flag is None:
                    new.append(StatementFlag(statement_id=key[0], client_id=client_id, rule=finding.rule,
                                             subject=finding.subject, severity=finding.severity,
                                             figures=finding.figures, raised_at=now))
                elif flag.figures != finding.figures or flag.severity != finding.severity:
                    flag.figures, flag.severity = finding.figures, finding.severity
                    changed.append(flag)
        gone = [flag.pk for key, flag in existing.items() if key not in still]
        if gone:
            stale = StatementFlag.objects.filter(pk__in=gone)
            history_snapshot(stale, history_type=DELETED, user=by,
                             reason=_("No longer raised by the statement checks"))
            stale.delete()
        if changed:
            bulk_update_with_history(changed, StatementFlag, ["figures", "severity"], default_user=by,
                                     default_change_reason=_("Figures updated by the statement checks"))
        if new:
            bulk_create_with_history(new, StatementFlag, default_user=by,
                                     default_change_reason=_("Raised by the statement checks"))
        counts.raised += len(new)
        counts.updated += len(changed)
        counts.cleared += len(gone)
    counts.open = StatementFlag.objects.filter(client_id__in=list(set(client_ids)),
                                               status=StatementFlag.Status.OPEN).count()
    return counts


def _chunks(values: Sequence, size: int = 2000) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


EXPLAINED_STATUSES = (StatementFlag.Status.ACCEPTED, StatementFlag.Status.EXPLAINED, StatementFlag.Status.ESCALATED)


@transaction.atomic
def statement_flag_explain(*, flag: StatementFlag, status: str, explanation: str, by: User) -> StatementFlag:
    """Record what was found about a flag (DOMAIN 2.3): accepted, explained or escalated, always
    with a note. The flag's history keeps who changed it, when, and from what to what."""
    if status not in EXPLAINED_STATUSES:
        raise ApplicationError(_("Choose accepted, explained or escalated."))
    explanation = (explanation or "").strip()
    if not explanation:
        raise ApplicationError(_("Write down the explanation or the reason for the decision."))
    flag = StatementFlag.objects.select_for_update().get(pk=flag.pk)
    before = flag.get_status_display()
    flag.status, flag.explanation = status, explanation
    flag.explained_by, flag.explained_at = by, timezone.now()
    flag._history_user = by
    flag._change_reason = _("Status %(before)s → %(after)s") % {"before": before, "after": flag.get_status_display()}
    _full_clean(flag, exclude=["statement", "client", "explained_by"])
    flag.save(update_fields=["status", "explanation", "explained_by", "explained_at"])
    return flag
