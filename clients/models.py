"""Organisation, clients, their RMs and their monthly business (DOMAIN 1, 2)."""
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from rmportal import scoping
from rmportal.scoping import RestrictedQuerySet, Scope

MONEY = {"max_digits": 18, "decimal_places": 2, "default": Decimal("0.00")}


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
    scope = Scope(branch="pk", actions={"change": frozenset({scoping.HR})})

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
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    left_on = models.DateField(_("left on"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(
        branch="branch",
        own=lambda employee: Q(pk=employee.pk),
        actions={"change": frozenset({scoping.HR}),
                 "reassign": frozenset({scoping.HR, scoping.BRANCH_MANAGER})},
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
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    lost_on = models.DateField(_("lost on"), null=True, blank=True)
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
        indexes = [models.Index(fields=["branch", "status"])]

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
    started_on = models.DateField(_("from"))
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
    occurred_on = models.DateField(_("date"))
    score = models.PositiveSmallIntegerField(_("satisfaction score"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=30, blank=True)
    comment = models.TextField(_("comment"), blank=True)

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
    description = models.TextField(_("description"), blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("respond by"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

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
    month = models.DateField(_("month"))
    deposit_avg_balance = models.DecimalField(_("deposit daily average"), **MONEY)
    deposit_interest_expense = models.DecimalField(_("deposit interest expense"), **MONEY)
    deposit_accounts = models.PositiveIntegerField(_("deposit accounts"), default=0)
    loan_avg_balance = models.DecimalField(_("loan daily average"), **MONEY)
    loan_interest_income = models.DecimalField(_("loan interest income"), **MONEY)
    loan_accounts = models.PositiveIntegerField(_("loan accounts"), default=0)
    loan_term = models.CharField(_("loan term"), max_length=6, choices=LoanTerm.choices, blank=True)
    loan_npl_balance = models.DecimalField(_("non-performing loans"), **MONEY)
    wm_income = models.DecimalField(_("WM income"), **MONEY)
    wm_expense = models.DecimalField(_("WM expense"), **MONEY)
    wm_tx_count = models.PositiveIntegerField(_("WM transactions"), default=0)
    wm_sales = models.DecimalField(_("WM sales"), **MONEY)
    card_count = models.PositiveIntegerField(_("cards"), default=0)
    card_deposit_income = models.DecimalField(_("card deposit income"), **MONEY)
    card_overdraft_income = models.DecimalField(_("card overdraft income"), **MONEY)
    card_fee_income = models.DecimalField(_("card fee income"), **MONEY)
    card_annual_fee_income = models.DecimalField(_("card annual-fee income"), **MONEY)
    card_rebate_income = models.DecimalField(_("card rebate income"), **MONEY)
    insurance_sales = models.DecimalField(_("insurance sales"), **MONEY)
    fund_sales = models.DecimalField(_("fund sales"), **MONEY)
    bond_sales = models.DecimalField(_("bond sales"), **MONEY)

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
    month = models.DateField(_("month"))
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
    month = models.DateField(_("month"))
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
    month = models.DateField(_("month"))
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="contributions",
                               db_index=False, db_constraint=False)
    volume = models.DecimalField(**MONEY)
    loan_revenue = models.DecimalField(**MONEY)
    deposit_revenue = models.DecimalField(**MONEY)
    wm_revenue = models.DecimalField(**MONEY)
    card_revenue = models.DecimalField(**MONEY)
    loan_profit = models.DecimalField(**MONEY)
    deposit_profit = models.DecimalField(**MONEY)
    wm_profit = models.DecimalField(**MONEY)
    card_profit = models.DecimalField(**MONEY)
    capital_charge = models.DecimalField(**MONEY)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", own=_book_of_client)

    class Meta:
        ordering = ["client_id", "month"]
        constraints = [models.UniqueConstraint(fields=["client", "month"], name="one_contribution_per_client_month")]
        indexes = [models.Index(fields=["branch", "month"]), models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.client_id} {self.month:%Y-%m}"
