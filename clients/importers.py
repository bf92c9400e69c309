"""The import kinds of the organisation and client data (DOMAIN 6).

Each kind validates every row first (collecting all errors) and writes only when the file is
clean, set-based: a few lookups for the codes the file names, then bulk writes. The generic part
(reading, header checks, the transaction, the report) lives in ``rmportal.importing``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from careers.models import JobSequence, Level
from clients import books, contribution, selectors, services, statements
from clients.signals import announce_business_data_changed
from clients.models import (
    Assignment,
    Branch,
    Client,
    ContributionParameter,
    Employee,
    FinancialStatement,
    ImportBatch,
    ImportBatchRow,
    Interaction,
    LoanTerm,
    MonthlyBusiness,
    ParameterKey,
    Region,
    Role,
    StatementEntry,
    StatementLine,
    User,
)
from rmportal.importing import (
    CREATED,
    DELETED,
    MAX_ERRORS,
    UNCHANGED,
    UPDATED,
    CellError,
    Column,
    NOT_SPACE,
    RECOMPUTING,
    ChoiceColumn,
    CodeColumn,
    DateColumn,
    DecimalColumn,
    EmailColumn,
    ErrorReport,
    Importer,
    ImportResult,
    IntegerColumn,
    MonthColumn,
    RowPattern,
    Table,
    TextColumn,
    assign_changed,
    batch_created_rows_in_use,
    chunks,
    duplicate_message,
    lookup,
    register_importer,
)
from rmportal.validators import validate_past_date, validate_period

logger = logging.getLogger(__name__)

WRITE_BATCH = 2000
DERIVED_TABLES = frozenset({
    "clients.bookmonth", "clients.clientcontribution", "clients.branchmonthcost", "careers.riskscore",
    "careers.riskalert"})
"""Tables of figures computed from other data: they do not keep an undo from removing the rows
they were computed for (and go with them)."""


UNKNOWN = {
    "branch": gettext_lazy("unknown branch “%(code)s”"),
    "employee": gettext_lazy("unknown employee “%(code)s”"),
    "client": gettext_lazy("unknown client “%(code)s”"),
}


def _unknown(what: str, code) -> str:
    return str(UNKNOWN[what]) % {"code": code}


def _counts_note(label: str, created: int, updated: int) -> str:
    return _("%(label)s: %(created)d created, %(updated)d updated.") % {
        "label": label, "created": created, "updated": updated}


# --- branches ---------------------------------------------------------------------------------

@register_importer
class BranchImporter(Importer):
    """Upserts regions and branches by code. Recorded for undo: a branch or region the import
    created goes again unless it has since got employees, clients or other data."""

    kind = "branches"
    label = gettext_lazy("Regions and branches")
    undoable = True
    undo_restores_first = True  # a branch may have moved to a region the import created
    columns = (
        CodeColumn("branch_code", max_length=20),
        TextColumn("name", max_length=100),
        CodeColumn("region_code", max_length=20),
        TextColumn("region_name", max_length=100),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        branches: dict[str, dict] = {}
        first_row: dict[str, int] = {}
        region_names: dict[str, tuple[int, str]] = {}
        for row, values in self.records(table, report):
            code = values["branch_code"]
            if code in first_row:
                report.add(row, "branch_code", duplicate_message(code, first_row[code]))
                continue
            first_row[code] = row
            named = region_names.setdefault(values["region_code"], (row, values["region_name"]))
            if named[1] != values["region_name"]:
                report.add(row, "region_name", _("region %(code)s is named “%(name)s” in row %(row)d") % {
                    "code": values["region_code"], "name": named[1], "row": named[0]})
            branches[code] = values
        if report:
            return self.result()

        existing_regions = {region.code: region for region in Region.objects.filter(code__in=region_names)}
        new_regions, changed_regions = [], []
        for code, (_row, name) in region_names.items():
            region = existing_regions.get(code)
            if region is None:
                new_regions.append(Region(code=code, name=name))
            elif assign_changed(region, {"name": name}):
                changed_regions.append(region)
        self.record_rows(Region, UPDATED, [region.pk for region in changed_regions])
        Region.objects.bulk_create(new_regions)
        Region.objects.bulk_update(changed_regions, ["name"])
        self.record_rows(Region, CREATED, [region.pk for region in new_regions])
        region_ids = {region.code: region.pk for region in [*existing_regions.values(), *new_regions]}

        existing = {branch.code: branch for branch in Branch.objects.filter(code__in=branches)}
        new, changed = [], []
        for code, values in branches.items():
            attrs = {"name": values["name"], "region_id": region_ids[values["region_code"]]}
            branch = existing.get(code)
            if branch is None:
                new.append(Branch(code=code, **attrs))
            elif assign_changed(branch, attrs):
                changed.append(branch)
        self.record_rows(Branch, UPDATED, [branch.pk for branch in changed])
        Branch.objects.bulk_create(new)
        Branch.objects.bulk_update(changed, ["name", "region"])
        self.record_rows(Branch, CREATED, [branch.pk for branch in new])
        self.tally_keys({code: (code, "") for code in branches}, created=[b.code for b in new],
                        updated=[b.code for b in changed])
        return self.result(
            rows=table.rows_read,
            notes=[_counts_note(_("Regions"), len(new_regions), len(changed_regions))])

    @classmethod
    def undo_problem(cls, *, batch) -> str | None:
        return batch_created_rows_in_use(batch=batch, derived=DERIVED_TABLES)


# --- levels -----------------------------------------------------------------------------------

@register_importer
class LevelImporter(Importer):
    """Upserts job sequences (by code) and their levels (by sequence and level code). Recorded
    for undo: a sequence or level the import created goes again unless it is in use since."""

    kind = "levels"
    label = gettext_lazy("Job sequences and levels")
    undoable = True
    columns = (
        CodeColumn("sequence", max_length=30),
        TextColumn("sequence_name", max_length=100),
        CodeColumn("level", max_length=30),
        TextColumn("level_name", max_length=100),
        IntegerColumn("rank", minimum=1, maximum=32767),
        DecimalColumn("bonus_coefficient", max_digits=6, decimal_places=3, minimum=Decimal("0"),
                      minimum_exclusive=True),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        levels: dict[tuple[str, str], tuple[int, dict]] = {}
        ranks: dict[tuple[str, int], int] = {}
        sequence_names: dict[str, tuple[int, str]] = {}
        for row, values in self.records(table, report):
            key = (values["sequence"], values["level"])
            if key in levels:
                report.add(row, "level", duplicate_message(f"{key[0]} {key[1]}", levels[key][0]))
                continue
            rank_key = (values["sequence"], values["rank"])
            if rank_key in ranks:
                report.add(row, "rank", _("rank %(rank)d of %(sequence)s is given already in row %(row)d") % {
                    "rank": values["rank"], "sequence": values["sequence"], "row": ranks[rank_key]})
                continue
            named = sequence_names.setdefault(values["sequence"], (row, values["sequence_name"]))
            if named[1] != values["sequence_name"]:
                report.add(row, "sequence_name", _("sequence %(code)s is named “%(name)s” in row %(row)d") % {
                    "code": values["sequence"], "name": named[1], "row": named[0]})
                continue
            levels[key] = (row, values)
            ranks[rank_key] = row

        existing_sequences = {s.code: s for s in JobSequence.objects.filter(code__in=sequence_names)}
        existing = {(level.sequence.code, level.code): level for level in
                    Level.objects.filter(sequence__code__in=sequence_names).select_related("sequence")}
        # A rank held by a level the file does not mention cannot be given to another level.
        for (sequence, code), level in existing.items():
            row = ranks.get((sequence, level.rank))
            if row is not None and (sequence, code) not in levels:
                report.add(row, "rank", _("rank %(rank)d of %(sequence)s belongs to level %(level)s") % {
                    "rank": level.rank, "sequence": sequence, "level": code})
        if report:
            return self.result()

        new_sequences, changed_sequences = [], []
        for code, (_row, name) in sequence_names.items():
            sequence = existing_sequences.get(code)
            if sequence is None:
                new_sequences.append(JobSequence(code=code, name=name))
            elif assign_changed(sequence, {"name": name}):
                changed_sequences.append(sequence)
        self.record_rows(JobSequence, UPDATED, [sequence.pk for sequence in changed_sequences])
        JobSequence.objects.bulk_create(new_sequences)
        JobSequence.objects.bulk_update(changed_sequences, ["name"])
        self.record_rows(JobSequence, CREATED, [sequence.pk for sequence in new_sequences])
        sequence_ids = {s.code: s.pk for s in [*existing_sequences.values(), *new_sequences]}

        new, changed, reranked = [], [], []
        for key, (_row, values) in levels.items():
            attrs = {"name": values["level_name"], "rank": values["rank"],
                     "bonus_coefficient": values["bonus_coefficient"]}
            level = existing.get(key)
            if level is None:
                new.append(Level(sequence_id=sequence_ids[key[0]], code=key[1], **attrs))
                continue
            if level.rank != values["rank"]:
                reranked.append(level)
            if assign_changed(level, attrs):
                changed.append(level)
        self.record_rows(Level, UPDATED, [level.pk for level in changed])
        if reranked:
            final = {level.pk: level.rank for level in reranked}
            _levels_park(reranked)
            for level in reranked:
                level.rank = final[level.pk]
        Level.objects.bulk_create(new)
        Level.objects.bulk_update(changed, ["name", "rank", "bonus_coefficient"])
        self.record_rows(Level, CREATED, [level.pk for level in new])
        sequence_codes = {pk: code for code, pk in sequence_ids.items()}
        self.tally_keys({key: ("", "") for key in levels},
                        created=[(sequence_codes[level.sequence_id], level.code) for level in new],
                        updated=[(sequence_codes[level.sequence_id], level.code) for level in changed])
        return self.result(
            rows=table.rows_read,
            notes=[_counts_note(_("Job sequences"), len(new_sequences), len(changed_sequences))])

    @classmethod
    def undo_problem(cls, *, batch) -> str | None:
        return batch_created_rows_in_use(batch=batch, derived=DERIVED_TABLES)

    @classmethod
    def undo_prepare(cls, *, batch) -> None:
        # The undo puts the ranks back in one statement: park the levels changing rank first.
        ranks = {pk: before["rank"] for pk, before in ImportBatchRow.objects.filter(
            batch=batch, model=Level._meta.label_lower, action=UPDATED).values_list("object_pk", "before")}
        _levels_park([level for level in Level.objects.filter(pk__in=list(ranks)).order_by("pk")
                      if level.rank != ranks[level.pk]])


def _levels_park(levels: list[Level]) -> None:
    """Ranks are unique per sequence and checked row by row: moving levels are parked on free
    ranks first, so that two levels may swap places."""
    for offset, level in enumerate(levels):
        level.rank = 32767 - offset
    Level.objects.bulk_update(levels, ["rank"])


# --- employees --------------------------------------------------------------------------------

@register_importer
class EmployeeImporter(Importer):
    """Upserts employees by employee_no; each gets a log-in account named after the employee_no
    with an unusable password until one is set (DOMAIN 6). Recorded for undo: an employee or
    account the import created goes again unless the account has logged in or either has
    since got data of its own (clients, appraisals, an API token …)."""

    kind = "employees"
    label = gettext_lazy("Employees")
    undoable = True
    undo_restores_first = True  # an employee may have been given an account the import created
    columns = (
        CodeColumn("employee_no", max_length=30),
        TextColumn("name", max_length=100),
        CodeColumn("branch_code", max_length=20),
        ChoiceColumn("role", choices=Role.values),
        CodeColumn("sequence", max_length=30, blank=True),
        CodeColumn("level", max_length=30, blank=True),
        DateColumn("hired_on", validators=[validate_past_date]),
        EmailColumn("email", blank=True),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows: dict[str, tuple[int, dict]] = {}
        for row, values in self.records(table, report):
            number = values["employee_no"]
            if number in rows:
                report.add(row, "employee_no", duplicate_message(number, rows[number][0]))
                continue
            if bool(values["sequence"]) != bool(values["level"]):
                column = "level" if values["sequence"] else "sequence"
                report.add(row, column, _("sequence and level are given together or both left blank"))
                continue
            rows[number] = (row, values)

        branches = {b.code: b.pk for b in Branch.objects.filter(
            code__in={values["branch_code"] for _row, values in rows.values()})}
        levels = {(level.sequence.code, level.code): level.pk for level in Level.objects.filter(
            sequence__code__in={values["sequence"] for _row, values in rows.values() if values["sequence"]}
        ).select_related("sequence")}
        employees = {e.employee_no: e for e in lookup(Employee.objects.all(), "employee_no", rows)}
        users = {u.username: u for u in lookup(User.objects.select_related("employee"), "username", rows)}

        planned = []
        for number, (row, values) in rows.items():
            branch_id = branches.get(values["branch_code"])
            if branch_id is None:
                report.add(row, "branch_code", _unknown("branch", values["branch_code"]))
                continue
            level_id = None
            if values["sequence"]:
                level_id = levels.get((values["sequence"], values["level"]))
                if level_id is None:
                    report.add(row, "level", _("unknown level “%(level)s” of sequence “%(sequence)s”") % {
                        "level": values["level"], "sequence": values["sequence"]})
                    continue
            employee = employees.get(number)
            user = users.get(number)
            if user is not None and employee is None and hasattr(user, "employee"):
                report.add(row, "employee_no", _("the user name %(name)s belongs to employee %(other)s") % {
                    "name": number, "other": user.employee.employee_no})
                continue
            planned.append((number, values, branch_id, level_id))
        if report:
            return self.result()

        # Accounts first: employees point at them.
        new_users, changed_users = [], []
        for number, values, _branch_id, _level_id in planned:
            user = users.get(number)
            if user is None:
                user = User(username=number, email=values["email"], password=make_password(None))
                new_users.append(user)
                users[number] = user
            elif assign_changed(user, {"email": values["email"]}):
                changed_users.append(user)
        self.record_rows(User, UPDATED, [user.pk for user in changed_users])
        User.objects.bulk_create(new_users, batch_size=WRITE_BATCH)
        User.objects.bulk_update(changed_users, ["email"], batch_size=WRITE_BATCH)
        self.record_rows(User, CREATED, [user.pk for user in new_users])

        new, changed = [], []
        for number, values, branch_id, level_id in planned:
            attrs = {"name": values["name"], "branch_id": branch_id, "role": values["role"],
                     "level_id": level_id, "hired_on": values["hired_on"], "email": values["email"],
                     "user_id": users[number].pk}
            employee = employees.get(number)
            if employee is None:
                new.append(Employee(employee_no=number, **attrs))
            elif assign_changed(employee, attrs):
                changed.append(employee)
        self.record_rows(Employee, UPDATED, [employee.pk for employee in changed])
        Employee.objects.bulk_create(new, batch_size=WRITE_BATCH)
        Employee.objects.bulk_update(
            changed, ["name", "branch", "role", "level", "hired_on", "email", "user"], batch_size=WRITE_BATCH)
        self.record_rows(Employee, CREATED, [employee.pk for employee in new])
        self.tally_keys({number: (values["branch_code"], "") for number, values, _b, _l in planned},
                        created=[e.employee_no for e in new], updated=[e.employee_no for e in changed])
        return self.result(
            rows=table.rows_read,
            notes=[ngettext("%(count)d log-in account created (no password yet).",
                            "%(count)d log-in accounts created (no password yet).",
                            len(new_users)) % {"count": len(new_users)}])

    @classmethod
    def undo_problem(cls, *, batch) -> str | None:
        created_users = ImportBatchRow.objects.filter(batch=batch, model=User._meta.label_lower, action=CREATED)
        user = (User.objects.filter(pk__in=created_users.values("object_pk"), last_login__isnull=False)
                .order_by("username").first())
        if user is not None:
            return _("The log-in account “%(name)s”, created by this import, has been used to log in since; "
                     "undoing the import would remove it.") % {"name": user.username}
        return batch_created_rows_in_use(batch=batch, derived=DERIVED_TABLES)


# --- clients ----------------------------------------------------------------------------------

@register_importer
class ClientImporter(Importer):
    """Upserts clients by client_no and keeps their assignment history (DOMAIN 2, 6).

    A new client gets an open assignment to rm_employee_no from assigned_on, or else opened_on.
    When an existing client's RM differs, the client moves on assigned_on (today when blank): the
    current assignment ends that day and the new one starts (rebalancing); a move cannot be dated
    before the current assignment's start. A lost client's assignment ends on lost_on. The RM
    taking a client must be an active employee of the client's branch.

    Recorded for undo, assignments included: an undo puts the clients' fields and assignment
    history back, removes the clients it created unless they have since got data of their own
    (monthly business, call-backs …), and rebuilds the books from the earliest day it changed."""

    kind = "clients"
    label = gettext_lazy("Clients and their RMs")
    undoable = True
    columns = (
        TextColumn("client_no", max_length=40, ascii_digits=True),
        TextColumn("name", max_length=200),
        ChoiceColumn("client_type", choices=Client.Type.values),
        ChoiceColumn("segment", choices=Client.Segment.values),
        CodeColumn("branch_code", max_length=20),
        CodeColumn("rm_employee_no", max_length=30),
        DateColumn("opened_on", validators=[validate_past_date]),
        DateColumn("assigned_on", required=False, blank=True, validators=[validate_past_date],
                   help_text=gettext_lazy("date, YYYY-MM-DD; when the client moves to rm_employee_no (default today)")),
        ChoiceColumn("status", choices=Client.Status.values, required=False, blank=True,
                     default=Client.Status.ACTIVE),
        DateColumn("lost_on", required=False, blank=True, validators=[validate_past_date],
                   help_text=gettext_lazy("date, YYYY-MM-DD; required when status is lost")),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows: dict[str, tuple[int, dict]] = {}
        for row, values in self.records(table, report):
            number = values["client_no"]
            if number in rows:
                report.add(row, "client_no", duplicate_message(number, rows[number][0]))
                continue
            lost = values["status"] == Client.Status.LOST
            if lost and values["lost_on"] is None:
                report.add(row, "lost_on", _("required when status is lost"))
                continue
            if not lost and values["lost_on"] is not None:
                report.add(row, "lost_on", _("only a lost client has a lost_on date"))
                continue
            if lost and values["lost_on"] < values["opened_on"]:
                report.add(row, "lost_on", _("before opened_on"))
                continue
            rows[number] = (row, values)

        branches = {b.code: b.pk for b in Branch.objects.filter(
            code__in={values["branch_code"] for _row, values in rows.values()})}
        employees = {e.employee_no: e for e in lookup(
            Employee.objects.select_related("branch"), "employee_no",
            {values["rm_employee_no"] for _row, values in rows.values()})}
        clients = {c.client_no: c for c in lookup(Client.objects.all(), "client_no", rows)}
        open_assignments = {a.client_id: a for a in lookup(
            Assignment.objects.filter(ended_on__isnull=True), "client_id", [c.pk for c in clients.values()])}
        last_ended = {}
        for chunk in chunks(c.pk for c in clients.values() if c.pk not in open_assignments):
            last_ended.update(Assignment.objects.filter(client_id__in=chunk).values("client_id")
                              .annotate(last=Max("ended_on")).values_list("client_id", "last"))

        new_clients: list[tuple[Client, Assignment]] = []
        changed_clients, ended, started = [], [], []
        moved = closed = 0
        for number, (row, values) in rows.items():
            branch_id = branches.get(values["branch_code"])
            if branch_id is None:
                report.add(row, "branch_code", _unknown("branch", values["branch_code"]))
                continue
            rm = employees.get(values["rm_employee_no"])
            if rm is None:
                report.add(row, "rm_employee_no", _unknown("employee", values["rm_employee_no"]))
                continue
            lost_on = values["lost_on"]
            assigned_on = values["assigned_on"]
            attrs = {"name": values["name"], "client_type": values["client_type"],
                     "segment": values["segment"], "branch_id": branch_id, "status": values["status"],
                     "opened_on": values["opened_on"], "lost_on": lost_on}
            client = clients.get(number)
            takes_client = True  # whether rm takes the client now, and so must be able to
            if client is None:
                if assigned_on is not None and assigned_on < values["opened_on"]:
                    report.add(row, "assigned_on", _("before opened_on"))
                    continue
                start = assigned_on or values["opened_on"]
                if lost_on is not None and lost_on < start:
                    report.add(row, "lost_on", _("before the assignment starts (%(date)s)") % {"date": start})
                    continue
                plan = [("new", Assignment(rm=rm, started_on=start, ended_on=lost_on,
                                           reason=Assignment.Reason.ONBOARDING))]
            else:
                current = open_assignments.get(client.pk)
                plan = []
                if current is not None and current.rm_id != rm.pk and (lost_on is None or assigned_on):
                    move_on = assigned_on or self.today
                    if move_on < current.started_on:
                        report.add(row, "assigned_on", _(
                            "the current assignment to %(rm)s started on %(date)s; a move cannot be dated before it"
                        ) % {"rm": _employee_no(employees, current.rm_id), "date": current.started_on})
                        continue
                    if lost_on is not None and lost_on < move_on:
                        report.add(row, "lost_on", _("before the move to the new RM (%(date)s)") % {"date": move_on})
                        continue
                    current.ended_on = move_on
                    plan = [("end", current), ("new", Assignment(
                        client=client, rm=rm, started_on=move_on, ended_on=lost_on,
                        reason=Assignment.Reason.REBALANCING))]
                    moved += 1
                elif current is not None:
                    takes_client = current.rm_id == rm.pk and client.branch_id != branch_id
                    if lost_on is not None:
                        if lost_on < current.started_on:
                            report.add(row, "lost_on", _("before the current assignment started (%(date)s)") % {
                                "date": current.started_on})
                            continue
                        current.ended_on = lost_on
                        plan = [("end", current)]
                        closed += 1
                elif lost_on is None:
                    # A lost (or never assigned) client comes back: a new open assignment.
                    start = assigned_on or self.today
                    previous_end = last_ended.get(client.pk)
                    if previous_end is not None and start < previous_end:
                        report.add(row, "assigned_on", _("before the previous assignment ended (%(date)s)") % {
                            "date": previous_end})
                        continue
                    plan = [("new", Assignment(client=client, rm=rm, started_on=start,
                                               reason=Assignment.Reason.ONBOARDING))]
                else:
                    takes_client = False  # lost before and still lost: the RM does not matter
            if takes_client:
                problem = _rm_problem(rm, branch_id, values["branch_code"])
                if problem:
                    report.add(row, "rm_employee_no", problem)
                    continue
            if client is None:
                new_clients.append((Client(client_no=number, **attrs), plan[0][1]))
                continue
            if not attrs["lost_on"] and client.status == Client.Status.LOST:
                attrs["lost_reason"] = ""
            if assign_changed(client, attrs):
                changed_clients.append(client)
            for action, assignment in plan:
                (ended if action == "end" else started).append(assignment)
        if report:
            return self.result()

        self.record_rows(Client, UPDATED, [client.pk for client in changed_clients])
        Client.objects.bulk_create([client for client, _plan in new_clients], batch_size=WRITE_BATCH)
        self.record_rows(Client, CREATED, [client.pk for client, _plan in new_clients])
        for client, assignment in new_clients:
            assignment.client = client
            started.append(assignment)
        Client.objects.bulk_update(changed_clients, ["name", "client_type", "segment", "branch", "status",
                                                     "opened_on", "lost_on", "lost_reason"],
                                   batch_size=WRITE_BATCH)
        # End first: only one assignment per client may be open at a time.
        history = {"default_user": self.user, "default_change_reason": self.change_reason,
                   "batch_size": WRITE_BATCH}
        if ended:
            self.record_rows(Assignment, UPDATED, [assignment.pk for assignment in ended])
            bulk_update_with_history(ended, Assignment, ["ended_on"], **history)
        if started:
            bulk_create_with_history(started, Assignment, **history)
            self.record_rows(Assignment, CREATED, [assignment.pk for assignment in started])
        self._refresh_books(clients, ended, started)
        self.tally_keys({number: (values["branch_code"], "") for number, (_row, values) in rows.items()},
                        created=[client.client_no for client, _plan in new_clients],
                        updated=[client.client_no for client in changed_clients])
        return self.result(
            rows=table.rows_read,
            notes=[ngettext("%(count)d client moved to another RM.", "%(count)d clients moved to another RM.",
                            moved) % {"count": moved},
                   ngettext("%(count)d assignment closed because the client was lost.",
                            "%(count)d assignments closed because the client was lost.", closed)
                   % {"count": closed}])

    @classmethod
    def undo_problem(cls, *, batch) -> str | None:
        return batch_created_rows_in_use(batch=batch, derived=DERIVED_TABLES)

    @classmethod
    def undo_reach(cls, *, batch) -> tuple[list[str], list[str]]:
        """From the earliest day the batch moved, closed or reopened an existing client's
        assignment to this month, at the clients' branches: the books it changed."""
        changes = _assignment_changes(batch)
        if not changes:
            return [], []
        month, last = min(day for _client, day in changes).replace(day=1), timezone.localdate().replace(day=1)
        months = []
        while month <= last:
            months.append(f"{month:%Y-%m}")
            month = _next_month(month)
        branch_ids = set(Client.objects.filter(pk__in={client for client, _day in changes})
                         .values_list("branch_id", flat=True))
        branch_ids |= {image["branch_id"] for image in ImportBatchRow.objects.filter(
            batch=batch, model=Client._meta.label_lower, action=UPDATED).values_list("before", flat=True)}
        return months, sorted(Branch.objects.filter(pk__in=branch_ids).values_list("code", flat=True))

    @classmethod
    def after_undo(cls, *, batch) -> None:
        # The undo changed who owned the clients from the days the import had changed it: the
        # books are rebuilt from the earliest of them, as after the import (DOMAIN 2).
        undo = ImportBatch.objects.get(undo_of=batch)
        images = list(ImportBatchRow.objects.filter(batch=undo, model=Assignment._meta.label_lower)
                      .exclude(action=CREATED).values_list("action", "before"))
        days = {(image["client_id"], image["ended_on"] if action == UPDATED else image["started_on"])
                for action, image in images}
        branch_of = dict(Client.objects.filter(pk__in={client for client, _day in days})
                         .values_list("pk", "branch_id"))
        days = [dt.date.fromisoformat(day) for client, day in days if client in branch_of and day]
        branch_ids = set(branch_of.values()) | {image["branch_id"] for image in ImportBatchRow.objects.filter(
            batch=undo, model=Client._meta.label_lower, action=UPDATED).values_list("before", flat=True)}
        if days:
            books.book_months_refresh_since(since=min(days), branch_ids=branch_ids)

    @staticmethod
    def _refresh_books(clients: dict[str, Client], ended: list[Assignment], started: list[Assignment]) -> None:
        """A move, loss or return of an existing client changes who owned it from that day on:
        rebuild the books from the earliest such day (new clients have no business yet)."""
        branch_of = {client.pk: client.branch_id for client in clients.values()}
        days = [(branch_of[a.client_id], a.ended_on) for a in ended if a.client_id in branch_of]
        days += [(branch_of[a.client_id], a.started_on) for a in started if a.client_id in branch_of]
        if days:
            books.book_months_refresh_since(since=min(day for _branch, day in days),
                                            branch_ids={branch for branch, _day in days})


