"""Reads on branches, RMs' books and clients (DOMAIN 1, 2).

Every selector takes the user and returns a QuerySet restricted by ``Model.objects.restrict``;
figures are annotated in the database so that a page costs the same few queries for ten rows
as for a thousand.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import (Case, ExpressionWrapper, F, Func, IntegerField, OuterRef, Q,
                              QuerySet, Subquery, Value, When)
from django.db.models.functions import Coalesce

from clients import statements
from clients.contribution import ContributionMethod, contribution_total_expression
from clients.models import (Assignment, Branch, Client, ClientContribution, Complaint, Employee,
                            FinancialStatement, Interaction, MonthlyBusiness, Role, StatementEntry,
                            StatementFlag)
from core.money import ZERO as MONEY_ZERO
from core.money import MoneyField, MoneySubquerySum
from rmportal import scoping

CONTRIBUTION_MONTHS = 12
_MONEY = MoneyField()
_ZERO = Value(MONEY_ZERO, output_field=_MONEY)

AUM = ExpressionWrapper(F("deposit_avg_balance") + F("wm_sales"), output_field=_MONEY)
"""Assets under management of a MonthlyBusiness row: deposit daily average + WM sales.

A client's AUM, and a book's, is this sum over the rows of the latest month loaded
(``latest_month()``, bank-wide, so that every RM is measured on the same month). A client without
a row in that month counts 0.
"""

PROFIT_CONTRIBUTION = contribution_total_expression(ContributionMethod.PROFIT)
"""Profit contribution (method 3, DOMAIN 2.2) of a ClientContribution row."""


def latest_month() -> dt.date | None:
    """The latest month of business data loaded (its first day), or None before any import."""
    return (MonthlyBusiness.objects.order_by("-month").values_list("month", flat=True).first())


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def contribution_months(month: dt.date | None) -> list[dt.date]:
    """The ``CONTRIBUTION_MONTHS`` months ending with ``month``, oldest first."""
    if month is None:
        return []
    return [month_add(month, -n) for n in range(CONTRIBUTION_MONTHS - 1, -1, -1)]


def _sum(queryset: QuerySet, expression) -> Coalesce:
    """A correlated subquery summing ``expression`` over ``queryset`` (0 when there is no row)."""
    total = queryset.order_by().annotate(_total=MoneySubquerySum(expression))
    return Coalesce(Subquery(total.values("_total")[:1], output_field=_MONEY), _ZERO)


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated subquery counting the rows of ``queryset``."""
    counted = queryset.order_by().annotate(_n=Func("pk", function="COUNT", output_field=IntegerField()))
    return Coalesce(Subquery(counted.values("_n")[:1], output_field=IntegerField()), 0)


def _window(month: dt.date | None) -> Q:
    months = contribution_months(month)
    return Q(month__gte=months[0], month__lte=months[-1]) if months else Q(pk__in=[])


def with_client_figures(queryset: QuerySet, *, month: dt.date | None) -> QuerySet:
    """Annotate clients with the figures of ``month`` (deposit, loan, AUM) and their 12-month
    profit contribution ending with ``month``. Needs no user: the caller restricts."""
    latest = MonthlyBusiness.objects.filter(client=OuterRef("pk"), month=month)
    return queryset.annotate(
        deposit_avg_balance=Coalesce(Subquery(latest.values("deposit_avg_balance")[:1]), _ZERO),
        loan_avg_balance=Coalesce(Subquery(latest.values("loan_avg_balance")[:1]), _ZERO),
        aum=Coalesce(Subquery(latest.values(aum=AUM)[:1], output_field=_MONEY), _ZERO),
        contribution_12m=_sum(ClientContribution.objects.filter(_window(month), client=OuterRef("pk")),
                              PROFIT_CONTRIBUTION),
    )


