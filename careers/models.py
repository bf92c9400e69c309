"""Job sequences and their ordered levels (DOMAIN 4)."""
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _




class JobSequence(models.Model):
    """A job sequence (岗位序列), e.g. personal RM, corporate RM, wealth advisor."""

    code = models.CharField(_("sequence code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    interview_interval_months = models.PositiveSmallIntegerField(_("interview interval (months)"), default=6)

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
