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
    Interaction,
    LoanTerm,
    MonthlyBusiness,
    ParameterKey,
    Region,
    Role,
    StatementLine,
    User,
)
from rmportal.importing import (
    MAX_ERRORS,
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
    chunks,
    duplicate_message,
    lookup,
    register_importer,
)
from rmportal.validators import validate_past_date, validate_period

logger = logging.getLogger(__name__)

WRITE_BATCH = 2000


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
    """Upserts regions and branches by code."""

    kind = "branches"
    label = gettext_lazy("Regions and branches")
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
        Region.objects.bulk_create(new_regions)
        Region.objects.bulk_update(changed_regions, ["name"])
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
        Branch.objects.bulk_create(new)
        Branch.objects.bulk_update(changed, ["name", "region"])
        return self.result(
            rows=table.rows_read, created=len(new), updated=len(changed),
            unchanged=len(branches) - len(new) - len(changed),
            notes=[_counts_note(_("Regions"), len(new_regions), len(changed_regions))])


# --- levels -----------------------------------------------------------------------------------

@register_importer
class LevelImporter(Importer):
    """Upserts job sequences (by code) and their levels (by sequence and level code)."""

    kind = "levels"
    label = gettext_lazy("Job sequences and levels")
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
        JobSequence.objects.bulk_create(new_sequences)
        JobSequence.objects.bulk_update(changed_sequences, ["name"])
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
        if reranked:
            # Ranks are unique per sequence and checked row by row: park the moving levels on
            # free ranks first so that two levels may swap places.
            final = {level.pk: level.rank for level in reranked}
            for offset, level in enumerate(reranked):
                level.rank = 32767 - offset
            Level.objects.bulk_update(reranked, ["rank"])
            for level in reranked:
                level.rank = final[level.pk]
        Level.objects.bulk_create(new)
        Level.objects.bulk_update(changed, ["name", "rank", "bonus_coefficient"])
        return self.result(
            rows=table.rows_read, created=len(new), updated=len(changed),
            unchanged=len(levels) - len(new) - len(changed),
            notes=[_counts_note(_("Job sequences"), len(new_sequences), len(changed_sequences))])


# --- employees --------------------------------------------------------------------------------

@register_importer
class EmployeeImporter(Importer):
    """Upserts employees by employee_no; each gets a log-in account named after the employee_no
    with an unusable password until one is set (DOMAIN 6)."""

    kind = "employees"
    label = gettext_lazy("Employees")
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
        User.objects.bulk_create(new_users, batch_size=WRITE_BATCH)
        User.objects.bulk_update(changed_users, ["email"], batch_size=WRITE_BATCH)

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
        Employee.objects.bulk_create(new, batch_size=WRITE_BATCH)
        Employee.objects.bulk_update(
            changed, ["name", "branch", "role", "level", "hired_on", "email", "user"], batch_size=WRITE_BATCH)
        return self.result(
            rows=table.rows_read, created=len(new), updated=len(changed),
            unchanged=len(planned) - len(new) - len(changed),
            notes=[ngettext("%(count)d log-in account created (no password yet).",
                            "%(count)d log-in accounts created (no password yet).",
                            len(new_users)) % {"count": len(new_users)}])


# --- clients ----------------------------------------------------------------------------------