def _assignment_changes(batch) -> set[tuple[int, dt.date]]:
    """(client, day) of every assignment of an existing client that ``batch`` ended or started:
    new clients have no business yet."""
    rows = ImportBatchRow.objects.filter(batch=batch, model=Assignment._meta.label_lower)
    created_clients = ImportBatchRow.objects.filter(batch=batch, model=Client._meta.label_lower,
                                                    action=CREATED).values("object_pk")
    changes = set()
    for action, day in ((UPDATED, "ended_on"), (CREATED, "started_on")):
        changes |= set(Assignment.objects.filter(pk__in=rows.filter(action=action).values("object_pk"))
                       .exclude(client_id__in=created_clients).values_list("client_id", day))
    return {(client, day) for client, day in changes if day is not None}


def _employee_no(employees: dict[str, Employee], pk: int) -> str:
    for employee in employees.values():
        if employee.pk == pk:
            return employee.employee_no
    return Employee.objects.filter(pk=pk).values_list("employee_no", flat=True).first() or "?"


def _rm_problem(rm: Employee, branch_id: int, branch_code: str) -> str | None:
    if not rm.is_active:
        return _("employee %(no)s has left the bank") % {"no": rm.employee_no}
    if rm.branch_id != branch_id:
        return _("employee %(no)s works at branch %(their)s, not at %(branch)s") % {
            "no": rm.employee_no, "their": rm.branch.code, "branch": branch_code}
    return None


