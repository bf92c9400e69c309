"""Organisation, clients, their RMs and their monthly business (DOMAIN 1, 2)."""
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import ZERO as MONEY_ZERO
from core.money import MoneyField
from rmportal import scoping
from rmportal.scoping import RestrictedQuerySet, Scope
from rmportal.validators import (TEXT_JUSTIFICATION, TEXT_NOTE, text_validators, validate_month,
                                 validate_past_date, validate_period)



class User(AbstractUser):
    """Log-in account. Employees log in with their employee_no as user name."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Region(models.Model):
    code = models.CharField(_("region code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branches", region="pk", actions={"change": frozenset({scoping.HR})})

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return f"{self.code} {self.name}"


class Branch(models.Model):
    code = models.CharField(_("branch code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="branches",
                               verbose_name=_("region"))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="pk", actions={"change": frozenset({scoping.HR}), "home": scoping.MANAGER_ROLES})

    class Meta:
        ordering = ["code"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")

    def __str__(self):
        return f"{self.code} {self.name}"


class Role(models.TextChoices):
    RM = scoping.RM, _("Relationship manager")
    DEPARTMENT_HEAD = scoping.DEPARTMENT_HEAD, _("RM department head")
    BRANCH_MANAGER = scoping.BRANCH_MANAGER, _("Branch manager")
    REVIEWER = scoping.REVIEWER, _("Personal-finance reviewer")
    HR = scoping.HR, _("Human resources")


class Employee(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LEFT = "left", _("Left")

    employee_no = models.CharField(_("employee number"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="employee", verbose_name=_("user"))
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="employees",
                               verbose_name=_("branch"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RM)
    level = models.ForeignKey("careers.Level", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="employees", verbose_name=_("level"))
    hired_on = models.DateField(_("hired on"), null=True, blank=True, validators=[validate_past_date])
    email = models.EmailField(_("e-mail"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    left_on = models.DateField(_("left on"), null=True, blank=True, validators=[validate_past_date])

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(
        branch="branch",
        own=lambda employee: Q(pk=employee.pk),
        actions={"change": frozenset({scoping.HR}),
                 "reassign": frozenset({scoping.HR, scoping.BRANCH_MANAGER}),
                 "unlock": frozenset({scoping.HR})},
    )

    class Meta:
        ordering = ["branch__code", "employee_no"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", left_on__isnull=True) | Q(status="left", left_on__isnull=False),
                name="employee_left_on_iff_left",
            ),
        ]
        indexes = [models.Index(fields=["branch", "role", "status"])]

    def __str__(self):
        return f"{self.employee_no} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


def _own_book(employee) -> Q:
    return Q(assignments__rm=employee, assignments__ended_on__isnull=True)


def _book_of_client(employee) -> Q:
    return Q(client__assignments__rm=employee, client__assignments__ended_on__isnull=True)


class Client(models.Model):
    class Type(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        CORPORATE = "corporate", _("Corporate")

    class Segment(models.TextChoices):
        MASS = "mass", _("Mass")
        AFFLUENT = "affluent", _("Affluent")
        PRIVATE = "private", _("Private banking")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DORMANT = "dormant", _("Dormant")
        LOST = "lost", _("Lost")

    client_no = models.CharField(_("client number"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    client_type = models.CharField(_("client type"), max_length=12, choices=Type.choices)
    segment = models.CharField(_("segment"), max_length=10, choices=Segment.choices,
                               default=Segment.MASS)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="clients",
                               verbose_name=_("branch"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    opened_on = models.DateField(_("opened on"), null=True, blank=True, validators=[validate_past_date])
    lost_on = models.DateField(_("lost on"), null=True, blank=True, validators=[validate_past_date])
    lost_reason = models.CharField(_("reason for loss"), max_length=200, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(
        branch="branch",
        own=_own_book,
        actions={"change": frozenset({scoping.HR, scoping.BRANCH_MANAGER}),
                 "reassign": frozenset({scoping.HR, scoping.BRANCH_MANAGER}),
                 "interact": frozenset({scoping.RM, scoping.DEPARTMENT_HEAD,
                                        scoping.BRANCH_MANAGER, scoping.HR})},
    )

    class Meta:
        ordering = ["client_no"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="lost", lost_on__isnull=False) | (~Q(status="lost") & Q(lost_on__isnull=True)),
                name="client_lost_on_iff_lost",
            ),
        ]
        indexes = [models.Index(fields=["branch", "status"]),
                   # The branch home's "clients lost this month".
                   models.Index(fields=["branch", "lost_on"], condition=Q(status="lost"),
                                name="client_lost_by_branch")]

    def __str__(self):
        return f"{self.client_no} {self.name}"


class Assignment(models.Model):
    """Who is responsible for a client, from ``started_on`` up to (not including) ``ended_on``."""

    class Reason(models.TextChoices):
        ONBOARDING = "onboarding", _("Onboarding")
        REBALANCING = "rebalancing", _("Rebalancing")
        EXIT_HANDOVER = "exit_handover", _("RM exit handover")
        CLIENT_REQUEST = "client_request", _("Client request")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="assignments",
                               verbose_name=_("client"))
    rm = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="assignments",
                           verbose_name=_("RM"))
    started_on = models.DateField(_("from"), validators=[validate_past_date])
    ended_on = models.DateField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices,
                              default=Reason.ONBOARDING)
    note = models.CharField(_("note"), max_length=300, blank=True)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    # An RM sees their own assignments and the whole history of the clients now in their book.
    scope = Scope(branch="client__branch", own=lambda employee: Q(rm=employee) | _book_of_client(employee))

    class Meta:
        ordering = ["client_id", "started_on", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["client"], condition=Q(ended_on__isnull=True),
                                    name="one_open_assignment_per_client"),
            models.CheckConstraint(condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                                   name="assignment_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["rm", "ended_on"]),
            models.Index(fields=["client", "started_on"]),
        ]

    def __str__(self):
        return f"{self.client_id} → {self.rm_id} {self.started_on}–{self.ended_on or ''}"


class Interaction(models.Model):
    """A visit, a call, or a call-back (回访) with the client's 1–5 satisfaction score."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Visit")
        CALL = "call", _("Call")
        CALLBACK = "callback", _("Call-back")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="interactions",
                               verbose_name=_("client"))
    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="interactions", verbose_name=_("employee"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    occurred_on = models.DateField(_("date"), validators=[validate_past_date])
    score = models.PositiveSmallIntegerField(_("satisfaction score"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=30, blank=True)
    comment = models.TextField(_("comment"), blank=True, max_length=TEXT_NOTE,
                               validators=text_validators(TEXT_NOTE))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="client__branch", own=_book_of_client)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="callback", score__gte=1, score__lte=5)
                           | (~Q(kind="callback") & Q(score__isnull=True))),
                name="interaction_callback_score_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["kind", "occurred_on"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.client_id} {self.occurred_on}"