def with_book_figures(queryset: QuerySet, *, month: dt.date | None) -> QuerySet:
    """Annotate employees with their book: size (open assignments), AUM of ``month`` and the
    12-month profit contribution of the clients in the book now."""
    in_book = {"client__assignments__rm": OuterRef("pk"), "client__assignments__ended_on__isnull": True}
    return queryset.annotate(
        book_size=_count(Assignment.objects.filter(rm=OuterRef("pk"), ended_on__isnull=True)),
        aum=_sum(MonthlyBusiness.objects.filter(month=month, **in_book), AUM),
        contribution_12m=_sum(ClientContribution.objects.filter(_window(month), **in_book),
                              PROFIT_CONTRIBUTION),
    )


def branch_list(*, user) -> QuerySet[Branch]:
    """The branches the user may see, with their number of active RMs and of clients served."""
    rms = Employee.objects.filter(branch=OuterRef("pk"), role=Role.RM, status=Employee.Status.ACTIVE)
    clients = Client.objects.filter(branch=OuterRef("pk")).exclude(status=Client.Status.LOST)
    return Branch.objects.restrict(user).select_related("region").annotate(
        rm_count=_count(rms), client_count=_count(clients))


def branch_rms(*, user, branch: Branch, month: dt.date | None) -> QuerySet[Employee]:
    """The active RMs of ``branch`` the user may see, with book size, AUM and 12-month
    contribution (see ``with_book_figures``)."""
    rms = Employee.objects.restrict(user).filter(branch=branch, role=Role.RM, status=Employee.Status.ACTIVE)
    return with_book_figures(rms, month=month).order_by("employee_no")


def rms_with_book_figures(*, rms: QuerySet[Employee], month: dt.date | None) -> QuerySet[Employee]:
    """``rms``, already restricted and possibly one page of a list, with their book figures (see
    ``with_book_figures``), in employee-number order. The figures go around the page's ids, so
    PostgreSQL computes them for the page's rows only, never for the rows an OFFSET skips."""
    return with_book_figures(Employee.objects.filter(pk__in=rms.values("pk")), month=month).order_by("employee_no")


def active_rms(*, user, branch_id: int) -> QuerySet[Employee]:
    """The active RMs of a branch the user may see, e.g. to choose who takes over a client."""
    return Employee.objects.restrict(user).filter(branch_id=branch_id, role=Role.RM,
                                                  status=Employee.Status.ACTIVE).order_by("employee_no")


def book_clients(*, user, rm: Employee, month: dt.date | None) -> QuerySet[Client]:
    """The clients ``rm`` is responsible for now, with the figures of ``month``."""
    clients = Client.objects.restrict(user).filter(assignments__rm=rm, assignments__ended_on__isnull=True)
    return with_client_figures(clients.select_related("branch"), month=month)


def client_contributions(*, user, client: Client, month: dt.date | None) -> QuerySet[ClientContribution]:
    """The client's contribution rows of the 12 months ending with ``month``, oldest first."""
    return ClientContribution.objects.restrict(user).filter(_window(month), client=client).order_by("month")


def client_assignments(*, user, client: Client) -> QuerySet[Assignment]:
    return (Assignment.objects.restrict(user).filter(client=client).select_related("rm")
            .order_by("-started_on", "-id"))


def client_interactions(*, user, client: Client) -> QuerySet[Interaction]:
    return Interaction.objects.restrict(user).filter(client=client).select_related("employee")


def client_complaints(*, user, client: Client) -> QuerySet[Complaint]:
    return Complaint.objects.restrict(user).filter(client=client).select_related("rm")


def clients_for_view(*, user, action: str = "view") -> QuerySet[Client]:
    """Clients the user may ``action``, with their branch; the base of the client pages."""
    return Client.objects.restrict(user, action).select_related("branch", "branch__region")



# --- financial statements of credit clients (DOMAIN 2.3) ----------------------------------------

_SEVERITY_RANK = Case(When(severity=StatementFlag.Severity.CRITICAL, then=Value(3)),
                      When(severity=StatementFlag.Severity.WARNING, then=Value(2)),
                      default=Value(1), output_field=IntegerField())