# --- monthly business -------------------------------------------------------------------------

MONTHLY_AMOUNTS = (
    "deposit_avg_balance", "deposit_interest_expense", "loan_avg_balance", "loan_interest_income",
    "loan_npl_balance", "wm_income", "wm_expense", "wm_sales", "card_deposit_income",
    "card_overdraft_income", "card_fee_income", "card_annual_fee_income", "card_rebate_income",
    "insurance_sales", "fund_sales", "bond_sales",
)
MONTHLY_COUNTS = ("deposit_accounts", "loan_accounts", "wm_tx_count", "card_count")
MONTHLY_ORDER = (  # DOMAIN 2.1's order, for the template and the page
    "client_no", "month", "deposit_avg_balance", "deposit_interest_expense", "deposit_accounts",
    "loan_avg_balance", "loan_interest_income", "loan_accounts", "loan_term", "loan_npl_balance",
    "wm_income", "wm_expense", "wm_tx_count", "wm_sales", "card_count", "card_deposit_income",
    "card_overdraft_income", "card_fee_income", "card_annual_fee_income", "card_rebate_income",
    "insurance_sales", "fund_sales", "bond_sales",
)
PG_INTEGER_MAX = 2_147_483_647
STAGE_TABLE = "import_monthly_stage"
KEYED_TABLE = "import_monthly_keyed"
SORT_WORK_MEM = "256MB"
MONTHLY_IMPORT_LOCK = 0x4D4F4E54  # advisory lock key ("MONT")


