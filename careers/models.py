"""Career paths: job sequences and levels, career records, interviews and exits (DOMAIN 4)."""
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from rmportal import scoping
from rmportal.scoping import RestrictedQuerySet, Scope
from rmportal.validators import (TEXT_NOTE, text_validators, validate_month, validate_past_date,
                                 validate_plausible_date)




class JobSequence(models.Model):
    """A job sequence (岗位序列), e.g. personal RM, corporate RM, wealth advisor."""

    code = models.CharField(_("sequence code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    interview_interval_months = models.PositiveSmallIntegerField(_("interview interval (months)"), default=6)
    norm_months_at_level = models.PositiveSmallIntegerField(_("usual months at a level"), default=36)
    norm_book_size = models.PositiveIntegerField(_("usual book size (clients)"), default=150)

    class Meta:
        ordering = ["code"]
        verbose_name = _("job sequence")
        verbose_name_plural = _("job sequences")

    def __str__(self):
        return self.name


class Level(models.Model):
    """A level (职级) within a sequence; ``rank`` orders the levels upwards."""

    sequence = models.ForeignKey(JobSequence, on_delete=models.CASCADE, related_name="levels",
                                 verbose_name=_("job sequence"))
    code = models.CharField(_("level code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    rank = models.PositiveSmallIntegerField(_("rank"))
    bonus_coefficient = models.DecimalField(_("bonus coefficient"), max_digits=6, decimal_places=3,
                                            default=Decimal("1.000"))
    # Requirements for promotion out of this level to the next (DOMAIN 4).
    min_months_at_level = models.PositiveSmallIntegerField(_("months at the level"), default=24)
    good_grades_required = models.PositiveSmallIntegerField(_("good-or-better annual grades"), default=2)
    good_grades_window = models.PositiveSmallIntegerField(_("within the last N years"), default=3)
    required_certificates = models.ManyToManyField("CertificateType", blank=True, related_name="levels",
                                                   verbose_name=_("required certificates"))
    training_hours_per_year = models.PositiveSmallIntegerField(_("training hours per year"), default=40)
    min_book_size = models.PositiveIntegerField(_("book size (clients)"), default=0)

    class Meta:
        ordering = ["sequence__code", "rank"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        constraints = [
            models.UniqueConstraint(fields=["sequence", "code"], name="level_code_unique_in_sequence"),
            models.UniqueConstraint(fields=["sequence", "rank"], name="level_rank_unique_in_sequence"),
            models.CheckConstraint(condition=models.Q(bonus_coefficient__gt=0), name="level_bonus_coefficient_positive"),
        ]

    def __str__(self):
        return f"{self.sequence.name} · {self.name}"


class CertificateType(models.Model):
    """A professional certificate, e.g. AFP, CFP, the banking qualification."""

    code = models.CharField(_("certificate code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("certificate type")
        verbose_name_plural = _("certificate types")

    def __str__(self):
        return self.name


def _own(employee) -> Q:
    return Q(employee=employee)


HR_ONLY = frozenset({scoping.HR})
HR_AND_BRANCH = frozenset({scoping.HR, scoping.BRANCH_MANAGER})
MANAGERS = scoping.MANAGER_ROLES


class LevelChange(models.Model):
    """The level history of an employee (hire, promotion, demotion, transfer, exit)."""

    class Kind(models.TextChoices):
        HIRE = "hire", _("Hire")
        PROMOTION = "promotion", _("Promotion")
        DEMOTION = "demotion", _("Demotion")
        TRANSFER = "transfer", _("Transfer")
        EXIT = "exit", _("Exit")

    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="level_changes",
                                 verbose_name=_("employee"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    effective_on = models.DateField(_("effective on"), validators=[validate_past_date])
    from_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("from level"))
    to_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("to level"))
    from_branch = models.ForeignKey("clients.Branch", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("from branch"))
    to_branch = models.ForeignKey("clients.Branch", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("to branch"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=_own, actions={"change": HR_ONLY, "browse": MANAGERS})

    class Meta:
        ordering = ["employee_id", "effective_on", "id"]
        verbose_name = _("level change")
        verbose_name_plural = _("level history")
        indexes = [models.Index(fields=["employee", "effective_on"]), models.Index(fields=["kind", "effective_on"])]

    def __str__(self):
        return f"{self.employee_id} {self.kind} {self.effective_on}"


class Certificate(models.Model):
    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="certificates",
                                 verbose_name=_("employee"))
    certificate_type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, related_name="holders",
                                         verbose_name=_("certificate"))
    obtained_on = models.DateField(_("obtained on"), validators=[validate_past_date])
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    number = models.CharField(_("certificate number"), max_length=60, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=_own, actions={"change": HR_ONLY})

    class Meta:
        ordering = ["employee_id", "-obtained_on"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [models.CheckConstraint(condition=Q(expires_on__isnull=True) | Q(expires_on__gt=F("obtained_on")),
                                              name="certificate_expires_after_obtained")]


class Training(models.Model):
    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="trainings",
                                 verbose_name=_("employee"))
    title = models.CharField(_("course"), max_length=200)
    completed_on = models.DateField(_("completed on"), validators=[validate_past_date])
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=1)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=_own, actions={"change": HR_ONLY})

    class Meta:
        ordering = ["employee_id", "-completed_on"]
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        constraints = [models.CheckConstraint(condition=Q(hours__gt=0), name="training_hours_positive")]


class Commendation(models.Model):
    """A commendation (表彰): the recognition the seed says RMs miss."""

    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="commendations",
                                 verbose_name=_("employee"))
    title = models.CharField(_("commendation"), max_length=200)
    awarded_on = models.DateField(_("awarded on"), validators=[validate_past_date])
    awarded_by = models.CharField(_("awarded by"), max_length=100, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=_own, actions={"change": HR_AND_BRANCH})

    class Meta:
        ordering = ["employee_id", "-awarded_on"]
        verbose_name = _("commendation")
        verbose_name_plural = _("commendations")


class CareerGoal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACHIEVED = "achieved", _("Achieved")
        REVISED = "revised", _("Revised")
        DROPPED = "dropped", _("Dropped")

    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="career_goals",
                                 verbose_name=_("employee"))
    target_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+", verbose_name=_("target level"))
    target_date = models.DateField(_("target date"), validators=[validate_plausible_date])
    actions = models.TextField(_("actions"), blank=True, max_length=TEXT_NOTE,
                               validators=text_validators(TEXT_NOTE))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_on = models.DateField(_("set on"))
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=_own, actions={"change": HR_ONLY})

    class Meta:
        ordering = ["employee_id", "-created_on"]
        verbose_name = _("career goal")
        verbose_name_plural = _("career goals")