class Complaint(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="complaints",
                               verbose_name=_("client"))
    rm = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="complaints", verbose_name=_("RM"))
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=TEXT_NOTE,
                                   validators=text_validators(TEXT_NOTE))
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("respond by"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, max_length=TEXT_NOTE,
                                  validators=text_validators(TEXT_NOTE))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="client__branch", own=_book_of_client)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [
            models.CheckConstraint(condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("opened_at")),
                                   name="complaint_resolved_after_opened"),
            models.CheckConstraint(condition=Q(due_at__gte=F("opened_at")),
                                   name="complaint_due_after_opened"),
        ]

    def __str__(self):
        return self.subject

    @property
    def response_time(self):
        return self.resolved_at - self.opened_at if self.resolved_at else None


class LoanTerm(models.TextChoices):
    LE6M = "le6m", _("Up to 6 months")
    M6_1Y = "6m_1y", _("6 months to 1 year")
    Y1_3Y = "1y_3y", _("1 to 3 years")
    Y3_5Y = "3y_5y", _("3 to 5 years")
    GT5Y = "gt5y", _("Over 5 years")


class MonthlyBusiness(models.Model):
    """One client's business in one month (DOMAIN 2.1). ``month`` is the month's first day."""

    # No separate index on client: the unique (client, month) index serves lookups by client, and
    # every index costs the monthly import time.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="monthly",
                               verbose_name=_("client"), db_index=False)
    month = models.DateField(_("month"), validators=[validate_month])
    deposit_avg_balance = MoneyField(_("deposit daily average"), default=MONEY_ZERO)
    deposit_interest_expense = MoneyField(_("deposit interest expense"), default=MONEY_ZERO)
    deposit_accounts = models.PositiveIntegerField(_("deposit accounts"), default=0)
    loan_avg_balance = MoneyField(_("loan daily average"), default=MONEY_ZERO)
    loan_interest_income = MoneyField(_("loan interest income"), default=MONEY_ZERO)
    loan_accounts = models.PositiveIntegerField(_("loan accounts"), default=0)
    loan_term = models.CharField(_("loan term"), max_length=6, choices=LoanTerm.choices, blank=True)
    loan_npl_balance = MoneyField(_("non-performing loans"), default=MONEY_ZERO)
    wm_income = MoneyField(_("WM income"), default=MONEY_ZERO)
    wm_expense = MoneyField(_("WM expense"), default=MONEY_ZERO)
    wm_tx_count = models.PositiveIntegerField(_("WM transactions"), default=0)
    wm_sales = MoneyField(_("WM sales"), default=MONEY_ZERO)
    card_count = models.PositiveIntegerField(_("cards"), default=0)
    card_deposit_income = MoneyField(_("card deposit income"), default=MONEY_ZERO)
    card_overdraft_income = MoneyField(_("card overdraft income"), default=MONEY_ZERO)
    card_fee_income = MoneyField(_("card fee income"), default=MONEY_ZERO)
    card_annual_fee_income = MoneyField(_("card annual-fee income"), default=MONEY_ZERO)
    card_rebate_income = MoneyField(_("card rebate income"), default=MONEY_ZERO)
    insurance_sales = MoneyField(_("insurance sales"), default=MONEY_ZERO)
    fund_sales = MoneyField(_("fund sales"), default=MONEY_ZERO)
    bond_sales = MoneyField(_("bond sales"), default=MONEY_ZERO)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="client__branch", own=_book_of_client,
                  actions={"import": frozenset({scoping.HR})})

    NON_NEGATIVE = ("deposit_avg_balance", "loan_avg_balance", "loan_npl_balance", "wm_sales",
                    "insurance_sales", "fund_sales", "bond_sales")

    class Meta:
        ordering = ["client_id", "month"]
        verbose_name = _("monthly business")
        verbose_name_plural = _("monthly business")
        constraints = [
            models.UniqueConstraint(fields=["client", "month"], name="one_monthly_row_per_client"),
            models.CheckConstraint(
                condition=Q(deposit_avg_balance__gte=0, loan_avg_balance__gte=0, loan_npl_balance__gte=0,
                            wm_sales__gte=0, insurance_sales__gte=0, fund_sales__gte=0, bond_sales__gte=0),
                name="monthly_balances_and_sales_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.client_id} {self.month:%Y-%m}"

    @property
    def aum(self) -> Decimal:
        return self.deposit_avg_balance + self.wm_sales


class ParameterKey(models.TextChoices):
    TAX_RATE = "tax_rate", _("Business tax and surcharges rate")
    FTP_DEPOSIT = "ftp_deposit", _("Deposit FTP rate (annual)")
    FTP_LOAN_LE6M = "ftp_loan_le6m", _("Loan FTP rate, up to 6 months")
    FTP_LOAN_6M_1Y = "ftp_loan_6m_1y", _("Loan FTP rate, 6 months to 1 year")
    FTP_LOAN_1Y_3Y = "ftp_loan_1y_3y", _("Loan FTP rate, 1 to 3 years")
    FTP_LOAN_3Y_5Y = "ftp_loan_3y_5y", _("Loan FTP rate, 3 to 5 years")
    FTP_LOAN_GT5Y = "ftp_loan_gt5y", _("Loan FTP rate, over 5 years")
    COST_LOAN = "cost_loan", _("Planned monthly cost, loans")
    COST_DEPOSIT = "cost_deposit", _("Planned monthly cost, deposits")
    COST_WM = "cost_wm", _("Planned monthly cost, wealth management")
    COST_CARD = "cost_card", _("Planned monthly cost, cards")
    CAPITAL_RATIO = "capital_ratio", _("Capital ratio on loans")
    COST_OF_CAPITAL = "cost_of_capital", _("Cost of capital (annual)")


class ContributionParameter(models.Model):
    """A contribution parameter for a month; branch NULL is the bank-wide default (DOMAIN 2.2)."""

    branch = models.ForeignKey(Branch, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="parameters", verbose_name=_("branch"))
    month = models.DateField(_("month"), validators=[validate_month])
    key = models.CharField(_("parameter"), max_length=20, choices=ParameterKey.choices)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=8)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", actions={"import": frozenset({scoping.HR})})

    class Meta:
        ordering = ["month", "branch_id", "key"]
        verbose_name = _("contribution parameter")
        verbose_name_plural = _("contribution parameters")
        constraints = [
            models.UniqueConstraint(fields=["branch", "month", "key"], condition=Q(branch__isnull=False),
                                    name="one_branch_parameter_per_month"),
            models.UniqueConstraint(fields=["month", "key"], condition=Q(branch__isnull=True),
                                    name="one_bank_parameter_per_month"),
        ]

    def __str__(self):
        return f"{self.branch_id or '*'} {self.month:%Y-%m} {self.key}={self.value}"


class BranchMonthCost(models.Model):
    """The unit costs of a branch-month: planned cost ÷ accounts, cards or WM transactions."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="unit_costs")
    month = models.DateField(_("month"), validators=[validate_month])
    loan_accounts = models.BigIntegerField(default=0)
    deposit_accounts = models.BigIntegerField(default=0)
    wm_tx_count = models.BigIntegerField(default=0)
    card_count = models.BigIntegerField(default=0)
    unit_cost_loan = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    unit_cost_deposit = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    unit_cost_wm = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    unit_cost_card = models.DecimalField(max_digits=30, decimal_places=12, default=0)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "month"], name="one_cost_row_per_branch_month")]


class ClientContribution(models.Model):
    """Stored contribution of a client-month; each component rounded to the cent (DOMAIN 2.2).

    Revenue components (method 2) and profit components (method 3) are kept separately because
    each is rounded on its own; the volume (method 1) and EVA's capital charge (method 4) too.
    """

    # Derived data, rebuilt by the engine (which also removes rows whose source is gone): no
    # single-column indexes beside the (client, month) and (branch, month) ones, and no database
    # foreign-key checks, which would double the cost of valuing a month; deletes still cascade
    # through the ORM.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contributions",
                               db_index=False, db_constraint=False)
    month = models.DateField(_("month"), validators=[validate_month])
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="contributions",
                               db_index=False, db_constraint=False)
    volume = MoneyField(default=MONEY_ZERO)
    loan_revenue = MoneyField(default=MONEY_ZERO)
    deposit_revenue = MoneyField(default=MONEY_ZERO)
    wm_revenue = MoneyField(default=MONEY_ZERO)
    card_revenue = MoneyField(default=MONEY_ZERO)
    loan_profit = MoneyField(default=MONEY_ZERO)
    deposit_profit = MoneyField(default=MONEY_ZERO)
    wm_profit = MoneyField(default=MONEY_ZERO)
    card_profit = MoneyField(default=MONEY_ZERO)
    capital_charge = MoneyField(default=MONEY_ZERO)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", own=_book_of_client)

    class Meta:
        ordering = ["client_id", "month"]
        constraints = [models.UniqueConstraint(fields=["client", "month"], name="one_contribution_per_client_month")]
        indexes = [models.Index(fields=["branch", "month"]), models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.client_id} {self.month:%Y-%m}"


class BookMonth(models.Model):
    """An RM's book in one month, pre-aggregated for the dashboards (DOMAIN 2, 2.1, 2.2).

    The month's business belongs to the RM whose assignment covers the month's last day. Rebuilt
    by ``clients.books.book_months_refresh`` whenever the month's contribution is recomputed
    (monthly data or parameters imported) or its ownership changes (back-dated assignments).
    """

    # Derived like ClientContribution: no database foreign-key checks, deletes cascade in the ORM.
    rm = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="book_months",
                           db_index=False, db_constraint=False)
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="book_months",
                               db_index=False, db_constraint=False)
    month = models.DateField(_("month"), validators=[validate_month])
    clients = models.IntegerField(_("clients"), default=0)
    private_affluent = models.IntegerField(_("private and affluent clients"), default=0)
    deposit = MoneyField(_("deposit average balance"), default=MONEY_ZERO)
    loan = MoneyField(_("loan average balance"), default=MONEY_ZERO)
    aum = MoneyField(_("AUM"), default=MONEY_ZERO)
    volume = MoneyField(_("business volume"), default=MONEY_ZERO)
    revenue = MoneyField(_("revenue contribution"), default=MONEY_ZERO)
    profit = MoneyField(_("profit contribution"), default=MONEY_ZERO)
    eva = MoneyField(_("economic value added"), default=MONEY_ZERO)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", own=lambda employee: Q(rm=employee))

    class Meta:
        ordering = ["branch_id", "month", "rm_id"]
        constraints = [models.UniqueConstraint(fields=["branch", "month", "rm"], name="one_book_row_per_rm_month")]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.rm_id} {self.month:%Y-%m}"


class StatementLine(models.TextChoices):
    """The chart of financial-statement lines (DOMAIN 2.3, seed art. 11); documented in the README.

    Balance-sheet lines are balances at the period end; income-statement and cash-flow lines are the
    period's amounts (a quarter's own three months, not year to date).
    """

    # Balance sheet — assets
    CASH = "cash", _("Cash and cash equivalents")
    NOTES_RECEIVABLE = "notes_receivable", _("Notes receivable")
    ACCOUNTS_RECEIVABLE = "accounts_receivable", _("Accounts receivable")
    PREPAYMENTS = "prepayments", _("Prepayments")
    OTHER_RECEIVABLES = "other_receivables", _("Other receivables")
    INVENTORY = "inventory", _("Inventory")
    OTHER_CURRENT_ASSETS = "other_current_assets", _("Other current assets")
    TOTAL_CURRENT_ASSETS = "total_current_assets", _("Total current assets")
    LONG_TERM_INVESTMENTS = "long_term_investments", _("Long-term equity investments")
    FIXED_ASSETS = "fixed_assets", _("Fixed assets")
    CONSTRUCTION_IN_PROGRESS = "construction_in_progress", _("Construction in progress")
    INTANGIBLE_ASSETS = "intangible_assets", _("Intangible assets")
    OTHER_NON_CURRENT_ASSETS = "other_non_current_assets", _("Other non-current assets")
    TOTAL_ASSETS = "total_assets", _("Total assets")
    # Balance sheet — liabilities
    SHORT_TERM_BORROWINGS = "short_term_borrowings", _("Short-term borrowings")
    NOTES_PAYABLE = "notes_payable", _("Notes payable")
    ACCOUNTS_PAYABLE = "accounts_payable", _("Accounts payable")
    ADVANCES_FROM_CUSTOMERS = "advances_from_customers", _("Advances from customers")
    OTHER_PAYABLES = "other_payables", _("Other payables")
    TOTAL_CURRENT_LIABILITIES = "total_current_liabilities", _("Total current liabilities")
    LONG_TERM_BORROWINGS = "long_term_borrowings", _("Long-term borrowings")
    OTHER_NON_CURRENT_LIABILITIES = "other_non_current_liabilities", _("Other non-current liabilities")
    TOTAL_LIABILITIES = "total_liabilities", _("Total liabilities")
    # Balance sheet — equity
    PAID_IN_CAPITAL = "paid_in_capital", _("Paid-in capital")
    CAPITAL_RESERVE = "capital_reserve", _("Capital reserve")
    SURPLUS_RESERVE = "surplus_reserve", _("Surplus reserve")
    RETAINED_EARNINGS = "retained_earnings", _("Retained earnings")
    TOTAL_EQUITY = "total_equity", _("Total owners' equity")
    # Income statement
    REVENUE = "revenue", _("Operating revenue")
    COST_OF_SALES = "cost_of_sales", _("Operating cost")
    TAXES_AND_SURCHARGES = "taxes_and_surcharges", _("Taxes and surcharges")
    SELLING_EXPENSES = "selling_expenses", _("Selling expenses")
    ADMIN_EXPENSES = "admin_expenses", _("Administrative expenses")
    FINANCIAL_EXPENSES = "financial_expenses", _("Financial expenses")
    INVESTMENT_INCOME = "investment_income", _("Investment income")
    OPERATING_PROFIT = "operating_profit", _("Operating profit")
    NON_OPERATING_INCOME = "non_operating_income", _("Non-operating income")
    NON_OPERATING_EXPENSES = "non_operating_expenses", _("Non-operating expenses")
    TOTAL_PROFIT = "total_profit", _("Total profit")
    INCOME_TAX = "income_tax", _("Income tax")
    NET_PROFIT = "net_profit", _("Net profit")
    PROFIT_DISTRIBUTED = "profit_distributed", _("Profit distributed")
    # Cash-flow statement
    OPERATING_CASH_FLOW = "operating_cash_flow", _("Net cash flow from operating activities")
    INVESTING_CASH_FLOW = "investing_cash_flow", _("Net cash flow from investing activities")
    FINANCING_CASH_FLOW = "financing_cash_flow", _("Net cash flow from financing activities")
    NET_CHANGE_IN_CASH = "net_change_in_cash", _("Net increase in cash and cash equivalents")


class FinancialStatement(models.Model):
    """A corporate credit client's statements for one year (``2025``) or quarter (``2025-Q3``)."""

    class Kind(models.TextChoices):
        YEAR = "year", _("Year")
        QUARTER = "quarter", _("Quarter")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="statements",
                               verbose_name=_("client"))
    period = models.CharField(_("period"), max_length=7, validators=[validate_period])
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    period_end = models.DateField(_("period end"))
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="client__branch", own=_book_of_client,
                  actions={"change": frozenset({scoping.RM, scoping.BRANCH_MANAGER, scoping.HR})})

    class Meta:
        ordering = ["client_id", "period_end", "kind"]
        verbose_name = _("financial statement")
        verbose_name_plural = _("financial statements")
        constraints = [models.UniqueConstraint(fields=["client", "period"], name="one_statement_per_client_period")]

    def __str__(self):
        return f"{self.client_id} {self.period}"