class ClientNumberColumn(TextColumn):
    """A client number. Its row pattern also leaves out commas, quotes and line breaks, so that a
    matching row can be handed to COPY as CSV without quoting, and any non-ASCII character, so
    that a full-width digit goes to clean() and is refused there."""

    ascii_digits = True

    @property
    def pattern(self) -> str:
        return f'[^{NOT_SPACE},"\\u0080-\\U0010ffff]{{1,{self.max_length}}}+'


def _stage_type(name: str) -> str:
    if name in MONTHLY_COUNTS:
        return "integer"
    if name in MONTHLY_AMOUNTS:
        return "numeric(18, 2)"
    return "text"


def _client_no_valid(text: str) -> bool:
    """Whether a (stripped) client_no cell is valid, so that an unknown one is worth reporting."""
    try:
        MonthlyImporter.column("client_no").clean(text)
    except CellError:
        return False
    return True


def _copy_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _monthly_column(name: str):
    if name == "client_no":
        return ClientNumberColumn(name, max_length=40)
    if name == "month":
        return MonthColumn(name)
    if name == "loan_term":
        return ChoiceColumn(name, choices=LoanTerm.values, blank=True, default="",
                            help_text=gettext_lazy("one of le6m, 6m_1y, 1y_3y, 3y_5y, gt5y; "
                                            "blank only when loan_avg_balance is 0"))
    if name in MONTHLY_COUNTS:
        return IntegerColumn(name, minimum=0, maximum=PG_INTEGER_MAX, blank=True)
    return DecimalColumn(name, max_digits=18, decimal_places=2, blank=True,
                         minimum=Decimal(0) if name in MonthlyBusiness.NON_NEGATIVE else None)


class _ChunkReader:
    """A file object for COPY … FROM STDIN that pulls text chunks from a generator, so the rows
    stream from the upload to the database without being held."""

    def __init__(self, chunks: Iterator[str]):
        self._chunks = chunks

    def read(self, size: int = -1) -> str:
        for chunk in self._chunks:
            if chunk:
                return chunk
        return ""

    readline = read


class _Mismatch(Exception):
    pass


