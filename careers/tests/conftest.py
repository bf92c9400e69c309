"""Fixtures of the career tests: a job sequence with three levels, annual appraisals and a
fully eligible RM whose requirements each test takes away one at a time."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from careers.models import Certificate, CertificateType, JobSequence, Level, LevelChange, Training
from clients.models import Role
from performance.models import Appraisal, Scheme
from tests.factories import ClientFactory, EmployeeFactory

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def afp():
    return CertificateType.objects.create(code="AFP", name="AFP")


@pytest.fixture
def ladder(afp):
    """personal: assistant (1.000) → RM (1.200) → senior (1.500). Promotion out of the assistant
    level asks 24 months, 2 good-or-better grades in 3 years, AFP, 40 training hours, 3 clients."""
    sequence = JobSequence.objects.create(code="personal", name="Personal RM", interview_interval_months=6)
    assistant = Level.objects.create(sequence=sequence, code="A", name="Assistant RM", rank=1,
                                     bonus_coefficient=Decimal("1.000"), min_months_at_level=24,
                                     good_grades_required=2, good_grades_window=3, training_hours_per_year=40,
                                     min_book_size=3)
    assistant.required_certificates.add(afp)
    rm_level = Level.objects.create(sequence=sequence, code="R", name="RM", rank=2, bonus_coefficient=Decimal("1.200"))
    senior = Level.objects.create(sequence=sequence, code="S", name="Senior RM", rank=3,
                                  bonus_coefficient=Decimal("1.500"))
    return {"sequence": sequence, "assistant": assistant, "rm": rm_level, "senior": senior}


@pytest.fixture
def corporate_level():
    sequence = JobSequence.objects.create(code="corporate", name="Corporate RM", interview_interval_months=3)
    return Level.objects.create(sequence=sequence, code="C1", name="Corporate RM", rank=1,
                                bonus_coefficient=Decimal("1.100"))


@pytest.fixture
def annual():
    """annual(employee, "2025", "good") stores an approved annual appraisal."""

    def make(employee, year, grade, state=Appraisal.State.APPROVED):
        scheme, _ = Scheme.objects.get_or_create(code=f"S-{employee.branch.code}",
                                                 defaults={"name": "Scheme", "branch": employee.branch})
        return Appraisal.objects.create(employee=employee, scheme=scheme, branch=employee.branch, period=year,
                                        period_kind="year", state=state, grade=grade, total=Decimal("85"),
                                        computed_at=timezone.now())

    return make


@pytest.fixture
def eligible_rm(rm, branch, ladder, afp, annual):
    """rm at the assistant level since 2024-06-30: eligible on AS_OF with every requirement just met."""
    rm.level = ladder["assistant"]
    rm.save()
    LevelChange.objects.create(employee=rm, kind=LevelChange.Kind.HIRE, effective_on=dt.date(2024, 6, 30),
                               to_level=ladder["assistant"], to_branch=branch)
    annual(rm, "2024", "good")
    annual(rm, "2025", "excellent")
    Certificate.objects.create(employee=rm, certificate_type=afp, obtained_on=dt.date(2023, 1, 1),
                               expires_on=dt.date(2027, 1, 1))
    Training.objects.create(employee=rm, title="Wealth planning", completed_on=dt.date(2026, 1, 15),
                            hours=Decimal("40"))
    for _ in range(3):
        ClientFactory(branch=branch, rm=rm)
    return rm


@pytest.fixture
def far_manager(other_branch):
    """A branch manager of a branch in another region."""
    return EmployeeFactory(employee_no="BM-FAR", branch=other_branch, role=Role.BRANCH_MANAGER)