class StatementEntry(models.Model):
    """One line of a financial statement."""

    statement = models.ForeignKey(FinancialStatement, on_delete=models.CASCADE, related_name="entries",
                                  verbose_name=_("financial statement"))
    line = models.CharField(_("line item"), max_length=40, choices=StatementLine.choices)
    amount = MoneyField(_("amount"), max_digits=20)  # statements of large companies

    class Meta:
        ordering = ["statement_id", "id"]
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        constraints = [models.UniqueConstraint(fields=["statement", "line"], name="one_amount_per_statement_line")]

    def __str__(self):
        return f"{self.statement_id} {self.line} {self.amount}"


class StatementFlag(models.Model):
    """A red flag raised by a statement check (DOMAIN 2.3), with the figures behind it and the RM's
    explanation. ``subject`` tells several flags of one rule apart (e.g. the account that swung)."""

    class Severity(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        EXPLAINED = "explained", _("Explained")
        ESCALATED = "escalated", _("Escalated")

    statement = models.ForeignKey(FinancialStatement, on_delete=models.CASCADE, related_name="flags",
                                  verbose_name=_("financial statement"))
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="statement_flags",
                               verbose_name=_("client"))
    rule = models.CharField(_("check"), max_length=40)
    subject = models.CharField(_("subject"), max_length=40, blank=True, default="")
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    figures = models.JSONField(_("figures"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    explanation = models.TextField(_("explanation"), blank=True, max_length=TEXT_JUSTIFICATION,
                                   validators=text_validators(TEXT_JUSTIFICATION))
    explained_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("explained by"))
    explained_at = models.DateTimeField(_("explained at"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="client__branch", own=_book_of_client,
                  actions={"explain": frozenset({scoping.RM, scoping.BRANCH_MANAGER, scoping.HR})})

    class Meta:
        ordering = ["client_id", "statement_id", "rule", "subject"]
        verbose_name = _("statement flag")
        verbose_name_plural = _("statement flags")
        constraints = [
            models.UniqueConstraint(fields=["statement", "rule", "subject"], name="one_flag_per_statement_rule_subject"),
            models.CheckConstraint(condition=Q(status="open") | ~Q(explanation=""),
                                   name="statement_flag_closed_with_explanation"),
        ]
        indexes = [models.Index(fields=["client", "status"])]

    def __str__(self):
        return f"{self.rule} {self.subject} {self.statement_id}".strip()


class ImportJob(models.Model):
    """An uploaded file imported in the background, so that a large import shows its progress
    instead of a frozen page (DOMAIN 6). The file is kept in the row until the job finishes."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        # Checked and previewed (a dry run); stored once the uploader confirms.
        AWAITING = "awaiting", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed, storing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20)
    filename = models.CharField(_("file"), max_length=255)
    content = models.BinaryField(_("content"), editable=False)
    replace = models.BooleanField(_("replace"), default=False)
    # Uploaded from the page: previewed by a dry run first, stored once the uploader confirms.
    confirm_first = models.BooleanField(_("preview first"), default=False)
    # A replace deleting more than 5 % of a branch-month's rows was confirmed.
    confirm_delete = models.BooleanField(_("deletion confirmed"), default=False)
    # The dry run's figures: counts and groups of the ImportResult.
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("uploaded by"))
    # The worker reports in the language of the page the file came from.
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The worker running the job writes this every few seconds: a job whose heartbeat stopped
    # lost its worker.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    # How many times it was queued (the upload, then each retry); a task carries the attempt it
    # was queued for, so that a stale message never takes over a later attempt.
    attempts = models.PositiveIntegerField(_("attempts"), default=1)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch=None, actions={"import": frozenset({scoping.HR})})  # imports are HR's (bank-wide)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self):
        return f"{self.kind} {self.filename} {self.status}"


class ImportBatch(models.Model):
    """What one import stored (DOMAIN 6): its counts, the branches and months it touched, and,
    in its rows, the before-image of every row it updated or deleted and the keys of the rows it
    created, so that it can be undone. An undo is a batch of its own (``undo_of``)."""

    class Mode(models.TextChoices):
        UPSERT = "upsert", _("Add and update")
        REPLACE = "replace", _("Replace")
        UNDO = "undo", _("Undo")

    kind = models.CharField(_("kind"), max_length=20)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.UPSERT)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("imported by"))
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    job = models.OneToOneField(ImportJob, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="batch", verbose_name=_("import job"))
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    months = models.JSONField(_("months"), default=list, blank=True)  # "YYYY-MM"
    branches = models.JSONField(_("branches"), default=list, blank=True)  # branch codes
    # Per branch and month: created, updated, unchanged, deleted, stored before.
    groups = models.JSONField(_("per branch and month"), default=list, blank=True)
    undo_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="undone_by", verbose_name=_("undo of"))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch=None, actions={"import": frozenset({scoping.HR})})  # imports are HR's (bank-wide)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        indexes = [models.Index(fields=["kind", "-created_at"])]

    def __str__(self):
        return f"{self.kind} {self.filename} {self.mode} #{self.pk}"


class ImportBatchRow(models.Model):
    """One row an import batch changed: ``model`` (app_label.model) and primary key, the action,
    and for updated and deleted rows the row as it was before (its columns as JSON)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows", db_index=False)
    model = models.CharField(_("table"), max_length=100)
    object_pk = models.BigIntegerField(_("row key"))
    action = models.CharField(_("action"), max_length=7, choices=Action.choices)
    before = models.JSONField(_("before"), null=True, blank=True)

    class Meta:
        verbose_name = _("import batch row")
        verbose_name_plural = _("import batch rows")
        constraints = [
            models.UniqueConstraint(fields=["batch", "model", "object_pk"], name="one_batch_row_per_object"),
            models.CheckConstraint(condition=Q(action="created") | Q(before__isnull=False),
                                   name="batch_row_before_image_kept"),
        ]
        # Undo asks whether a later batch touched the same rows.
        indexes = [models.Index(fields=["model", "object_pk"])]

    def __str__(self):
        return f"{self.batch_id} {self.model} {self.object_pk} {self.action}"


class FormSubmission(models.Model):
    """A form post that did something, by the one-time token rendered in its form: the same
    form posted again (a double click, a reload, a resent request) is answered with the first
    post's outcome instead of doing it twice. The unique token makes two posts at the same
    moment take turns: the second waits for the first's transaction, then finds its row."""

    token = models.CharField(_("token"), max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    outcome_url = models.CharField(_("outcome"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self):
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"