@register_importer
class MonthlyImporter(Importer):
    """Monthly business data per client (DOMAIN 2.1, 6), upserted by client and month: a row of
    the file creates or updates that client-month, rows the file lacks are left alone. With
    ``replace``, the stored rows of the (branch, month) pairs present in the file that the file
    lacks are deleted too (the branch is the client's). Every column is required in the header;
    blank numbers are 0; balances, counts and sales may not be negative; loan_term may be blank
    only when loan_avg_balance is 0. The contributions (and books) of the branch-months that
    changed are recomputed afterwards. Every row updated or deleted is kept as a before-image in
    the import's batch, every row created by its key, so that the import can be undone.

    Files hold hundreds of thousands of rows, so rows are streamed, never held: each is checked in
    Python with one regular expression for the whole row (cell by cell only when that fails) and,
    on PostgreSQL, copied into a temporary staging table through COPY. One CREATE TABLE … AS joins
    the staged rows to the clients and to the rows stored for them (a keyed table with a unique
    index on client and month); the counts, the before-images and the writes are then a few
    set-based statements over it. When the keyed table holds fewer rows than were staged (unknown
    client numbers) or its index trips (a client and month given twice), the staging table is
    queried set-based for the rows to report. Other databases take a bulk ORM path that keeps the
    file's rows in memory."""

    kind = "monthly"
    label = gettext_lazy("Monthly business data")
    columns = tuple(_monthly_column(name) for name in MONTHLY_ORDER)
    supports_replace = True
    undoable = True

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        months: set[str] = set()
        if _copy_available():
            changed = self._store_by_copy(table, report, months)
        else:
            changed = self._store_by_orm(table, report, months)
        if report:
            return self.result()
        changed_months = sorted({month for month, _branch in changed})
        changed_branches = sorted({branch for _month, branch in changed})
        if changed:
            self.report_stage(RECOMPUTING, table)
            self._recompute(months=changed_months, branch_ids=changed_branches)
        month_names = ", ".join(sorted(months))
        return self.result(
            rows=table.rows_read,
            notes=[(_("Months replaced in the branches of the file: %(months)s.") if self.replace
                    else _("Months updated: %(months)s.")) % {"months": month_names}])

    @classmethod
    def after_undo(cls, *, batch) -> None:
        cls._recompute(months=_months_of(batch), branch_ids=list(
            Branch.objects.filter(code__in=batch.branches).values_list("pk", flat=True)))

    @staticmethod
    def _recompute(*, months: list[dt.date], branch_ids: list[int]) -> None:
        if months:
            contribution.contribution_recompute(months=months, branch_ids=branch_ids or None)
            announce_business_data_changed(months)

    def _checked_rows(self, table: Table, report: ErrorReport, months: set[str]):
        """Yields (row number, cells, joined, values) for every non-blank row, where either
        ``joined`` is the row's cells joined by the unit separator (the row matched the row
        pattern as it stands: every cell canonical), or ``values`` are the cleaned values (the row
        needed a cell-by-cell check and passed), or both are None (the row has errors, reported).
        ``months`` collects the valid rows' months as YYYY-MM."""
        header = table.header
        pattern = RowPattern([self.column(name) for name in header])
        fullmatch = pattern.regex.fullmatch
        separator = pattern.SEPARATOR
        month_at = header.index("month")
        term_at = header.index("loan_term")
        balance_at = header.index("loan_avg_balance")
        is_zero = _ZERO.fullmatch
        add_month = months.add
        for number, cells in table.rows():
            joined = separator.join(cells)
            if fullmatch(joined) is not None:
                if not cells[term_at] and is_zero(cells[balance_at]) is None:
                    report.add(number, "loan_term", _("required when loan_avg_balance is not 0"))
                    yield number, cells, None, None
                    continue
                add_month(cells[month_at][:7])
                yield number, cells, joined, None
                continue
            cells = [cell.strip() for cell in cells]
            values = pattern.diagnose(number, cells, report)
            if values is not None:
                if not values[term_at] and values[balance_at]:
                    report.add(number, "loan_term", _("required when loan_avg_balance is not 0"))
                    values = None
                else:
                    add_month(cells[month_at][:7])
            yield number, cells, None, values

    # PostgreSQL: COPY into a staging table, check and write set-based.

    def _store_by_copy(self, table: Table, report: ErrorReport, months: set[str]) -> set[tuple[dt.date, int]]:
        """Stores the file; returns the (month, branch id) pairs whose rows changed."""
        quote = connection.ops.quote_name
        header = table.header
        columns = ", ".join(quote(name) for name in header)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            # Typed columns: the database parses the numbers while the rows stream in.
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE_TABLE} "
                           f"({', '.join(f'{quote(name)} {_stage_type(name)}' for name in header)}, "
                           f"row_no integer) ON COMMIT DROP")
            started = time.monotonic()
            rows = self._checked_rows(table, report, months)
            cursor.copy_expert(f"COPY {STAGE_TABLE} ({columns}, row_no) FROM STDIN WITH (FORMAT csv)",
                               _ChunkReader(self._copychunks(rows, header)))
            staged = time.monotonic()
            if report:
                self._check_stage(cursor, report)
                return set()
            try:
                with transaction.atomic():
                    # Two imports of the same months would trip over each other's rows.
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MONTHLY_IMPORT_LOCK])
                    # The foreign-key checks at commit lock each client row; locking them all in
                    # one statement first leaves those checks only a lookup.
                    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote(Client._meta.db_table)} c "
                                   f"WHERE c.client_no IN (SELECT client_no FROM {STAGE_TABLE}) FOR KEY SHARE) locked")
                    # Room to sort and hash the rows in memory, for this transaction's statements.
                    cursor.execute("SELECT current_setting('work_mem')")
                    work_mem = cursor.fetchone()[0]
                    cursor.execute("SELECT set_config('work_mem', %s, true)", [SORT_WORK_MEM])
                    cursor.execute(self._keyed_sql())
                    if cursor.rowcount != table.rows_read:
                        raise _Mismatch
                    cursor.execute(f"CREATE UNIQUE INDEX ON {KEYED_TABLE} (client_id, month)")
                    changed = self._write_keyed(cursor)
                    cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
            except (IntegrityError, _Mismatch):
                self._check_stage(cursor, report)
                if not report:  # cannot happen unless the checks above miss a case
                    report.add(None, "", _("the rows could not be stored"))
                return set()
            cursor.execute(f"DROP TABLE {STAGE_TABLE}")
            cursor.execute(f"DROP TABLE {KEYED_TABLE}")
        logger.info("monthly import %s: %d rows checked and staged in %.1fs, stored in %.1fs",
                    self.filename, table.rows_read, staged - started, time.monotonic() - staged)
        return changed

    @staticmethod
    def _keyed_sql() -> str:
        """The staged rows with their client, branch and typed month, the stored row's id
        (``existing_id``) and whether its values differ (``changed``)."""
        quote = connection.ops.quote_name
        names = [quote(MonthlyBusiness._meta.get_field(name).column) for name in MONTHLY_ORDER[2:]]
        values = [f"coalesce(s.{quote(name)}, '')" if name == "loan_term" else f"coalesce(s.{quote(name)}, 0)"
                  for name in MONTHLY_ORDER[2:]]
        typed = ", ".join(f"{value} AS {name}" for value, name in zip(values, names))
        return (f"CREATE TEMPORARY TABLE {KEYED_TABLE} ON COMMIT DROP AS "
                f"SELECT k.*, m.id AS existing_id, "
                f"(m.id IS NOT NULL AND ({', '.join(f'm.{n}' for n in names)}) IS DISTINCT FROM "
                f"({', '.join(f'k.{n}' for n in names)})) AS changed FROM ("
                f"SELECT c.id AS client_id, c.branch_id, (left(s.month, 7) || '-01')::date AS month, {typed} "
                f"FROM {STAGE_TABLE} s JOIN {quote(Client._meta.db_table)} c ON c.client_no = s.client_no) k "
                f"LEFT JOIN {quote(MonthlyBusiness._meta.db_table)} m "
                f"ON m.client_id = k.client_id AND m.month = k.month")

    def _write_keyed(self, cursor) -> set[tuple[dt.date, int]]:
        """Counts, records and writes the keyed rows: updates the changed rows, inserts the new
        ones and, on a replace, deletes the stored rows of the file's branch-months it lacks.
        Returns the (month, branch id) pairs that changed."""
        quote = connection.ops.quote_name
        monthly = quote(MonthlyBusiness._meta.db_table)
        client_table, branch_table = quote(Client._meta.db_table), quote(Branch._meta.db_table)
        batch_rows = quote(ImportBatchRow._meta.db_table)
        label = MonthlyBusiness._meta.label_lower
        names = [quote(MonthlyBusiness._meta.get_field(name).column) for name in MONTHLY_ORDER[2:]]
        codes = dict(Branch.objects.values_list("pk", "code"))
        changed: set[tuple[dt.date, int]] = set()

        cursor.execute(f"SELECT branch_id, month, count(*) FILTER (WHERE existing_id IS NULL), "
                       f"count(*) FILTER (WHERE changed), count(*) FILTER (WHERE existing_id IS NOT NULL "
                       f"AND NOT changed) FROM {KEYED_TABLE} GROUP BY branch_id, month")
        for branch_id, month, created, updated, unchanged in cursor.fetchall():
            key = (codes[branch_id], f"{month:%Y-%m}")
            self.tally(*key, CREATED, created)
            self.tally(*key, UPDATED, updated)
            self.tally(*key, UNCHANGED, unchanged)
            if created or updated:
                changed.add((month, branch_id))

        if self.replace:
            in_file = (f"(c.branch_id, m.month) IN (SELECT DISTINCT branch_id, month FROM {KEYED_TABLE})")
            cursor.execute(f"SELECT c.branch_id, m.month, count(*) FROM {monthly} m "
                           f"JOIN {client_table} c ON c.id = m.client_id WHERE {in_file} GROUP BY 1, 2")
            for branch_id, month, stored in cursor.fetchall():
                self.tally(codes[branch_id], f"{month:%Y-%m}", "stored", stored)
            self.record_rows(MonthlyBusiness, DELETED, pk_sql=(
                f"SELECT m.id FROM {monthly} m JOIN {client_table} c ON c.id = m.client_id WHERE {in_file} "
                f"AND NOT EXISTS (SELECT 1 FROM {KEYED_TABLE} k "
                f"WHERE k.client_id = m.client_id AND k.month = m.month)"))
            cursor.execute(f"SELECT c.branch_id, m.month, count(*) FROM {batch_rows} r "
                           f"JOIN {monthly} m ON m.id = r.object_pk JOIN {client_table} c ON c.id = m.client_id "
                           f"WHERE r.batch_id = %s AND r.model = %s AND r.action = %s GROUP BY 1, 2",
                           [self.batch.pk, label, DELETED])
            for branch_id, month, deleted in cursor.fetchall():
                self.tally(codes[branch_id], f"{month:%Y-%m}", DELETED, deleted)
                changed.add((month, branch_id))
            cursor.execute(f"DELETE FROM {monthly} WHERE id IN (SELECT object_pk FROM {batch_rows} "
                           f"WHERE batch_id = %s AND model = %s AND action = %s)", [self.batch.pk, label, DELETED])

        self.record_rows(MonthlyBusiness, UPDATED, pk_sql=f"SELECT existing_id FROM {KEYED_TABLE} WHERE changed")
        cursor.execute(f"UPDATE {monthly} m SET {', '.join(f'{n} = k.{n}' for n in names)} "
                       f"FROM {KEYED_TABLE} k WHERE m.id = k.existing_id AND k.changed")
        # In key order: the unique index and the foreign-key checks then walk their pages in order.
        cursor.execute(
            f"WITH created AS (INSERT INTO {monthly} (client_id, month, {', '.join(names)}) "
            f"SELECT client_id, month, {', '.join(names)} FROM {KEYED_TABLE} WHERE existing_id IS NULL "
            f"ORDER BY client_id, month RETURNING id) "
            f"INSERT INTO {batch_rows} (batch_id, model, object_pk, action) "
            f"SELECT %s, %s, id, %s FROM created", [self.batch.pk, label, CREATED])
        return changed

    @staticmethod
    def _copychunks(rows, header: list[str]) -> Iterator[str]:
        """CSV text for COPY, in chunks. A row that matched the row pattern is CSV-safe as it
        stands (no cell holds a comma, quote or line break); the others go through csv.writer,
        valid ones as their cleaned values, bad ones with only client_no and month kept for the
        set-based checks."""
        lines: list[str] = []
        append = lines.append
        spill = io.StringIO()
        write = csv.writer(spill, lineterminator="\n").writerow
        client_at = header.index("client_no")
        keep = {client_at, header.index("month")}
        width = len(header)
        for number, cells, joined, values in rows:
            if joined is not None:
                append(f"{joined.replace(RowPattern.SEPARATOR, ',')},{number}\n")
            else:
                if values is not None:
                    out = [_copy_text(value) for value in values]
                else:
                    out = [cells[at] if at in keep else "" for at in range(width)]
                    if not _client_no_valid(out[client_at]):
                        out[client_at] = ""  # reported already; not looked up again
                out.append(number)
                write(out)
                append(spill.getvalue())
                spill.seek(0)
                spill.truncate()
            if len(lines) == WRITE_BATCH:
                yield "".join(lines)
                lines.clear()
        yield "".join(lines)

    @staticmethod
    def _check_stage(cursor, report: ErrorReport) -> None:
        """Unknown client numbers and duplicate (client_no, month) pairs among the staged rows."""
        client_table = connection.ops.quote_name(Client._meta.db_table)
        cursor.execute(
            f"SELECT s.row_no, s.client_no FROM {STAGE_TABLE} s "
            f"WHERE coalesce(s.client_no, '') <> '' AND NOT EXISTS "
            f"(SELECT 1 FROM {client_table} c WHERE c.client_no = s.client_no) "
            f"ORDER BY s.row_no LIMIT %s", [MAX_ERRORS])
        for row_no, client_no in cursor.fetchall():
            report.add(row_no, "client_no", _unknown("client", client_no))
        cursor.execute(
            f"SELECT row_no, client_no, month_key, first_row FROM ("
            f"  SELECT row_no, client_no, left(month, 7) AS month_key,"
            f"         min(row_no) OVER (PARTITION BY client_no, left(month, 7)) AS first_row"
            f"  FROM {STAGE_TABLE} WHERE coalesce(client_no, '') <> '' AND coalesce(month, '') <> ''"
            f") pairs WHERE row_no <> first_row ORDER BY row_no LIMIT %s", [MAX_ERRORS])
        for row_no, client_no, month, first_row in cursor.fetchall():
            report.add(row_no, "month", duplicate_message(f"{client_no} {month}", first_row))
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        cursor.execute(f"DROP TABLE IF EXISTS {KEYED_TABLE}")

    # Any other database: bulk ORM writes in batches.

    def _store_by_orm(self, table: Table, report: ErrorReport, months: set[str]) -> set[tuple[dt.date, int]]:
        header = table.header
        columns = [self.column(name) for name in header]
        client_at, month_at = header.index("client_no"), header.index("month")
        clients = {no: (pk, branch_id) for no, pk, branch_id in
                   Client.objects.values_list("client_no", "id", "branch_id")}
        first_row: dict[tuple[str, str], int] = {}
        wanted: dict[tuple[int, dt.date], dict] = {}
        for number, cells, joined, values in self._checked_rows(table, report, months):
            client_no, month = cells[client_at].strip(), cells[month_at].strip()[:7]
            if (client_no, month) in first_row:
                report.add(number, "month", duplicate_message(f"{client_no} {month}", first_row[(client_no, month)]))
                continue
            first_row[(client_no, month)] = number
            client = clients.get(client_no)
            if client is None and _client_no_valid(client_no):
                report.add(number, "client_no", _unknown("client", client_no))
                continue
            if (joined is None and values is None) or report:
                continue
            if values is None:
                values = [column.clean(cell) for column, cell in zip(columns, cells)]
            values = dict(zip(header, values))
            del values["client_no"]
            first_day = values.pop("month")
            values["loan_term"] = values["loan_term"] or ""
            wanted[(client[0], first_day)] = values
        if report:
            return set()

        codes = dict(Branch.objects.values_list("pk", "code"))
        branch_of = {pk: branch_id for pk, branch_id in clients.values()}
        month_days = {day for _client, day in wanted}
        stored: dict[tuple[int, dt.date], MonthlyBusiness] = {}
        for chunk in chunks({client for client, _day in wanted}):
            for row in MonthlyBusiness.objects.filter(client_id__in=chunk, month__in=month_days):
                stored[(row.client_id, row.month)] = row
        new, changed_rows, changed = [], [], set()
        for (client_id, day), values in wanted.items():
            key = (codes[branch_of[client_id]], f"{day:%Y-%m}")
            row = stored.get((client_id, day))
            if row is None:
                new.append(MonthlyBusiness(client_id=client_id, month=day, **values))
                self.tally(*key, CREATED)
            elif assign_changed(row, values):
                changed_rows.append(row)
                self.tally(*key, UPDATED)
            else:
                self.tally(*key, UNCHANGED)
                continue
            changed.add((day, branch_of[client_id]))

        if self.replace:
            pairs = {(branch_of[client_id], day) for client_id, day in wanted}
            doomed = []
            for row in MonthlyBusiness.objects.filter(
                    month__in=month_days, client__branch_id__in={branch for branch, _day in pairs}
            ).values_list("pk", "client_id", "client__branch_id", "month"):
                pk, client_id, branch_id, day = row
                if (branch_id, day) not in pairs:
                    continue
                key = (codes[branch_id], f"{day:%Y-%m}")
                self.tally(*key, "stored")
                if (client_id, day) not in wanted:
                    doomed.append(pk)
                    self.tally(*key, DELETED)
                    changed.add((day, branch_id))
            self.record_rows(MonthlyBusiness, DELETED, doomed)
            for chunk in chunks(doomed):
                MonthlyBusiness.objects.filter(pk__in=chunk).delete()

        self.record_rows(MonthlyBusiness, UPDATED, [row.pk for row in changed_rows])
        MonthlyBusiness.objects.bulk_update(changed_rows, [name for name in MONTHLY_ORDER[2:]],
                                            batch_size=WRITE_BATCH)
        MonthlyBusiness.objects.bulk_create(new, batch_size=WRITE_BATCH)
        self.record_rows(MonthlyBusiness, CREATED, [row.pk for row in new])
        return changed