class CareerInterview(models.Model):
    """A regular career interview (定期面谈) between HR and the employee."""

    class Outcome(models.TextChoices):
        ON_TRACK = "on_track", _("On track")
        NEEDS_SUPPORT = "needs_support", _("Needs support")
        READY_FOR_PROMOTION = "ready_for_promotion", _("Ready for promotion")
        AT_RISK = "at_risk", _("At risk of leaving")

    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="interviews",
                                 verbose_name=_("employee"))
    scheduled_on = models.DateField(_("scheduled on"), validators=[validate_plausible_date])
    held_on = models.DateField(_("held on"), null=True, blank=True, validators=[validate_past_date])
    interviewer = models.ForeignKey("clients.Employee", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="interviews_held", verbose_name=_("interviewer"))
    notes = models.TextField(_("notes"), blank=True, max_length=TEXT_NOTE,
                             validators=text_validators(TEXT_NOTE))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    revised_goals = models.TextField(_("revised goals"), blank=True, max_length=TEXT_NOTE,
                                     validators=text_validators(TEXT_NOTE))

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", own=_own, actions={"change": HR_ONLY, "browse": MANAGERS})

    class Meta:
        ordering = ["employee_id", "-scheduled_on"]
        verbose_name = _("career interview")
        verbose_name_plural = _("career interviews")
        constraints = [
            models.CheckConstraint(condition=Q(held_on__isnull=True) | ~Q(outcome=""), name="held_interview_has_outcome"),
        ]
        indexes = [models.Index(fields=["employee", "held_on"])]


class Exit(models.Model):
    """An employee's exit (流失/离职) with its reason (DOMAIN 4)."""

    class Reason(models.TextChoices):
        INCENTIVE_ASSESSMENT = "incentive_assessment", _("Incentives and appraisal")
        CAREER_DEVELOPMENT = "career_development", _("Career development")
        RECOGNITION = "recognition", _("Recognition")
        WORK_PRESSURE = "work_pressure", _("Work pressure")
        COMPENSATION = "compensation", _("Compensation")
        PERSONAL = "personal", _("Personal")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Handover open")
        COMPLETED = "completed", _("Completed")

    employee = models.OneToOneField("clients.Employee", on_delete=models.PROTECT, related_name="exit",
                                    verbose_name=_("employee"))
    exit_on = models.DateField(_("exit date"), validators=[validate_plausible_date])
    voluntary = models.BooleanField(_("voluntary"), default=True)
    reason = models.CharField(_("reason"), max_length=25, choices=Reason.choices)
    destination = models.CharField(_("destination"), max_length=200, blank=True)
    interview_notes = models.TextField(_("exit-interview notes"), blank=True, max_length=TEXT_NOTE,
                                       validators=text_validators(TEXT_NOTE))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="employee__branch", actions={"change": HR_ONLY, "browse": MANAGERS, "analyse": MANAGERS})

    class Meta:
        ordering = ["-exit_on"]
        verbose_name = _("exit")
        verbose_name_plural = _("exits")
        indexes = [models.Index(fields=["exit_on"])]

    def __str__(self):
        return f"{self.employee_id} {self.exit_on}"


