"""Schemes, indicators, targets, appraisals, bonus and the performance pool (DOMAIN 3)."""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clients.contribution import ContributionMethod
from clients.models import Branch, Employee
from core.money import MoneyField
from rmportal import scoping
from rmportal.scoping import RestrictedQuerySet, Scope
from rmportal.validators import TEXT_JUSTIFICATION, TEXT_NOTE, text_validators, validate_period
from performance.scoring import Grade, Method

RATE = {"max_digits": 8, "decimal_places": 4}
HR_ONLY = frozenset({scoping.HR})


class Scheme(models.Model):
    """An appraisal scheme (考核方案). Branch NULL: a head-office template (DOMAIN 3.1)."""

    code = models.CharField(_("scheme code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    branch = models.ForeignKey(Branch, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="schemes", verbose_name=_("branch"))
    template = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="copies", verbose_name=_("copied from"))
    is_active = models.BooleanField(_("active"), default=True)
    contribution_method = models.PositiveSmallIntegerField(
        _("client contribution method"), choices=ContributionMethod.choices, default=ContributionMethod.REVENUE)
    pool_rate = models.DecimalField(_("pool withholding rate"), **RATE, default=Decimal("0.10"))
    coefficient_excellent = models.DecimalField(_("coefficient, excellent"), **RATE, default=Decimal("1.5"))
    coefficient_good = models.DecimalField(_("coefficient, good"), **RATE, default=Decimal("1.2"))
    coefficient_pass = models.DecimalField(_("coefficient, pass"), **RATE, default=Decimal("1.0"))
    coefficient_basic = models.DecimalField(_("coefficient, basic pass"), **RATE, default=Decimal("0.8"))
    coefficient_fail = models.DecimalField(_("coefficient, fail"), **RATE, default=Decimal("0.5"))
    # Adjustment and exit rules (DOMAIN 3.4).
    warning_consecutive_fails = models.PositiveSmallIntegerField(_("consecutive fails before a warning"), default=2)
    exit_review_fails = models.PositiveSmallIntegerField(_("fails that open an exit review"), default=3)
    exit_review_window_quarters = models.PositiveSmallIntegerField(_("within quarters"), default=4)
    promotion_excellent_years = models.PositiveSmallIntegerField(
        _("excellent annual grades for a promotion candidate"), default=2)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    # Templates (branch NULL) are visible to every branch role: they are head office's documents.
    scope = Scope(branch="branch", actions={"change": HR_ONLY})

    class Meta:
        ordering = ["code"]
        verbose_name = _("appraisal scheme")
        verbose_name_plural = _("appraisal schemes")
        constraints = [
            models.CheckConstraint(condition=Q(pool_rate__gte=0, pool_rate__lt=1), name="scheme_pool_rate_0_to_1"),
            models.UniqueConstraint(fields=["branch"], condition=Q(is_active=True, branch__isnull=False),
                                    name="one_active_scheme_per_branch"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def grade_coefficient(self, grade: str) -> Decimal:
        return getattr(self, f"coefficient_{grade}")


class Indicator(models.Model):
    class Category(models.TextChoices):
        COMPREHENSIVE = "comprehensive", _("Comprehensive evaluation")
        PERFORMANCE = "performance", _("Work performance")
        ADJUSTMENT = "adjustment", _("Adjustment")

    class Source(models.TextChoices):
        METRIC = "metric", _("Computed metric")
        MANUAL = "manual", _("Manual score")
        SURVEY = "survey", _("Satisfaction survey")
        CHURN = "churn", _("Client churn")

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="indicators",
                               verbose_name=_("scheme"))
    code = models.CharField(_("indicator code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    category = models.CharField(_("category"), max_length=15, choices=Category.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    metric = models.CharField(_("metric"), max_length=40, blank=True)
    weight = models.DecimalField(_("weight (points)"), max_digits=6, decimal_places=2)
    method = models.CharField(_("scoring method"), max_length=10, choices=Method.choices)
    target = models.DecimalField(_("default target"), max_digits=20, decimal_places=6, null=True, blank=True)
    cap = models.DecimalField(_("cap"), max_digits=8, decimal_places=4, null=True, blank=True)
    ceiling = models.DecimalField(_("ceiling"), max_digits=20, decimal_places=6, null=True, blank=True)
    bands = models.JSONField(_("bands"), default=list, blank=True)
    applies_month = models.BooleanField(_("monthly"), default=False)
    applies_quarter = models.BooleanField(_("quarterly"), default=False)
    applies_year = models.BooleanField(_("annual"), default=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="scheme__branch", actions={"change": HR_ONLY})

    class Meta:
        ordering = ["scheme_id", "position", "id"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="indicator_code_unique_in_scheme"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="indicator_weight_positive"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def applies_to(self, period_kind: str) -> bool:
        return getattr(self, f"applies_{period_kind}")

    @property
    def band_table(self) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(str(t)), Decimal(str(f))) for t, f in self.bands]


class Target(models.Model):
    """A target for one RM, indicator and period; overrides the scheme's default (DOMAIN 3.1.1)."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="targets",
                                 verbose_name=_("employee"))
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets",
                                  verbose_name=_("indicator"))
    period = models.CharField(_("period"), max_length=7, validators=[validate_period])
    value = models.DecimalField(_("target"), max_digits=20, decimal_places=6)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=lambda e: Q(employee=e),
                  actions={"change": frozenset({scoping.HR, scoping.BRANCH_MANAGER})})

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [models.UniqueConstraint(fields=["employee", "indicator", "period"],
                                               name="one_target_per_rm_indicator_period")]


class Budget(models.Model):
    """The bonus budget B of a branch and period, set by HR (DOMAIN 3.5)."""

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="budgets",
                               verbose_name=_("branch"))
    period = models.CharField(_("period"), max_length=7, validators=[validate_period])
    amount = MoneyField(_("amount"))
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", actions={"change": HR_ONLY})

    class Meta:
        verbose_name = _("bonus budget")
        verbose_name_plural = _("bonus budgets")
        constraints = [
            models.UniqueConstraint(fields=["branch", "period"], name="one_budget_per_branch_period"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budget_not_negative"),
        ]


class Appraisal(models.Model):
    class State(models.TextChoices):
        COMPUTED = "computed", _("Computed")
        SUBMITTED = "submitted", _("Submitted")
        REVIEWED = "reviewed", _("Reviewed")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")

    # States whose numbers are frozen: late data no longer recomputes them (DOMAIN 3.3).
    FROZEN = frozenset({State.APPROVED, State.PUBLISHED, State.ACKNOWLEDGED})
    VISIBLE_TO_RM = frozenset({State.PUBLISHED, State.ACKNOWLEDGED})

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="appraisals",
                                 verbose_name=_("RM"))
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="appraisals",
                               verbose_name=_("scheme"))
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="appraisals",
                               verbose_name=_("branch"))
    period = models.CharField(_("period"), max_length=7, db_index=True, validators=[validate_period])
    period_kind = models.CharField(_("period kind"), max_length=7)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.COMPUTED)
    total = models.DecimalField(_("total score"), max_digits=5, decimal_places=2, default=Decimal("0"))
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices, blank=True)
    missing = models.JSONField(_("missing inputs"), default=list, blank=True)
    computed_at = models.DateTimeField(_("computed at"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    appealed = models.BooleanField(_("appealed"), default=False)
    comment = models.TextField(_("last comment"), blank=True, max_length=TEXT_NOTE,
                               validators=text_validators(TEXT_NOTE))
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(
        branch="branch",
        own=lambda e: Q(employee=e, state__in=["published", "acknowledged"]),
        actions={
            "score": frozenset({scoping.BRANCH_MANAGER}),
            "submit": frozenset({scoping.BRANCH_MANAGER}),
            "review": frozenset({scoping.REVIEWER}),
            "approve": frozenset({scoping.HR}),
            "publish": frozenset({scoping.HR}),
            "reopen": frozenset({scoping.HR}),
            "respond": frozenset({scoping.RM}),
            # Pages: the unit's appraisal table, the RM's own list, the queue, calibration, the run.
            "browse": scoping.MANAGER_ROLES,
            "view_own": frozenset({scoping.RM}),
            "queue": frozenset({scoping.REVIEWER, scoping.HR}),
            "calibrate": frozenset({scoping.REVIEWER, scoping.HR}),
            "compute": HR_ONLY,
        },
    )

    class Meta:
        ordering = ["period", "branch_id", "employee_id"]
        verbose_name = _("appraisal")
        verbose_name_plural = _("appraisals")
        constraints = [
            models.UniqueConstraint(fields=["employee", "scheme", "period"], name="one_appraisal_per_rm_scheme_period"),
            models.CheckConstraint(condition=Q(total__gte=0, total__lte=100), name="appraisal_total_0_to_100"),
        ]
        indexes = [models.Index(fields=["branch", "period", "state"])]

    def __str__(self):
        return f"{self.employee_id} {self.period}"


class AppraisalLine(models.Model):
    """One indicator of one appraisal: actual, target, effective weight and unrounded points."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="lines",
                                  verbose_name=_("appraisal"))
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="lines",
                                  verbose_name=_("indicator"))
    weight = models.DecimalField(_("effective weight"), max_digits=12, decimal_places=6)
    actual = models.DecimalField(_("actual"), max_digits=24, decimal_places=6, null=True, blank=True)
    target = models.DecimalField(_("target"), max_digits=20, decimal_places=6, null=True, blank=True)
    manual_score = models.DecimalField(_("manual score"), max_digits=8, decimal_places=2, null=True, blank=True)
    points = models.DecimalField(_("points"), max_digits=20, decimal_places=10, null=True, blank=True)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="appraisal__branch",
                  own=lambda e: Q(appraisal__employee=e, appraisal__state__in=["published", "acknowledged"]))

    class Meta:
        ordering = ["appraisal_id", "indicator__position", "indicator_id"]
        verbose_name = _("appraisal line")
        verbose_name_plural = _("appraisal lines")
        constraints = [models.UniqueConstraint(fields=["appraisal", "indicator"], name="one_line_per_indicator")]