def _copy_available() -> bool:
    """COPY … FROM STDIN through psycopg2's ``copy_expert``; other databases and drivers take the
    portable path."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return not is_psycopg3


_ZERO = re.compile(r"-?0*(?:\.0*)?")


# --- contribution parameters ------------------------------------------------------------------

RATE_KEYS = frozenset({
    ParameterKey.TAX_RATE, ParameterKey.FTP_DEPOSIT, ParameterKey.FTP_LOAN_LE6M, ParameterKey.FTP_LOAN_6M_1Y,
    ParameterKey.FTP_LOAN_1Y_3Y, ParameterKey.FTP_LOAN_3Y_5Y, ParameterKey.FTP_LOAN_GT5Y,
    ParameterKey.CAPITAL_RATIO, ParameterKey.COST_OF_CAPITAL,
})
BANK_WIDE = "*"


@register_importer
class ParameterImporter(Importer):
    """Contribution parameters per branch (``*`` = bank-wide) and month (DOMAIN 2.2), upserted by
    branch, month and key; with ``replace`` the parameters of the file's branch-months that it
    lacks are deleted. Then the contributions of the months they change are recomputed: for
    every branch when a bank-wide value changed, else for the branches whose values changed.
    Recorded for undo."""

    kind = "parameters"
    label = gettext_lazy("Contribution parameters")
    supports_replace = True
    undoable = True
    columns = (
        TextColumn("branch_code", max_length=20, help_text=gettext_lazy("branch code, or * for the whole bank")),
        MonthColumn("month"),
        ChoiceColumn("key", choices=ParameterKey.values),
        DecimalColumn("value", max_digits=20, decimal_places=8, minimum=Decimal(0),
                      help_text=gettext_lazy("number, not negative; rates as decimals (0.029)")),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows: dict[tuple[str, dt.date, str], tuple[int, Decimal]] = {}
        for row, values in self.records(table, report):
            key = (values["branch_code"], values["month"], values["key"])
            if key in rows:
                report.add(row, "key", duplicate_message(f"{key[0]} {key[1]:%Y-%m} {key[2]}", rows[key][0]))
                continue
            if values["key"] in RATE_KEYS and values["value"] > 1:
                report.add(row, "value", _("a rate is written as a decimal, e.g. 0.029 for 2.9 %"))
                continue
            rows[key] = (row, values["value"])

        codes = {code for code, _month, _key in rows if code != BANK_WIDE}
        branches = {b.code: b.pk for b in Branch.objects.filter(code__in=codes)}
        for (code, _month, _key), (row, _value) in rows.items():
            if code != BANK_WIDE and code not in branches:
                report.add(row, "branch_code", _unknown("branch", code))
        if report:
            return self.result()

        months = {month for _code, month, _key in rows}
        codes = {pk: code for code, pk in branches.items()}
        in_months = list(ContributionParameter.objects.filter(month__in=months).select_related("branch"))
        if self.replace:  # the groups' other branches too, for the rows they hold
            codes.update(Branch.objects.filter(pk__in={p.branch_id for p in in_months if p.branch_id})
                         .values_list("pk", "code"))

        def group(branch_id, month):
            return (codes[branch_id] if branch_id else BANK_WIDE, f"{month:%Y-%m}")

        wanted = {}
        for (code, month, key), (_row, value) in rows.items():
            branch_id = None if code == BANK_WIDE else branches[code]
            wanted[(branch_id, month, key)] = (group(branch_id, month), {"value": value})
        new, changed, doomed = self.plan_upsert(
            wanted=wanted, stored={(p.branch_id, p.month, p.key): p for p in in_months},
            build=lambda key, attrs: ContributionParameter(branch_id=key[0], month=key[1], key=key[2], **attrs),
            scope=((group(p.branch_id, p.month), (p.branch_id, p.month, p.key), p) for p in in_months))
        history = {"default_user": self.user, "default_change_reason": self.change_reason}
        if new:
            bulk_create_with_history(new, ContributionParameter, **history)
            self.record_rows(ContributionParameter, CREATED, [p.pk for p in new])
        if changed:
            bulk_update_with_history(changed, ContributionParameter, ["value"], **history)
        if doomed:
            ContributionParameter.objects.filter(pk__in=[p.pk for p in doomed]).delete()

        # month -> branch ids whose values changed; None once a bank-wide value changed
        affected: dict[dt.date, set[int] | None] = {}
        for parameter in [*new, *changed, *doomed]:
            if parameter.branch_id is None:
                affected[parameter.month] = None
            elif affected.get(parameter.month, set()) is not None:
                affected.setdefault(parameter.month, set()).add(parameter.branch_id)
        groups: dict[frozenset[int] | None, list[dt.date]] = defaultdict(list)
        for month, branch_ids in sorted(affected.items()):
            groups[None if branch_ids is None else frozenset(branch_ids)].append(month)
        for branch_ids, months in groups.items():
            contribution.contribution_recompute(
                months=months, branch_ids=None if branch_ids is None else sorted(branch_ids))
        announce_business_data_changed(affected)
        return self.result(rows=table.rows_read)

    @classmethod
    def after_undo(cls, *, batch) -> None:
        months = _months_of(batch)
        if months:
            contribution.contribution_recompute(months=months, branch_ids=None)
            announce_business_data_changed(months)


# --- call-backs -------------------------------------------------------------------------------

@register_importer
class CallbackImporter(Importer):
    """Call-backs (回访) with a 1–5 satisfaction score, stored as interactions of kind callback and
    credited to the RM whose assignment covers the date. Upserted by client, date and channel (a
    blank channel is a channel of its own): a file imported twice is stored once, and a second
    call-back of the same day through another channel is kept beside the first. The same key
    twice in one file is refused. With ``replace``, the call-backs of the file's branch-months
    (the client's branch, the month of the date) that the file lacks are deleted. Recorded for
    undo."""

    kind = "callbacks"
    label = gettext_lazy("Call-backs")
    supports_replace = True
    undoable = True
    columns = (
        TextColumn("client_no", max_length=40, ascii_digits=True),
        DateColumn("date", validators=[validate_past_date]),
        IntegerColumn("score", minimum=1, maximum=5),
        TextColumn("channel", max_length=30, blank=True),
        TextColumn("comment", blank=True, max_length=Interaction._meta.get_field("comment").max_length),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows, first_row = [], {}
        for row, values in self.records(table, report):
            if values["date"] > self.today:
                report.add(row, "date", _("in the future"))
                continue
            key = (values["client_no"], values["date"], values["channel"])
            if key in first_row:
                report.add(row, "channel", duplicate_message(
                    f"{key[0]} {key[1]:%Y-%m-%d} {key[2]}".strip(), first_row[key]))
                continue
            first_row[key] = row
            rows.append((row, values))
        clients = {c.client_no: c for c in lookup(Client.objects.only("pk", "client_no", "branch_id"), "client_no",
                                                  {values["client_no"] for _row, values in rows})}
        for row, values in rows:
            if values["client_no"] not in clients:
                report.add(row, "client_no", _unknown("client", values["client_no"]))
        if report or not rows:
            return self.result()

        assignments = defaultdict(list)
        for chunk in chunks({c.pk for c in clients.values()}):
            for client_id, rm_id, started_on, ended_on in Assignment.objects.filter(
                    client_id__in=chunk).values_list("client_id", "rm_id", "started_on", "ended_on"):
                assignments[client_id].append((started_on, ended_on, rm_id))

        def rm_on(client_id: int, day: dt.date) -> int | None:
            for started_on, ended_on, rm_id in assignments[client_id]:
                if started_on <= day and (ended_on is None or day < ended_on):
                    return rm_id
            return None

        codes = dict(Branch.objects.values_list("pk", "code"))

        def group(branch_id, day):
            return (codes[branch_id], f"{day:%Y-%m}")

        wanted = {}
        for _row, values in rows:
            client = clients[values["client_no"]]
            wanted[(client.pk, values["date"], values["channel"])] = (group(client.branch_id, values["date"]), {
                "employee_id": rm_on(client.pk, values["date"]), "score": values["score"],
                "comment": values["comment"]})
        days = [day for _client, day, _channel in wanted]
        # In key order, so that of a key stored twice (before keys were unique) the first row is
        # the one updated and, on a replace, the others are deleted.
        callbacks = Interaction.objects.filter(kind=Interaction.Kind.CALLBACK).select_related("client").order_by("pk")
        stored = {}
        for chunk in chunks({client for client, _day, _channel in wanted}):
            for callback in callbacks.filter(client_id__in=chunk, occurred_on__range=(min(days), max(days))):
                stored.setdefault((callback.client_id, callback.occurred_on, callback.channel), callback)
        scope = []
        if self.replace:
            groups = {group for group, _attrs in wanted.values()}
            month_starts = {dt.date(int(month[:4]), int(month[5:7]), 1) for _code, month in groups}
            in_months = callbacks.filter(client__branch__code__in={code for code, _month in groups},
                                         occurred_on__gte=min(month_starts),
                                         occurred_on__lt=_next_month(max(month_starts)))
            scope = [(group(c.client.branch_id, c.occurred_on), (c.client_id, c.occurred_on, c.channel), c)
                     for c in in_months]
            first = {}
            for _group, key, obj in scope:
                first.setdefault(key, obj.pk)
            scope = [(g, key if first[key] == obj.pk else (*key, obj.pk), obj) for g, key, obj in scope]
        new, changed, doomed = self.plan_upsert(
            wanted=wanted, stored=stored, scope=scope,
            build=lambda key, attrs: Interaction(client_id=key[0], occurred_on=key[1], channel=key[2],
                                                 kind=Interaction.Kind.CALLBACK, **attrs))
        if doomed:
            Interaction.objects.filter(pk__in=[c.pk for c in doomed]).delete()
        Interaction.objects.bulk_update(changed, ["employee", "score", "comment"], batch_size=WRITE_BATCH)
        Interaction.objects.bulk_create(new, batch_size=WRITE_BATCH)
        self.record_rows(Interaction, CREATED, [c.pk for c in new])
        announce_business_data_changed({day.replace(day=1) for day in days}
                                       | {c.occurred_on.replace(day=1) for c in doomed})
        return self.result(rows=table.rows_read)

    @classmethod
    def after_undo(cls, *, batch) -> None:
        announce_business_data_changed(_months_of(batch))


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _months_of(batch) -> list[dt.date]:
    """The first days of the months ("YYYY-MM") an import batch touched."""
    return sorted(dt.date(int(month[:4]), int(month[5:7]), 1) for month in batch.months)


# --- financial statements of credit clients ------------------------------------------------------

class StatementPeriodColumn(Column):
    """A statement period: ``YYYY`` for a year, ``YYYY-Qn`` for a quarter."""

    def to_python(self, raw: str) -> statements.StatementPeriod:
        try:
            return statements.StatementPeriod.parse(raw)
        except ValueError as exc:
            raise CellError(str(exc)) from None

    def describe(self) -> str:
        return self.help_text or _("YYYY for a year, YYYY-Qn for a quarter")


class StatementLineColumn(Column):
    """A line code of the chart (clients/statements.py, README "Financial statements")."""

    def to_python(self, raw: str) -> str:
        if raw not in StatementLine.values:
            raise CellError(_("unknown line item “%(line)s”; see the chart of lines") % {"line": raw})
        return raw

    def describe(self) -> str:
        return self.help_text or _("a line code of the chart, e.g. total_assets, revenue, net_profit")


@register_importer
class StatementImporter(Importer):
    """Corporate credit clients' statements, one row per client, period and line (DOMAIN 2.3).

    Upserted by client, period and line: a line in the file is created or updated, the
    statement's other lines are left alone. Then the checks run on every statement of the
    clients in the file, since they compare periods. Recorded for undo; an undo runs the checks
    of those clients again. RMs, branch managers and HR
    may upload, each for the clients they may change (an RM their own book); a client outside
    that scope reads as unknown."""

    kind = "statements"
    label = gettext_lazy("Financial statements")
    undoable = True
    required_action = ("change", "clients.FinancialStatement")
    columns = (
        TextColumn("client_no", max_length=40, ascii_digits=True),
        StatementPeriodColumn("period", validators=[validate_period]),
        StatementLineColumn("line"),
        DecimalColumn("amount", max_digits=20, decimal_places=2, help_text=gettext_lazy(
            "amount in yuan, at most 2 decimals; negative only on the lines the chart allows")),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows, first_row = [], {}
        for row, values in self.records(table, report):
            period, line = values["period"], values["line"]
            key = (values["client_no"], period.key, line)
            if key in first_row:
                report.add(row, "line", duplicate_message(" ".join(key), first_row[key]))
                continue
            first_row[key] = row
            problem = statements.line_problem(line, values["amount"])
            if problem:
                report.add(row, "amount", problem)
            if period.end > self.today:
                report.add(row, "period", _("%(period)s has not ended yet") % {"period": period})
            rows.append((row, values))

        clients = {c.client_no: c for c in lookup(Client.objects.all(), "client_no",
                                                  {values["client_no"] for _row, values in rows})}
        if self.user is not None:
            allowed = set(lookup(selectors.statement_clients(user=self.user).values_list("pk", flat=True), "pk",
                                 {c.pk for c in clients.values() if c.client_type == Client.Type.CORPORATE}))
            visible = set(lookup(Client.objects.restrict(self.user).values_list("pk", flat=True), "pk",
                                 {c.pk for c in clients.values()}))
        for row, values in rows:
            client = clients.get(values["client_no"])
            if client is None or (self.user is not None and client.pk not in visible):
                report.add(row, "client_no", _unknown("client", values["client_no"]))
            elif client.client_type != Client.Type.CORPORATE:
                report.add(row, "client_no", _("“%(code)s” is not a corporate client; statements are kept for "
                                               "corporate credit clients only") % {"code": client.client_no})
            elif self.user is not None and client.pk not in allowed:
                report.add(row, "client_no", _("you may not enter statements for “%(code)s”")
                           % {"code": client.client_no})
        if report or not rows:
            return self.result()

        items: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        for _row, values in rows:
            items[(values["client_no"], values["period"].key)][values["line"]] = values["amount"]
        client_ids = {clients[client_no].pk for client_no, _period in items}
        keys = {(clients[client_no].pk, period) for client_no, period in items}
        before = [s for s in FinancialStatement.objects.filter(
            client_id__in=client_ids, period__in={period for _no, period in items}) if (s.client_id, s.period) in keys]
        amounts_of = {(clients[no].pk, period): amounts for (no, period), amounts in items.items()}
        statement_of = {s.pk: (s.client_id, s.period) for s in before}
        all_entries_before = list(StatementEntry.objects.filter(statement_id__in=statement_of))
        entries_before = [e for e in all_entries_before if e.line in amounts_of[statement_of[e.statement_id]]]
        self.record_rows(FinancialStatement, UPDATED, [s.pk for s in before])
        self.record_rows(StatementEntry, UPDATED, [
            e.pk for e in entries_before if amounts_of[statement_of[e.statement_id]][e.line] != e.amount])
        stored = services.statements_replace(
            items=[services.StatementInput(clients[client_no], period, amounts)
                   for (client_no, period), amounts in items.items()], by=self.user, merge_lines=True)
        after = [s for s in FinancialStatement.objects.filter(
            client_id__in=client_ids, period__in={period for _no, period in items}) if (s.client_id, s.period) in keys]
        self.record_rows(FinancialStatement, CREATED, [s.pk for s in after if s.pk not in statement_of])
        kept_entries = {e.pk for e in all_entries_before}
        self.record_rows(StatementEntry, CREATED, StatementEntry.objects.filter(
            statement_id__in=[s.pk for s in after]).exclude(pk__in=kept_entries).values_list("pk", flat=True))
        codes = dict(Branch.objects.filter(pk__in={c.branch_id for c in clients.values()}).values_list("pk", "code"))
        branch_of = {c.pk: codes[c.branch_id] for c in clients.values()}
        for (client_id, period), counts in stored.line_counts.items():
            for action, count in counts.items():
                self.tally(branch_of[client_id], period, action, count)
        checks = stored.checks
        return self.result(rows=table.rows_read, notes=[
                               ngettext("%(count)d statement line stored.", "%(count)d statement lines stored.",
                                        stored.lines) % {"count": stored.lines},
                               _("Checks: %(raised)d flags raised, %(updated)d updated, %(cleared)d cleared; "
                                 "%(open)d open for these clients.") % checks.__dict__])

    @classmethod
    def after_undo(cls, *, batch) -> None:
        # The clients whose statements the import or its undo touched: their checks run again.
        images = ImportBatchRow.objects.filter(
            batch__in=[batch.pk, *ImportBatch.objects.filter(undo_of=batch).values_list("pk", flat=True)],
            model=FinancialStatement._meta.label_lower, before__isnull=False).values_list("before", flat=True)
        client_ids = {image["client_id"] for image in images}
        if client_ids:
            services.statement_checks_run(client_ids=client_ids)
