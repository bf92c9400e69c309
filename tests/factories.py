"""factory_boy factories shared by every app's tests."""
import datetime as dt
from decimal import Decimal

import factory

from careers.models import JobSequence, Level
from clients.models import Assignment, Branch, Client, Employee, MonthlyBusiness, Region, Role, User


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Region {o.code}")


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"B{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Branch {o.code}")
    region = factory.SubFactory(RegionFactory)


class JobSequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobSequence
        django_get_or_create = ("code",)

    code = "personal"
    name = "Personal RM"


class LevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Level
        django_get_or_create = ("sequence", "code")

    sequence = factory.SubFactory(JobSequenceFactory)
    code = factory.Sequence(lambda n: f"L{n}")
    name = factory.LazyAttribute(lambda o: f"Level {o.code}")
    rank = factory.Sequence(lambda n: n + 1)
    bonus_coefficient = Decimal("1.0")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-word-123")


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    employee_no = factory.Sequence(lambda n: f"E{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Employee {o.employee_no}")
    user = factory.SubFactory(UserFactory, username=factory.SelfAttribute("..employee_no"))
    branch = factory.SubFactory(BranchFactory)
    role = Role.RM
    hired_on = dt.date(2020, 1, 1)


class ClientFactory(factory.django.DjangoModelFactory):
    """A client with an open assignment to ``rm`` (created in the client's branch if not given)."""

    class Meta:
        model = Client
        skip_postgeneration_save = True

    client_no = factory.Sequence(lambda n: f"C{n:07d}")
    name = factory.LazyAttribute(lambda o: f"Client {o.client_no}")
    client_type = Client.Type.INDIVIDUAL
    segment = Client.Segment.MASS
    branch = factory.SubFactory(BranchFactory)
    opened_on = dt.date(2020, 1, 1)

    @factory.post_generation
    def rm(obj, create, extracted, **kwargs):
        if not create:
            return
        rm = extracted or EmployeeFactory(branch=obj.branch)
        Assignment.objects.create(client=obj, rm=rm, started_on=kwargs.get("started_on", obj.opened_on))


class MonthlyBusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlyBusiness

    client = factory.SubFactory(ClientFactory)
    month = dt.date(2026, 1, 1)