class Signal(models.Model):
    """What the adjustment and exit rules found (DOMAIN 3.4); careers consumes them."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        EXIT_REVIEW = "exit_review", _("Exit review")
        PROMOTION_CANDIDATE = "promotion_candidate", _("Promotion candidate")

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="appraisal_signals",
                                 verbose_name=_("employee"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    period = models.CharField(_("period"), max_length=7, validators=[validate_period])
    detail = models.CharField(_("detail"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["employee", "kind", "period"], name="one_signal_per_kind_period")]


class BonusStatement(models.Model):
    """An RM's bonus for a period: share, bonus, withheld into the pool, paid (DOMAIN 3.5)."""

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="bonus_statements",
                                 verbose_name=_("RM"))
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="bonus_statements",
                               verbose_name=_("branch"))
    period = models.CharField(_("period"), max_length=7, validators=[validate_period])
    appraisal = models.OneToOneField(Appraisal, on_delete=models.PROTECT, related_name="bonus",
                                     verbose_name=_("appraisal"))
    level_coefficient = models.DecimalField(_("level coefficient"), max_digits=6, decimal_places=3)
    grade_coefficient = models.DecimalField(_("grade coefficient"), **RATE)
    bonus = MoneyField(_("bonus"))
    withheld = MoneyField(_("withheld for the pool"))
    paid = MoneyField(_("paid"))
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", own=lambda e: Q(employee=e),
                  actions={"browse": frozenset({scoping.BRANCH_MANAGER, scoping.DEPARTMENT_HEAD, scoping.HR})})

    class Meta:
        ordering = ["period", "branch_id", "employee_id"]
        verbose_name = _("bonus statement")
        verbose_name_plural = _("bonus statements")
        constraints = [
            models.UniqueConstraint(fields=["employee", "period"], name="one_bonus_per_rm_period"),
            # paid = bonus − withheld is kept by bonus_compute (and tested) rather than by a CHECK:
            # SQLite, the development database, compares decimals as floats and would refuse exact cents.
            models.CheckConstraint(condition=Q(bonus__gte=0, withheld__gte=0, paid__gte=0), name="bonus_not_negative"),
        ]