@register_importer
class ClientImporter(Importer):
    """Upserts clients by client_no and keeps their assignment history (DOMAIN 2, 6).

    A new client gets an open assignment to rm_employee_no from assigned_on, or else opened_on.
    When an existing client's RM differs, the client moves on assigned_on (today when blank): the
    current assignment ends that day and the new one starts (rebalancing); a move cannot be dated
    before the current assignment's start. A lost client's assignment ends on lost_on. The RM
    taking a client must be an active employee of the client's branch."""

    kind = "clients"
    label = gettext_lazy("Clients and their RMs")
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

        Client.objects.bulk_create([client for client, _plan in new_clients], batch_size=WRITE_BATCH)
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
            bulk_update_with_history(ended, Assignment, ["ended_on"], **history)
        if started:
            bulk_create_with_history(started, Assignment, **history)
        self._refresh_books(clients, ended, started)
        return self.result(
            rows=table.rows_read, created=len(new_clients), updated=len(changed_clients),
            unchanged=len(rows) - len(new_clients) - len(changed_clients),
            notes=[ngettext("%(count)d client moved to another RM.", "%(count)d clients moved to another RM.",
                            moved) % {"count": moved},
                   ngettext("%(count)d assignment closed because the client was lost.",
                            "%(count)d assignments closed because the client was lost.", closed)
                   % {"count": closed}])

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
        return ChoiceColumn(name, choices=LoanTerm.values, required=False, blank=True, default="",
                            help_text=gettext_lazy("one of le6m, 6m_1y, 1y_3y, 3y_5y, gt5y; "
                                            "blank only when loan_avg_balance is 0"))
    if name in MONTHLY_COUNTS:
        return IntegerColumn(name, minimum=0, maximum=PG_INTEGER_MAX, required=False, blank=True)
    return DecimalColumn(name, max_digits=18, decimal_places=2, required=False, blank=True,
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
    """Monthly business data per client (DOMAIN 2.1). Re-importing a month replaces it: every
    stored row of the months present in the file is deleted before the file's rows go in. Blank
    numbers are 0; balances, counts and sales may not be negative; loan_term may be blank only
    when loan_avg_balance is 0. The contributions of the months are recomputed afterwards.

    Files hold hundreds of thousands of rows, so rows are streamed, never held: each is checked in
    Python with one regular expression for the whole row (cell by cell only when that fails) and,
    on PostgreSQL, copied into a temporary staging table through COPY. One INSERT … SELECT joined
    to the clients then stores them; when it stores fewer rows than were staged (unknown client
    numbers) or trips the unique constraint (a client and month given twice), the staging table
    is queried set-based for the rows to report. Other databases take a bulk_create path that
    keeps the file's (client, month) keys in memory to find duplicates."""

    kind = "monthly"
    label = gettext_lazy("Monthly business data")
    columns = tuple(_monthly_column(name) for name in MONTHLY_ORDER)

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        months: set[str] = set()
        if _copy_available():
            counts = self._store_by_copy(table, report, months)
        else:
            counts = self._store_by_orm(table, report, months)
        if report:
            return self.result()
        month_dates = sorted({dt.date(int(month[:4]), int(month[5:7]), 1) for month in months})
        self.report_stage(RECOMPUTING, table)
        contribution.contribution_recompute(months=month_dates, branch_ids=None)
        announce_business_data_changed(month_dates)
        return self.result(
            rows=table.rows_read, **counts,
            notes=[_("Months replaced: %(months)s.") % {
                "months": ", ".join(f"{month:%Y-%m}" for month in month_dates)}])

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
        term_at = header.index("loan_term") if "loan_term" in header else None
        balance_at = header.index("loan_avg_balance") if "loan_avg_balance" in header else None
        is_zero = _ZERO.fullmatch
        add_month = months.add
        for number, cells in table.rows():
            joined = separator.join(cells)
            if fullmatch(joined) is not None:
                if balance_at is not None and (term_at is None or not cells[term_at]) \
                        and is_zero(cells[balance_at]) is None:
                    report.add(number, "loan_term", _("required when loan_avg_balance is not 0"))
                    yield number, cells, None, None
                    continue
                add_month(cells[month_at][:7])
                yield number, cells, joined, None
                continue
            cells = [cell.strip() for cell in cells]
            values = pattern.diagnose(number, cells, report)
            if values is not None:
                if balance_at is not None and (term_at is None or not values[term_at]) and values[balance_at]:
                    report.add(number, "loan_term", _("required when loan_avg_balance is not 0"))
                    values = None
                else:
                    add_month(cells[month_at][:7])
            yield number, cells, None, values

    # PostgreSQL: COPY into a staging table, check and insert set-based.

    def _store_by_copy(self, table: Table, report: ErrorReport, months: set[str]) -> dict:
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
                return {}
            month_dates = sorted(dt.date(int(month[:4]), int(month[5:7]), 1) for month in months)
            client_table = quote(Client._meta.db_table)
            try:
                with transaction.atomic():
                    # Two imports replacing the same months would trip over each other's rows.
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MONTHLY_IMPORT_LOCK])
                    cursor.execute(f"DELETE FROM {quote(MonthlyBusiness._meta.db_table)} WHERE month = ANY(%s)",
                                   [month_dates])
                    deleted = cursor.rowcount
                    # The foreign-key checks at commit lock each client row; locking them all in
                    # one statement first leaves those checks only a lookup.
                    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {client_table} c WHERE c.client_no IN "
                                   f"(SELECT client_no FROM {STAGE_TABLE}) FOR KEY SHARE) locked")
                    # Room to sort the rows into key order in memory, for this statement only.
                    cursor.execute("SELECT current_setting('work_mem')")
                    work_mem = cursor.fetchone()[0]
                    cursor.execute("SELECT set_config('work_mem', %s, true)", [SORT_WORK_MEM])
                    cursor.execute(self._insert_sql(header))
                    created = cursor.rowcount
                    cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
                    if created != table.rows_read:
                        raise _Mismatch
            except (IntegrityError, _Mismatch):
                self._check_stage(cursor, report)
                if not report:  # cannot happen unless the checks above miss a case
                    report.add(None, "", _("the rows could not be stored"))
                return {}
            cursor.execute(f"DROP TABLE {STAGE_TABLE}")
        logger.info("monthly import %s: %d rows checked and staged in %.1fs, stored in %.1fs",
                    self.filename, created, staged - started, time.monotonic() - staged)
        return {"created": created, "deleted": deleted}

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
    def _insert_sql(header: list[str]) -> str:
        quote = connection.ops.quote_name
        targets, values = ["client_id", "month"], ["c.id", "(left(s.month, 7) || '-01')::date"]
        for name in MONTHLY_ORDER[2:]:
            targets.append(quote(MonthlyBusiness._meta.get_field(name).column))
            if name not in header:
                values.append("''" if name == "loan_term" else "0")
            elif name == "loan_term":
                values.append(f"coalesce(s.{quote(name)}, '')")
            else:
                values.append(f"coalesce(s.{quote(name)}, 0)")
        # In key order: the unique index and the foreign-key checks then walk their pages in order.
        return (f"INSERT INTO {quote(MonthlyBusiness._meta.db_table)} ({', '.join(targets)}) "
                f"SELECT {', '.join(values)} FROM {STAGE_TABLE} s "
                f"JOIN {quote(Client._meta.db_table)} c ON c.client_no = s.client_no "
                f"ORDER BY c.id, s.month")

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

    # Any other database: bulk_create in batches.

    def _store_by_orm(self, table: Table, report: ErrorReport, months: set[str]) -> dict:
        header = table.header
        columns = [self.column(name) for name in header]
        client_at, month_at = header.index("client_no"), header.index("month")
        client_ids = dict(Client.objects.values_list("client_no", "id"))
        first_row: dict[tuple[str, str], int] = {}
        replaced: set[dt.date] = set()
        batch, created, deleted = [], 0, 0
        for number, cells, joined, values in self._checked_rows(table, report, months):
            client_no, month = cells[client_at].strip(), cells[month_at].strip()[:7]
            if (client_no, month) in first_row:
                report.add(number, "month", duplicate_message(f"{client_no} {month}", first_row[(client_no, month)]))
                continue
            first_row[(client_no, month)] = number
            client_id = client_ids.get(client_no)
            if client_id is None and _client_no_valid(client_no):
                report.add(number, "client_no", _unknown("client", client_no))
                continue
            if (joined is None and values is None) or report:
                continue
            if values is None:
                values = [column.clean(cell) for column, cell in zip(columns, cells)]
            values = dict(zip(header, values))
            del values["client_no"]
            first_day = values.pop("month")
            if first_day not in replaced:
                deleted += MonthlyBusiness.objects.filter(month=first_day).delete()[0]
                replaced.add(first_day)
            batch.append(MonthlyBusiness(client_id=client_id, month=first_day, **values))
            if len(batch) == WRITE_BATCH:
                MonthlyBusiness.objects.bulk_create(batch)
                created += len(batch)
                batch = []
        if batch and not report:
            MonthlyBusiness.objects.bulk_create(batch)
            created += len(batch)
        return {"created": created, "deleted": deleted}


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
    """Contribution parameters per branch (``*`` = bank-wide) and month (DOMAIN 2.2); upserted,
    then the contributions of the months they change are recomputed: for every branch when a
    bank-wide value changed, else for the branches whose values changed."""

    kind = "parameters"
    label = gettext_lazy("Contribution parameters")
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

        existing = {(p.branch_id, p.month, p.key): p for p in ContributionParameter.objects.filter(
            month__in={month for _code, month, _key in rows})}
        new, changed = [], []
        for (code, month, key), (_row, value) in rows.items():
            branch_id = None if code == BANK_WIDE else branches[code]
            parameter = existing.get((branch_id, month, key))
            if parameter is None:
                new.append(ContributionParameter(branch_id=branch_id, month=month, key=key, value=value))
            elif parameter.value != value:
                parameter.value = value
                changed.append(parameter)
        history = {"default_user": self.user, "default_change_reason": self.change_reason}
        if new:
            bulk_create_with_history(new, ContributionParameter, **history)
        if changed:
            bulk_update_with_history(changed, ContributionParameter, ["value"], **history)

        # month -> branch ids whose values changed; None once a bank-wide value changed
        affected: dict[dt.date, set[int] | None] = {}
        for parameter in [*new, *changed]:
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
        return self.result(rows=table.rows_read, created=len(new), updated=len(changed),
                           unchanged=len(rows) - len(new) - len(changed))