class ExitHandover(models.Model):
    """Which client went to whom when an RM left, with the client's figures before the exit."""

    exit = models.ForeignKey(Exit, on_delete=models.CASCADE, related_name="handovers", verbose_name=_("exit"))
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="exit_handovers",
                               verbose_name=_("client"))
    to_rm = models.ForeignKey("clients.Employee", on_delete=models.PROTECT, related_name="+", verbose_name=_("to RM"))
    handed_over_on = models.DateField(_("handed over on"), validators=[validate_past_date])

    objects = RestrictedQuerySet.as_manager()
    scope = Scope(branch="exit__employee__branch")

    class Meta:
        verbose_name = _("exit handover")
        verbose_name_plural = _("exit handovers")
        constraints = [models.UniqueConstraint(fields=["exit", "client"], name="one_handover_per_exit_client")]


class RiskSettings(models.Model):
    """HR's weights and thresholds of the retention-risk score (DOMAIN 5). One row is in force."""

    weight_assessment = models.DecimalField(_("weight: assessment pressure"), max_digits=5, decimal_places=2,
                                            default=Decimal("25"))
    weight_incentive = models.DecimalField(_("weight: incentive friction"), max_digits=5, decimal_places=2,
                                           default=Decimal("20"))
    weight_career = models.DecimalField(_("weight: career stagnation"), max_digits=5, decimal_places=2,
                                        default=Decimal("25"))
    weight_recognition = models.DecimalField(_("weight: recognition"), max_digits=5, decimal_places=2,
                                             default=Decimal("15"))
    weight_pressure = models.DecimalField(_("weight: work pressure"), max_digits=5, decimal_places=2,
                                          default=Decimal("15"))
    medium_from = models.DecimalField(_("medium band from"), max_digits=5, decimal_places=2, default=Decimal("40"))
    high_from = models.DecimalField(_("high band from"), max_digits=5, decimal_places=2, default=Decimal("70"))
    rise_alert = models.DecimalField(_("alert on a monthly rise of"), max_digits=5, decimal_places=2,
                                     default=Decimal("15"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("retention-risk settings")
        verbose_name_plural = _("retention-risk settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_assessment__gte=0, weight_incentive__gte=0, weight_career__gte=0,
                            weight_recognition__gte=0, weight_pressure__gte=0),
                name="risk_weights_not_negative"),
            models.CheckConstraint(condition=Q(medium_from__lt=F("high_from")), name="risk_bands_ordered"),
        ]


class RiskBand(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


# Risk data is never shown to the RM it is about (DOMAIN 5): RMs have no own rows.
RISK_SCOPE = Scope(branch="employee__branch",
                   actions={"change": HR_AND_BRANCH, "browse": HR_AND_BRANCH, "configure": HR_ONLY})


class RiskScore(models.Model):
    """An active RM's retention-risk score of a month, 0–100, with each factor's figures."""

    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="risk_scores",
                                 verbose_name=_("RM"))
    month = models.DateField(_("month"), validators=[validate_month])
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    band = models.CharField(_("band"), max_length=6, choices=RiskBand.choices)
    factors = models.JSONField(_("factors"), default=dict)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope = RISK_SCOPE

    class Meta:
        ordering = ["-month", "-score"]
        verbose_name = _("retention-risk score")
        verbose_name_plural = _("retention-risk scores")
        constraints = [
            models.UniqueConstraint(fields=["employee", "month"], name="one_risk_score_per_rm_month"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="risk_score_0_to_100"),
        ]
        indexes = [models.Index(fields=["month", "band"])]


class RiskAlert(models.Model):
    class Trigger(models.TextChoices):
        ENTERED_HIGH = "entered_high", _("Entered the high band")
        ROSE = "rose", _("Rose sharply in a month")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    employee = models.ForeignKey("clients.Employee", on_delete=models.CASCADE, related_name="risk_alerts",
                                 verbose_name=_("RM"))
    score = models.ForeignKey(RiskScore, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("score"))
    trigger = models.CharField(_("trigger"), max_length=15, choices=Trigger.choices)
    previous_score = models.DecimalField(_("previous score"), max_digits=5, decimal_places=2, null=True, blank=True)
    suggested_action = models.CharField(_("suggested action"), max_length=30, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    action_note = models.TextField(_("action taken"), blank=True, max_length=TEXT_NOTE,
                                   validators=text_validators(TEXT_NOTE))
    handled_by = models.ForeignKey("clients.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("handled by"))
    # Set once the alert's e-mail is out, so that a job dying between opening the alert and
    # mailing it sends the mail on its retry or the next run instead of never.
    notified_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()
    scope = RISK_SCOPE

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("retention-risk alert")
        verbose_name_plural = _("retention-risk alerts")
        constraints = [
            models.UniqueConstraint(fields=["employee"], condition=~Q(status="resolved"),
                                    name="one_open_risk_alert_per_rm"),
            models.CheckConstraint(condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False),
                                   name="snoozed_alert_has_date"),
            models.CheckConstraint(condition=~Q(status="resolved") | ~Q(action_note=""),
                                   name="resolved_alert_has_action_note"),
        ]