class PerformancePool(models.Model):
    """The performance pool (公共绩效池) of a unit; ``balance`` mirrors the ledger and never goes negative."""

    branch = models.OneToOneField(Branch, on_delete=models.PROTECT, related_name="pool", verbose_name=_("unit"))
    balance = MoneyField(_("balance"), default=Decimal("0"))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="branch", actions={"allocate": frozenset({scoping.DEPARTMENT_HEAD}),
                                            "browse": scoping.MANAGER_ROLES})

    class Meta:
        verbose_name = _("performance pool")
        verbose_name_plural = _("performance pools")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="pool_balance_not_negative")]

    def __str__(self):
        return f"{self.branch} {self.balance}"


class PoolEntry(models.Model):
    """Append-only ledger: contributions in, allocations out, reversals of allocations back in."""

    class Kind(models.TextChoices):
        CONTRIBUTION = "contribution", _("Contribution")
        ALLOCATION = "allocation", _("Allocation")
        REVERSAL = "reversal", _("Reversal")

    class Reason(models.TextChoices):
        SPECIAL_CIRCUMSTANCE = "special_circumstance", _("Special circumstances")
        DILIGENCE = "diligence", _("Diligent without results")

    pool = models.ForeignKey(PerformancePool, on_delete=models.PROTECT, related_name="entries",
                             verbose_name=_("pool"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    amount = MoneyField(_("amount"))
    period = models.CharField(_("period"), max_length=7, validators=[validate_period])
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="pool_entries",
                                 verbose_name=_("RM"))
    reason = models.CharField(_("reason"), max_length=25, choices=Reason.choices, blank=True)
    justification = models.TextField(_("justification"), blank=True, max_length=TEXT_JUSTIFICATION,
                                     validators=text_validators(TEXT_JUSTIFICATION))
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reversed_by", verbose_name=_("reverses"))
    bonus = models.ForeignKey(BonusStatement, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="pool_entries", verbose_name=_("bonus statement"))
    balance_after = MoneyField(_("balance after"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("by"))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="pool__branch", own=lambda e: Q(employee=e, kind__in=["allocation", "reversal"]))

    class Meta:
        ordering = ["pool_id", "id"]
        verbose_name = _("pool entry")
        verbose_name_plural = _("pool entries")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pool_entry_amount_positive"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="pool_entry_balance_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="allocation") | ~Q(reason=""), name="pool_allocation_has_reason"),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | Q(reverses__isnull=False), name="pool_reversal_names_allocation"),
        ]
        indexes = [models.Index(fields=["pool", "period"]), models.Index(fields=["employee", "kind"])]


class ScheduledRun(models.Model):
    """One run of a scheduled job (monthly appraisals, retention scoring, reminders), for the
    operations page: when it started and finished, which branches are done, which failed."""

    class Kind(models.TextChoices):
        APPRAISALS = "appraisals", _("Appraisals")
        RETENTION = "retention", _("Retention-risk scoring")
        REMINDERS = "reminders", _("Reminders")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partly failed")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("job"), max_length=12, choices=Kind.choices)
    key = models.CharField(_("period or month"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    branches_total = models.PositiveIntegerField(_("branches"), default=0)
    branches_done = models.JSONField(_("branches done"), default=list, blank=True)
    failures = models.JSONField(_("failures"), default=dict, blank=True)
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("triggered by"))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch=None, actions={"trigger": HR_ONLY})  # bank-wide: HR only

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        indexes = [models.Index(fields=["kind", "key"])]

    def __str__(self):
        return f"{self.kind} {self.key} {self.status}"