# --- call-backs -------------------------------------------------------------------------------

@register_importer
class CallbackImporter(Importer):
    """Call-backs (回访) with a 1–5 satisfaction score, stored as interactions of kind callback and
    credited to the RM whose assignment covers the date. Re-importing replaces the call-backs of
    the same (client, date) pairs, so a file imported twice is stored once."""

    kind = "callbacks"
    label = gettext_lazy("Call-backs")
    columns = (
        TextColumn("client_no", max_length=40, ascii_digits=True),
        DateColumn("date", validators=[validate_past_date]),
        IntegerColumn("score", minimum=1, maximum=5),
        TextColumn("channel", max_length=30, blank=True),
        TextColumn("comment", blank=True, max_length=Interaction._meta.get_field("comment").max_length),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows = []
        for row, values in self.records(table, report):
            if values["date"] > self.today:
                report.add(row, "date", _("in the future"))
                continue
            rows.append((row, values))
        clients = {c.client_no: c.pk for c in lookup(Client.objects.only("pk", "client_no"), "client_no",
                                                      {values["client_no"] for _row, values in rows})}
        for row, values in rows:
            if values["client_no"] not in clients:
                report.add(row, "client_no", _unknown("client", values["client_no"]))
        if report:
            return self.result()

        assignments = defaultdict(list)
        for chunk in chunks(set(clients.values())):
            for client_id, rm_id, started_on, ended_on in Assignment.objects.filter(
                    client_id__in=chunk).values_list("client_id", "rm_id", "started_on", "ended_on"):
                assignments[client_id].append((started_on, ended_on, rm_id))

        def rm_on(client_id: int, day: dt.date) -> int | None:
            for started_on, ended_on, rm_id in assignments[client_id]:
                if started_on <= day and (ended_on is None or day < ended_on):
                    return rm_id
            return None

        if not rows:
            return self.result()
        pairs = {(clients[values["client_no"]], values["date"]) for _row, values in rows}
        days = [day for _client, day in pairs]
        stale = []
        for chunk in chunks({client for client, _day in pairs}):
            stale.extend(pk for pk, client_id, day in Interaction.objects.filter(
                kind=Interaction.Kind.CALLBACK, client_id__in=chunk, occurred_on__range=(min(days), max(days))
            ).values_list("pk", "client_id", "occurred_on") if (client_id, day) in pairs)
        deleted = 0
        for chunk in chunks(stale):
            deleted += Interaction.objects.filter(pk__in=chunk).delete()[0]
        new = []
        for _row, values in rows:
            client_id = clients[values["client_no"]]
            new.append(Interaction(client_id=client_id, employee_id=rm_on(client_id, values["date"]),
                                   kind=Interaction.Kind.CALLBACK, occurred_on=values["date"],
                                   score=values["score"], channel=values["channel"], comment=values["comment"]))
        Interaction.objects.bulk_create(new, batch_size=WRITE_BATCH)
        announce_business_data_changed({day.replace(day=1) for day in days})
        return self.result(rows=table.rows_read, created=len(new), deleted=deleted)


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

    A client-period in the file replaces that statement's lines; then the checks run on every
    statement of the clients in the file, since they compare periods. RMs, branch managers and HR
    may upload, each for the clients they may change (an RM their own book); a client outside
    that scope reads as unknown."""

    kind = "statements"
    label = gettext_lazy("Financial statements")
    allowed_roles = FinancialStatement.scope.actions["change"]
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
        stored = services.statements_replace(
            items=[services.StatementInput(clients[client_no], period, amounts)
                   for (client_no, period), amounts in items.items()], by=self.user)
        checks = stored.checks
        return self.result(rows=table.rows_read, created=stored.created, updated=stored.updated,
                           deleted=stored.lines_removed, notes=[
                               ngettext("%(count)d statement line stored.", "%(count)d statement lines stored.",
                                        stored.lines) % {"count": stored.lines},
                               _("Checks: %(raised)d flags raised, %(updated)d updated, %(cleared)d cleared; "
                                 "%(open)d open for these clients.") % checks.__dict__])