def statement_clients(*, user) -> QuerySet[Client]:
    """The corporate clients whose statements the user may enter or upload.

    ``FinancialStatement``'s "change" action decides the roles (RM, branch manager, HR); the rows
    are then the clients the user sees, which for those roles is the same scope as the
    statements' (RM: own book, branch manager: own branch, HR: the bank)."""
    if not scoping.may(user, "change", FinancialStatement):
        return Client.objects.none()
    return Client.objects.restrict(user).filter(client_type=Client.Type.CORPORATE)


def client_statements(*, user, client: Client) -> QuerySet[FinancialStatement]:
    """The client's statements, newest first, with their key figures (one column per line of
    ``statements.KEY_LINES``, None when not reported) and their open and total flags."""
    key_figures = {
        line.value: Subquery(StatementEntry.objects.filter(statement=OuterRef("pk"), line=line)
                             .values("amount")[:1], output_field=_MONEY)
        for line in statements.KEY_LINES}
    flags = StatementFlag.objects.filter(statement=OuterRef("pk"))
    return (FinancialStatement.objects.restrict(user).filter(client=client)
            .annotate(**key_figures, open_flags=_count(flags.filter(status=StatementFlag.Status.OPEN)),
                      all_flags=_count(flags))
            .select_related("uploaded_by__employee").order_by("-period_end", "-kind"))


def statement_lines(*, user, statement: FinancialStatement) -> dict[str, Decimal]:
    """A statement's amounts by line code (the user must see the statement)."""
    return dict(StatementEntry.objects.filter(statement__in=FinancialStatement.objects.restrict(user),
                                              statement=statement).values_list("line", "amount"))


def client_statement_flags(*, user, client: Client, action: str = "view") -> QuerySet[StatementFlag]:
    """The client's flags, newest period first, the worst first within a period."""
    return (StatementFlag.objects.restrict(user, action).filter(client=client)
            .select_related("statement", "explained_by__employee")
            .annotate(severity_rank=_SEVERITY_RANK)
            .order_by("-statement__period_end", "-statement__kind", "-severity_rank", "rule", "subject"))


def statement_flag_history(*, user, client: Client) -> QuerySet:
    """The audit rows of the client's current flags the user may see, oldest first per flag."""
    visible = StatementFlag.objects.restrict(user).filter(client=client).values("pk")
    return (StatementFlag.history.filter(id__in=visible).select_related("history_user__employee")
            .order_by("id", "history_date", "history_id"))


def statement_flag_clients(*, user) -> QuerySet[Client]:
    """Credit clients with open statement flags that the user may see (DOMAIN 2.3): counts of
    open flags by severity, the worst severity, the latest period reported and the current RM."""
    open_flags = StatementFlag.objects.filter(client=OuterRef("pk"), status=StatementFlag.Status.OPEN)
    counts = {f"open_{severity}": _count(open_flags.filter(severity=severity))
              for severity in StatementFlag.Severity.values}
    latest = FinancialStatement.objects.filter(client=OuterRef("pk")).order_by("-period_end", "-kind")
    rm = Assignment.objects.filter(client=OuterRef("pk"), ended_on__isnull=True)
    return (Client.objects.restrict(user).filter(client_type=Client.Type.CORPORATE)
            .annotate(**counts, open_flags=_count(open_flags),
                      latest_period=Subquery(latest.values("period")[:1]),
                      rm_no=Subquery(rm.values("rm__employee_no")[:1]),
                      rm_name=Subquery(rm.values("rm__name")[:1]))
            .annotate(worst_rank=Case(When(open_critical__gt=0, then=Value(3)),
                                      When(open_warning__gt=0, then=Value(2)),
                                      When(open_info__gt=0, then=Value(1)),
                                      default=Value(0), output_field=IntegerField()))
            .filter(open_flags__gt=0).select_related("branch"))
