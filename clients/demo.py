"""A deterministic, believable demo bank for ``python manage.py seed_demo`` (DOMAIN 1–5).

Two regions with three branches each, their staff on three job sequences of five levels, clients
with their RM assignment history, monthly business with trends and seasonality, contribution
parameters, visits, calls, call-backs and complaints. The staffing plan of careers/demo.py decides
first who leaves when and who is hired, so that every leaver's book is handed over before the
exit; after the business data come a few credit clients' financial statements
(clients/demo_statements.py), the career records (careers/demo.py) and the appraisal history
with its bonus and pool (performance/demo.py).

Determinism: every concern draws from its own ``random.Random`` stream derived from the seed, in
client order, so the same seed, size and month window give the same bank. Nothing depends on the
clock except the default month window and the dates of the most recent workflow steps, which
fall in the last days before the run (so that the last published appraisals can still be appealed).

Scale: clients are generated in chunks; for each chunk the clients are inserted, then their
assignments, monthly rows and interactions are streamed into the database (COPY on PostgreSQL,
``bulk_create`` elsewhere), so memory stays flat however many clients are asked for. Amounts are
carried as integer cents until they are written, so no float ever reaches a money column.
"""
from __future__ import annotations

import calendar
import datetime as dt
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from careers import demo as careers_demo
from careers.models import Exit, JobSequence, Level
from clients import demo_statements
from clients.contribution import contribution_recompute
from clients.models import (
    Assignment,
    Branch,
    Client,
    Complaint,
    ContributionParameter,
    Employee,
    Interaction,
    LoanTerm,
    MonthlyBusiness,
    ParameterKey,
    Region,
    Role,
    User,
)
from performance import demo as performance_demo
from performance.models import Appraisal
from rmportal.errors import ApplicationError

DEFAULT_CLIENTS = 6000
DEFAULT_MONTHS = 24
DEFAULT_SEED = 42
DEFAULT_PASSWORD = "demo-pass-2026"

CLIENT_CHUNK = 5000
BATCH_SIZE = 5000
COPY_BATCH_SIZE = 20000

INDIVIDUAL, CORPORATE_CLIENT = Client.Type.INDIVIDUAL.value, Client.Type.CORPORATE.value
MASS, AFFLUENT, PRIVATE = Client.Segment.MASS.value, Client.Segment.AFFLUENT.value, Client.Segment.PRIVATE.value


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    branch: str


@dataclass(frozen=True)
class DemoBank:
    months: list[dt.date]
    logins: list[DemoLogin]
    counts: dict[str, int]

    @property
    def present(self) -> dt.date:
        """The window's last day: the demo's "today" for certificates, interviews and goals."""
        return _month_end(self.months[-1])


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

def demo_database_is_empty() -> bool:
    """The demo bank goes only into a database without any branch."""
    return not Branch.objects.exists()


def demo_month_window(*, months: int, end_month: dt.date | None = None) -> list[dt.date]:
    """First days of ``months`` months ending with ``end_month`` (default: the last complete
    month before today in the bank's time zone)."""
    if end_month is None:
        end_month = _add_months(timezone.localdate().replace(day=1), -1)
    end_month = end_month.replace(day=1)
    return [_add_months(end_month, i - months + 1) for i in range(months)]


def demo_seed(*, clients: int = DEFAULT_CLIENTS, months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED,
              end_month: dt.date | None = None, password: str = DEFAULT_PASSWORD) -> DemoBank:
    """Seed an empty database with the demo bank and compute its contributions (DOMAIN 2.2).

    Refuses a database that already holds branches, so a demo never mixes with real data.
    """
    if clients < 1 or months < 1:
        raise ApplicationError(_("The demo bank needs at least one client and one month."))
    if not demo_database_is_empty():
        raise ApplicationError(_("The database already holds branches; the demo bank is only seeded "
                                 "into an empty database."))
    cal = _Calendar(demo_month_window(months=months, end_month=end_month))
    streams = {name: random.Random(f"{seed}:{name}")
               for name in ("organisation", "clients", "assignments", "monthly", "interactions", "careers",
                            "performance")}
    use_copy = _copy_supported()
    with transaction.atomic():
        if use_copy:
            # Check foreign keys as each COPY ends rather than queue millions of checks until commit.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        org = _seed_organisation(streams["organisation"], streams["careers"], clients=clients, cal=cal,
                                 password=password)
        counts, activity = _seed_clients(streams, org, clients=clients, cal=cal, use_copy=use_copy)
        counts["parameters"] = _seed_parameters(org, cal=cal, activity=activity)
        if use_copy:
            _analyze((Client, Assignment, MonthlyBusiness, Interaction, Complaint))
        contribution_recompute(months=cal.months)
        counts.update(demo_statements.statements_seed(
            last_year=demo_statements.last_complete_year(cal.months), present=cal.end,
            demo_rm_id=org.plan.people[0].pk))
        counts.update(_seed_history(streams, org, cal=cal))
    counts["employees"] = org.employee_count
    counts["hires"] = len(org.plan.hires)
    return DemoBank(months=cal.months, logins=org.logins, counts=counts)


# --------------------------------------------------------------------------------------------
# The calendar: the month window and its seasons
# --------------------------------------------------------------------------------------------

# Month of the Spring Festival (春节): individual deposits peak with the year-end bonuses paid
# before it, companies pay those bonuses out, card spending jumps. February when unknown.
SPRING_FESTIVAL_MONTH = {2020: 1, 2021: 2, 2022: 2, 2023: 1, 2024: 2, 2025: 1, 2026: 2, 2027: 2,
                         2028: 1, 2029: 2, 2030: 2, 2031: 1, 2032: 2, 2033: 1, 2034: 2, 2035: 2}
# Calendar-month factors (January first). Deposits peak at quarter and year ends (时点考核);
# WM and insurance sales are pushed in Q1 (开门红) and WM money returns to deposits at quarter end.
INDIVIDUAL_DEPOSIT_SEASON = (1.02, 1.00, 1.03, 0.99, 0.98, 1.02, 0.99, 0.99, 1.02, 0.99, 0.99, 1.04)
CORPORATE_DEPOSIT_SEASON = (0.97, 0.96, 1.05, 0.98, 0.99, 1.06, 0.98, 0.99, 1.05, 0.98, 1.00, 1.10)
WM_SEASON = (1.50, 1.25, 1.35, 1.00, 1.00, 0.75, 1.05, 1.00, 0.80, 1.05, 1.00, 0.70)
INSURANCE_SEASON = (3.5, 2.5, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.6)
FUND_SEASON = (1.3, 1.2, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9)
CARD_SEASON = (1.00, 1.00, 0.95, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.10, 1.25, 1.10)  # Nov: 双十一
BOND_ISSUE_MONTHS = frozenset({3, 4, 5, 6, 8, 9, 10, 11})  # savings bonds (储蓄国债) are issued


class _Calendar:
    """The month window with per-month seasonal factors, computed once per run."""

    def __init__(self, months: list[dt.date]):
        self.months = months
        self.ends = [_month_end(m) for m in months]
        self.start, self.end = months[0], self.ends[-1]
        self.individual_deposit, self.corporate_deposit, self.card, self.visits = [], [], [], []
        self.wm, self.insurance, self.funds, self.calls, self.bond_issue = [], [], [], [], []
        for month in months:
            i = month.month - 1
            festival = SPRING_FESTIVAL_MONTH.get(month.year, 2) == month.month
            after_festival = SPRING_FESTIVAL_MONTH.get(month.year, 2) + 1 == month.month
            # A slow stock-market cycle moves fund sales bank-wide.
            market = 1 + 0.35 * math.sin(2 * math.pi * (month.year * 12 + i) / 20)
            self.individual_deposit.append(INDIVIDUAL_DEPOSIT_SEASON[i] + 0.07 * festival - 0.02 * after_festival)
            self.corporate_deposit.append(CORPORATE_DEPOSIT_SEASON[i] - 0.03 * festival)
            self.card.append(CARD_SEASON[i] + 0.35 * festival - 0.15 * after_festival)
            self.wm.append(WM_SEASON[i])
            self.insurance.append(INSURANCE_SEASON[i])
            self.funds.append(FUND_SEASON[i] * market)
            self.bond_issue.append(month.month in BOND_ISSUE_MONTHS)
            self.visits.append(2.0 if festival else 1.0)  # 节前走访
            self.calls.append(1.5 if i < 3 else 1.0)

    def __len__(self) -> int:
        return len(self.months)

    def index(self, day: dt.date) -> int:
        return (day.year - self.start.year) * 12 + day.month - self.start.month

    def random_day(self, rng: random.Random, first: dt.date | None = None, last: dt.date | None = None) -> dt.date:
        first, last = first or self.start, last or self.end
        return first + dt.timedelta(days=rng.randrange((last - first).days + 1))

    def rebalance_day(self, branch: int) -> dt.date:
        """Each branch rebalances its books once, a third into the window, staggered by branch."""
        return self.months[min(len(self) - 1, len(self) // 3 + branch % 3)] + dt.timedelta(days=14)


# --------------------------------------------------------------------------------------------
# Organisation: regions, branches, career ladders, staff and log-ins
# --------------------------------------------------------------------------------------------

# (region code, region name, ((branch code, branch name, city, relative size), …))
REGIONS = (
    ("R01", "华东分行", (("B01", "上海陆家嘴支行", "上海", 1.25),
                         ("B02", "杭州西湖支行", "杭州", 1.00),
                         ("B03", "南京新街口支行", "南京", 0.85))),
    ("R02", "华南分行", (("B04", "广州天河支行", "广州", 1.15),
                         ("B05", "深圳福田支行", "深圳", 1.05),
                         ("B06", "厦门思明支行", "厦门", 0.70))),
)

PERSONAL, CORPORATE, WEALTH = "personal", "corporate", "wealth"
SEQUENCES = ((PERSONAL, "个人客户经理"), (CORPORATE, "公司客户经理"), (WEALTH, "理财经理"))
# (code, rank, bonus coefficient, name in the RM sequences, name in the wealth sequence,
#  relative head count, range of years of service)
LEVELS = (
    ("assistant", 1, Decimal("0.8"), "助理客户经理", "助理理财经理", 2.0, (0.5, 2)),
    ("rm", 2, Decimal("1.0"), "客户经理", "理财经理", 3.0, (2, 6)),
    ("senior", 3, Decimal("1.2"), "高级客户经理", "高级理财经理", 2.5, (4, 10)),
    ("principal", 4, Decimal("1.5"), "资深客户经理", "资深理财经理", 1.5, (7, 15)),
    ("chief", 5, Decimal("1.8"), "首席客户经理", "首席理财经理", 1.0, (10, 20)),
)
BOOK_FACTOR = {"assistant": 0.55, "rm": 0.9, "senior": 1.15, "principal": 1.35, "chief": 1.5}
CLIENTS_PER_RM = 100
MIN_RMS_PER_BRANCH = 10

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤")
# The common surnames come first and are drawn more often.
SURNAME_WEIGHTS = tuple(1 / (rank + 4) for rank in range(len(SURNAMES)))
GIVEN_NAME_CHARACTERS = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国文辉力鹏宇浩鑫婷雪琳晨欣怡子梓涵轩博思"
                         "宁悦晓佳俊嘉瑞一诗雨泽凯斌志海峰宏玲燕红梅兰春云飞昊然萱若可心航立新秋楠彤颖慧琪振德良成")
COMPANY_WORDS = ("华信", "恒达", "鑫源", "宏远", "瑞丰", "金桥", "东方", "新元", "中联", "永泰", "天成",
                 "博远", "海汇", "嘉禾", "诚信", "立达", "汇通", "润泽", "华瑞", "盛世", "兴业", "长江")
COMPANY_TRADES = ("科技", "贸易", "实业", "建材", "物流", "食品", "电子", "医药", "纺织", "机械",
                  "餐饮管理", "文化传媒", "环保科技", "新能源", "供应链管理", "建筑工程", "服饰")
COMPANY_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司")


@dataclass
class _Rm:
    pk: int
    branch: int  # index into the branch list
    sequence: str
    hired_on: dt.date
    weight: float  # relative book size
    quality: float  # shifts the call-back scores of the RM's clients
    handover_on: dt.date | None = None  # a leaver's book goes to colleagues on this day
    pressure: list[float] = field(default_factory=list)  # work pressure per month: complaints, call-backs
    allocation_on: dt.date | None = None  # a new RM receives clients from colleagues on this day

    def serves_on(self, day: dt.date) -> bool:
        return self.hired_on <= day and (self.handover_on is None or day < self.handover_on)


@dataclass
class _Organisation:
    branches: list[Branch]
    cities: list[str]
    branch_weights: list[float]
    rms: dict[int, _Rm]
    logins: list[DemoLogin]
    employee_count: int
    plan: careers_demo.StaffPlan
    # (branch, pool) → its RMs with their pool factor; new RMs with the share of clients they receive.
    pools: dict[tuple[int, str], list[tuple[_Rm, float]]] = field(default_factory=dict)
    hire_shares: dict[tuple[int, str], list[tuple[_Rm, float]]] = field(default_factory=dict)
    heavy_to_light: dict[int, _Rm] = field(default_factory=dict)
    cumulative: dict[tuple, list[float]] = field(default_factory=dict)


def _seed_organisation(rng: random.Random, careers_rng: random.Random, *, clients: int, cal: _Calendar,
                       password: str) -> _Organisation:
    levels = _seed_career_ladders()
    branches, cities, weights = [], [], []
    for region_code, region_name, branch_rows in REGIONS:
        region = Region.objects.create(code=region_code, name=region_name)
        for code, name, city, weight in branch_rows:
            branches.append(Branch(code=code, name=name, region=region))
            cities.append(city)
            weights.append(weight)
    Branch.objects.bulk_create(branches)

    rms_per_branch = max(MIN_RMS_PER_BRANCH, round(clients / len(branches) / CLIENTS_PER_RM))
    staff = _draw_staff(rng, branches, rms_per_branch=rms_per_branch, hired_before=cal.start)
    # One hash for every demo log-in: hashing each one would take most of the run.
    password_hash = make_password(password)
    users = User.objects.bulk_create(
        [User(username=s["employee_no"], password=password_hash, email=s["email"]) for s in staff],
        batch_size=BATCH_SIZE)
    employees = Employee.objects.bulk_create(
        [Employee(employee_no=s["employee_no"], name=s["name"], user=user, branch=branches[s["branch"]],
                  role=s["role"], level=levels.get((s["sequence"], s["level"])), hired_on=s["hired_on"],
                  email=s["email"])
         for s, user in zip(staff, users)],
        batch_size=BATCH_SIZE)

    rms, people = {}, []
    for s, employee in zip(staff, employees):
        if s["role"] == Role.RM:
            rms[employee.pk] = _Rm(pk=employee.pk, branch=s["branch"], sequence=s["sequence"],
                                   hired_on=s["hired_on"], weight=BOOK_FACTOR[s["level"]] * rng.lognormvariate(0, 0.4),
                                   quality=rng.gauss(0, 0.3))
            people.append(careers_demo.Person(pk=employee.pk, branch=s["branch"],
                                              sequence=s["sequence"], rank=LEVEL_RANKS[s["level"]],
                                              hired_on=s["hired_on"], name=s["name"]))
    # The demo RM log-in (the first RM of the first branch) stays, and has a book worth showing.
    people[0].demo = True
    ranks_before = {p.pk: p.rank for p in people}
    plan = careers_demo.staff_plan(careers_rng, people, cal.months, new_person=_new_person)
    hires = _seed_hires(careers_rng, plan, branches, levels, password_hash, first_number=len(staff) + 1)
    rms.update((rm.pk, rm) for rm in hires)
    # RMs promoted during the window hold their new level now.
    Employee.objects.bulk_update([Employee(pk=p.pk, level=levels[(p.sequence, LEVEL_CODES[p.rank])])
                                  for p in people if p.rank != ranks_before[p.pk]], ["level"])
    for person in plan.people:
        rm = rms[person.pk]
        # Work pressure shows in the size of the book the RM was given.
        rm.weight *= 0.5 + 1.4 * person.initial[careers_demo.PRESSURE]
        rm.pressure = [person.state(t)[careers_demo.PRESSURE] for t in range(len(cal))]
        if person.exit is not None:
            rm.handover_on = person.exit.handover_on
    demo_rm = rms[people[0].pk]
    demo_rm.weight = max(demo_rm.weight, 1.6)
    org = _Organisation(branches=branches, cities=cities, branch_weights=weights, rms=rms,
                        logins=_demo_logins(staff, branches, password), employee_count=len(staff) + len(hires),
                        plan=plan)
    _build_rm_pools(org)
    return org


LEVEL_RANKS = {row[0]: row[1] for row in LEVELS}
LEVEL_CODES = {row[1]: row[0] for row in LEVELS}


def _new_person(rng: random.Random, leaver: careers_demo.Person, hired_on: dt.date,
                rank: int) -> careers_demo.Person:
    """The RM hired to replace ``leaver``: same branch and sequence."""
    return careers_demo.Person(branch=leaver.branch, sequence=leaver.sequence, rank=rank,
                               hired_on=hired_on, name=_person_name(rng))


def _seed_hires(rng: random.Random, plan: careers_demo.StaffPlan, branches: list[Branch],
                levels: dict[tuple[str, str], Level], password_hash: str, *, first_number: int) -> list[_Rm]:
    """The RMs hired during the window, with their log-ins; employee numbers follow the staff's.
    A new RM receives clients from colleagues two or three weeks after joining."""
    hires = plan.hires
    numbers = [f"E{first_number + i:04d}" for i in range(len(hires))]
    users = User.objects.bulk_create(
        [User(username=no, password=password_hash, email=f"{no.lower()}@bank.local") for no in numbers])
    employees = Employee.objects.bulk_create(
        [Employee(employee_no=no, name=p.name, user=user, branch=branches[p.branch], role=Role.RM,
                  level=levels[(p.sequence, LEVEL_CODES[p.rank])], hired_on=p.hired_on, email=user.email)
         for no, p, user in zip(numbers, hires, users)])
    rms = []
    for person, employee in zip(hires, employees):
        person.pk = employee.pk
        rms.append(_Rm(pk=employee.pk, branch=person.branch, sequence=person.sequence, hired_on=person.hired_on,
                       weight=BOOK_FACTOR[LEVEL_CODES[person.moves[0][3]]] * rng.lognormvariate(0, 0.3),
                       quality=rng.gauss(0, 0.3),
                       allocation_on=person.hired_on + dt.timedelta(days=rng.randint(10, 20))))
    return rms


def _seed_career_ladders() -> dict[tuple[str, str], Level]:
    """The three job sequences with five levels each (DOMAIN 4); reuses ladders that exist."""
    levels = {}
    for code, name in SEQUENCES:
        sequence, _created = JobSequence.objects.get_or_create(code=code, defaults={"name": name})
        for level_code, rank, coefficient, rm_name, wealth_name, _share, _years in LEVELS:
            levels[(code, level_code)], _created = Level.objects.get_or_create(
                sequence=sequence, code=level_code,
                defaults={"rank": rank, "bonus_coefficient": coefficient,
                          "name": wealth_name if code == WEALTH else rm_name})
    return levels


def _draw_staff(rng: random.Random, branches: list[Branch], *, rms_per_branch: int,
                hired_before: dt.date) -> list[dict]:
    """Staff in employee-number order: two HR officers, one reviewer per region, then per branch
    its manager, its RM department head and its RMs (personal, wealth, corporate). Everybody was
    hired at least a month before the window, so every assignment in it has an RM in post."""
    staff = []

    def add(branch: int, role: str, years: tuple[float, float], sequence: str = "", level: str = ""):
        employee_no = f"E{len(staff) + 1:04d}"
        staff.append({"employee_no": employee_no, "name": _person_name(rng), "branch": branch,
                      "role": role, "sequence": sequence, "level": level,
                      "hired_on": hired_before - dt.timedelta(days=30 + int(rng.uniform(*years) * 365)),
                      "email": f"{employee_no.lower()}@bank.local"})

    add(0, Role.HR, (3, 12))
    add(0, Role.HR, (2, 8))
    for region_code, _name, _rows in REGIONS:
        add(next(i for i, b in enumerate(branches) if b.region.code == region_code), Role.REVIEWER, (6, 16))

    corporate = max(1, round(rms_per_branch * 0.2))
    wealth = max(1, round(rms_per_branch * 0.3))
    sequences = [PERSONAL] * (rms_per_branch - corporate - wealth) + [WEALTH] * wealth + [CORPORATE] * corporate
    level_codes = [row[0] for row in LEVELS]
    level_weights = [row[5] for row in LEVELS]
    level_years = {row[0]: row[6] for row in LEVELS}
    for index in range(len(branches)):
        add(index, Role.BRANCH_MANAGER, (12, 22))
        add(index, Role.DEPARTMENT_HEAD, (8, 18))
        for position, sequence in enumerate(sequences):
            # The first RM of every branch is a senior personal RM (the demo RM log-in in B01).
            level = "senior" if position == 0 else rng.choices(level_codes, weights=level_weights)[0]
            add(index, Role.RM, level_years[level], sequence, level)
    return staff


def _demo_logins(staff: list[dict], branches: list[Branch], password: str) -> list[DemoLogin]:
    """Fixed log-ins in the first branch: its manager, department head and first RM, the first
    region's reviewer and the first HR officer."""
    branch = f"{branches[0].code} {branches[0].name}"
    firsts = [next(s for s in staff if s["role"] == role and s["branch"] == 0)
              for role in (Role.BRANCH_MANAGER, Role.DEPARTMENT_HEAD, Role.RM, Role.REVIEWER, Role.HR)]
    return [DemoLogin(role=str(Role(s["role"]).label), username=s["employee_no"], password=password, branch=branch)
            for s in firsts]


POOL_FACTORS = {
    "corporate": {CORPORATE: 1.0},
    "mass": {PERSONAL: 1.0, WEALTH: 0.15},
    "wealth": {WEALTH: 1.0, PERSONAL: 0.35},
}
HIRE_BOOK_SHARE = 0.5  # a new RM takes over about half an average book of their pool


def _build_rm_pools(org: _Organisation) -> None:
    """Which RMs take which clients: corporate RMs the companies, personal RMs mostly the mass
    individuals, wealth advisors mostly the affluent and private ones. Within a pool a client
    goes to an RM in post with the odds of the RM's book weight, so some books are much heavier.
    A new RM receives a share of the pool's clients from their colleagues."""
    for branch in range(len(org.branches)):
        mine = [rm for rm in org.rms.values() if rm.branch == branch]
        staff = [rm for rm in mine if rm.allocation_on is None]
        for pool, factors in POOL_FACTORS.items():
            org.pools[(branch, pool)] = [(rm, factors[rm.sequence]) for rm in mine if rm.sequence in factors]
            total = sum(factors[rm.sequence] for rm in staff if rm.sequence in factors)
            org.hire_shares[(branch, pool)] = [(rm, HIRE_BOOK_SHARE * factors[rm.sequence] / total)
                                               for rm in mine if rm.allocation_on and rm.sequence in factors]
        # Rebalancing moves clients from the heaviest to the lightest RM of each sequence.
        for sequence in (PERSONAL, WEALTH, CORPORATE):
            unit = sorted((rm for rm in staff if rm.sequence == sequence), key=lambda rm: (rm.weight, rm.pk))
            if len(unit) >= 2:
                org.heavy_to_light[unit[-1].pk] = unit[0]


def _pick_rm(rng: random.Random, org: _Organisation, branch: int, pool: str, day: dt.date, *,
             leaving: _Rm | None = None) -> _Rm | None:
    """An RM of the pool in post on ``day`` by book weight; for a leaver's client, a colleague of
    the leaver's sequence if there is one."""
    members = [(rm, f) for rm, f in org.pools[(branch, pool)] if rm.serves_on(day) and rm is not leaving]
    if leaving is not None:
        members = [(rm, f) for rm, f in members if rm.sequence == leaving.sequence] or members
    if not members:
        return None
    key = tuple((rm.pk, f) for rm, f in members)
    cumulative = org.cumulative.get(key)
    if cumulative is None:
        cumulative, total = [], 0.0
        for rm, factor in members:
            total += rm.weight * factor
            cumulative.append(total)
        org.cumulative[key] = cumulative
    return rng.choices([rm for rm, _f in members], cum_weights=cumulative)[0]


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------

CORPORATE_SHARE = 0.08
SEGMENT_CUMULATIVE = ((MASS, AFFLUENT, PRIVATE), (80, 97, 100))
NEW_SHARE_PER_YEAR = 0.06
LOST_SHARE_PER_YEAR = 0.02
DORMANT_SHARE = 0.03
LOST_REASONS = ("资金转存他行", "搬迁至外地", "对服务不满意", "理财收益不及预期", "更换客户经理后流失",
                "账户销户", "他行提供更优利率")
LOST_REASONS_CORPORATE = ("企业经营困难，结清贷款", "结算业务转至他行", "企业注销", "融资转至他行")


@dataclass
class _ClientPlan:
    """One client as generated: the model instance, its branch, the month indexes it has
    business in (``start`` ≤ t < ``stop``) and its RM spans (rm pk, from, until, reason, note)."""

    client: Client
    branch: int
    start: int
    stop: int
    dormant_from: int | None = None
    spans: list[tuple[int, dt.date, dt.date | None, str, str]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.client.client_type, self.client.segment

    @property
    def pool(self) -> str:
        if self.client.client_type == CORPORATE_CLIENT:
            return "corporate"
        return "mass" if self.client.segment == MASS else "wealth"

    def rm_on(self, day: dt.date) -> int:
        return next(rm for rm, started_on, _until, _reason, _note in reversed(self.spans) if started_on <= day)


def _seed_clients(streams: dict[str, random.Random], org: _Organisation, *, clients: int, cal: _Calendar,
                  use_copy: bool) -> tuple[dict[str, int], list[list[int]]]:
    """Insert the clients chunk by chunk, each chunk followed by its assignments, monthly rows and
    interactions. Returns the row counts and, per month, the bank's loan accounts, deposit
    accounts, WM transactions and cards (for the planned costs)."""
    writers = {
        "assignments": _TableWriter(Assignment, ASSIGNMENT_FIELDS, use_copy=use_copy),
        "monthly": _TableWriter(MonthlyBusiness, MONTHLY_FIELDS, use_copy=use_copy),
        "interactions": _TableWriter(Interaction, INTERACTION_FIELDS, use_copy=use_copy),
        "complaints": _TableWriter(Complaint, COMPLAINT_FIELDS, use_copy=use_copy),
    }
    activity = [[0, 0, 0, 0] for _month in cal.months]
    for chunk in _client_plans(streams["clients"], org, clients=clients, cal=cal):
        # Assignments first: a client who follows a leaving RM out of the bank is lost.
        for plan in chunk:
            _plan_assignments(streams["assignments"], org, plan, cal)
        Client.objects.bulk_create([plan.client for plan in chunk], batch_size=BATCH_SIZE)
        for plan in chunk:
            for rm, started_on, ended_on, reason, note in plan.spans:
                writers["assignments"].add((plan.client.pk, rm, started_on, ended_on, reason, note))
            for t, row in _monthly_rows(streams["monthly"], plan, cal):
                writers["monthly"].add(row)
                counts = activity[t]
                counts[0] += row[_LOAN_ACCOUNTS]
                counts[1] += row[_DEPOSIT_ACCOUNTS]
                counts[2] += row[_WM_TX_COUNT]
                counts[3] += row[_CARD_COUNT]
            _interactions(streams["interactions"], org, plan, cal, writers)
    for writer in writers.values():
        writer.flush()
    return {"clients": clients, **{name: writer.written for name, writer in writers.items()}}, activity


def _client_plans(rng: random.Random, org: _Organisation, *, clients: int,
                  cal: _Calendar) -> Iterator[list[_ClientPlan]]:
    """Clients branch by branch, in chunks. Lost and dormant clients are exact shares, so even a
    small bank shows both."""
    years = len(cal) / 12
    lost_count = max(1, round(clients * LOST_SHARE_PER_YEAR * years))
    dormant_count = round(clients * DORMANT_SHARE)
    picked = rng.sample(range(clients), min(clients, lost_count + dormant_count))
    lost, dormant = set(picked[:lost_count]), set(picked[lost_count:])
    new_share = min(0.3, NEW_SHARE_PER_YEAR * years)

    chunk, index = [], 0
    for branch, count in enumerate(_split(clients, org.branch_weights)):
        for _n in range(count):
            chunk.append(_plan_client(rng, org, index, branch, cal, lost=index in lost,
                                      dormant=index in dormant, new=rng.random() < new_share))
            index += 1
            if len(chunk) == CLIENT_CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _plan_client(rng: random.Random, org: _Organisation, index: int, branch: int, cal: _Calendar,
                 *, lost: bool, dormant: bool, new: bool) -> _ClientPlan:
    corporate = rng.random() < CORPORATE_SHARE
    segment = rng.choices(SEGMENT_CUMULATIVE[0], cum_weights=SEGMENT_CUMULATIVE[1])[0]
    if corporate:
        client_no = f"C{index + 1:08d}"
        name = org.cities[branch] + rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_TRADES) + rng.choice(COMPANY_FORMS)
    else:
        client_no = f"6222{branch + 1:02d}{index + 1:010d}"
        name = _person_name(rng)
    # Lost and dormant clients are older relationships; new ones open during the window.
    if new and not (lost or dormant):
        opened_on = cal.random_day(rng)
    else:
        opened_on = cal.start - dt.timedelta(days=1 + int(rng.random() ** 1.7 * 18 * 365))

    client = Client(client_no=client_no, name=name, segment=segment, branch=org.branches[branch],
                    client_type=CORPORATE_CLIENT if corporate else INDIVIDUAL, opened_on=opened_on)
    plan = _ClientPlan(client=client, branch=branch, start=max(0, cal.index(opened_on)), stop=len(cal))
    if lost:
        client.status = Client.Status.LOST
        client.lost_on = cal.random_day(rng, first=cal.start + dt.timedelta(days=1))
        client.lost_reason = rng.choice(LOST_REASONS_CORPORATE if corporate else LOST_REASONS)
        # The month of the loss has no RM on its last day (DOMAIN 2: book ownership), so no row.
        plan.stop = cal.index(client.lost_on)
    elif dormant:
        client.status = Client.Status.DORMANT
        plan.dormant_from = rng.randrange(max(1, len(cal) // 2))
    return plan


# --------------------------------------------------------------------------------------------
# Assignments
# --------------------------------------------------------------------------------------------

ASSIGNMENT_FIELDS = ("client", "rm", "started_on", "ended_on", "reason", "note")
REBALANCE_SHARE = 0.2
CLIENT_REQUEST_SHARE_PER_YEAR = 0.015


# Odds that a client handed over at an RM's exit follows the RM out of the bank within six months
# (the seed's warning); the bank's normal churn is about 2 % a year.
FOLLOW_ODDS = {
    (INDIVIDUAL, MASS): 0.04, (INDIVIDUAL, AFFLUENT): 0.15, (INDIVIDUAL, PRIVATE): 0.25,
    (CORPORATE_CLIENT, MASS): 0.08, (CORPORATE_CLIENT, AFFLUENT): 0.12, (CORPORATE_CLIENT, PRIVATE): 0.15,
}
FOLLOW_REASONS = ("随原客户经理转至他行", "原客户经理离职后资金陆续转出")
FOLLOW_REASONS_CORPORATE = ("随原客户经理将结算业务转至他行", "原客户经理离职后融资转至他行")


def _plan_assignments(rng: random.Random, org: _Organisation, plan: _ClientPlan, cal: _Calendar) -> None:
    """Onboarding with an RM of the client's pool in post; in the window possibly the branch's
    rebalancing (heaviest RM → lightest RM of the sequence), a change on the client's request, a
    share going to a new RM, and a handover whenever the client's RM leaves — on the handover day
    before the exit, to a colleague of the same sequence where possible; some handed-over clients
    follow the RM out within six months. A lost client's last assignment ends on the day it was
    lost; every other client keeps one open assignment (DOMAIN 2)."""
    client = plan.client
    # Clients opened before the window went to the RMs in post when it began.
    rm = _pick_rm(rng, org, plan.branch, plan.pool, max(client.opened_on, cal.start - dt.timedelta(days=1)))
    # (day, the RM it applies to or None for any, the new RM or None for any other, reason, note)
    moves = []
    if rm.pk in org.heavy_to_light and rng.random() < REBALANCE_SHARE:
        moves.append((cal.rebalance_day(plan.branch), rm.pk, org.heavy_to_light[rm.pk],
                      Assignment.Reason.REBALANCING, "网点客户均衡调整"))
    if rng.random() < CLIENT_REQUEST_SHARE_PER_YEAR * len(cal) / 12:
        moves.append((cal.random_day(rng), None, None, Assignment.Reason.CLIENT_REQUEST, "客户申请更换客户经理"))
    for hire, share in org.hire_shares[(plan.branch, plan.pool)]:
        if rng.random() < share:
            moves.append((hire.allocation_on, None, hire, Assignment.Reason.REBALANCING, "新入职客户经理分配客户"))
    moves.sort(key=lambda move: move[0])

    span = [rm, max(client.opened_on, rm.hired_on), Assignment.Reason.ONBOARDING.value, ""]
    for day, applies_to, new_rm, move_reason, move_note in moves:
        _hand_over_until(rng, org, plan, cal, span, day)
        rm, started_on = span[0], span[1]
        if day <= started_on or (client.lost_on and day >= client.lost_on) or applies_to not in (None, rm.pk):
            continue
        if new_rm is None:
            others = [m for m, _f in org.pools[(plan.branch, plan.pool)] if m is not rm and m.serves_on(day)]
            if not others:
                continue
            new_rm = rng.choice(others)
        elif new_rm is rm or not new_rm.serves_on(day):
            continue
        plan.spans.append((rm.pk, started_on, day, span[2], span[3]))
        span[:] = [new_rm, day, move_reason.value, move_note]
    _hand_over_until(rng, org, plan, cal, span, None)
    plan.spans.append((span[0].pk, span[1], client.lost_on, span[2], span[3]))


def _hand_over_until(rng: random.Random, org: _Organisation, plan: _ClientPlan, cal: _Calendar, span: list,
                     day: dt.date | None) -> None:
    """Hands the client over at each exit of its RM up to ``day`` (None: to the window's end);
    ``span`` is the open span [RM, from, reason, note], moved on in place."""
    client = plan.client
    while True:
        rm = span[0]
        handover = rm.handover_on
        if handover is None or (day is not None and handover > day) or handover <= span[1]:
            return
        if client.lost_on is not None and client.lost_on <= handover:
            return
        successor = _pick_rm(rng, org, plan.branch, plan.pool, handover, leaving=rm)
        plan.spans.append((rm.pk, span[1], handover, span[2], span[3]))
        span[:] = [successor, handover, Assignment.Reason.EXIT_HANDOVER.value, "客户经理离职移交"]
        if client.lost_on is None and rng.random() < FOLLOW_ODDS[plan.key]:
            lost_on = handover + dt.timedelta(days=rng.randint(20, 180))
            if lost_on <= cal.end:
                corporate = client.client_type == CORPORATE_CLIENT
                client.status, client.lost_on = Client.Status.LOST, lost_on
                client.lost_reason = rng.choice(FOLLOW_REASONS_CORPORATE if corporate else FOLLOW_REASONS)
                # The month of the loss has no RM on its last day (DOMAIN 2: book ownership), so no row.
                plan.stop = min(plan.stop, cal.index(lost_on))


# --------------------------------------------------------------------------------------------
# Monthly business (DOMAIN 2.1)
# --------------------------------------------------------------------------------------------

MONTHLY_FIELDS = (
    "client", "month",
    "deposit_avg_balance", "deposit_interest_expense", "deposit_accounts",
    "loan_avg_balance", "loan_interest_income", "loan_accounts", "loan_term", "loan_npl_balance",
    "wm_income", "wm_expense", "wm_tx_count", "wm_sales",
    "card_count", "card_deposit_income", "card_overdraft_income", "card_fee_income",
    "card_annual_fee_income", "card_rebate_income",
    "insurance_sales", "fund_sales", "bond_sales",
)
_DEPOSIT_ACCOUNTS = MONTHLY_FIELDS.index("deposit_accounts")
_LOAN_ACCOUNTS = MONTHLY_FIELDS.index("loan_accounts")
_WM_TX_COUNT = MONTHLY_FIELDS.index("wm_tx_count")
_CARD_COUNT = MONTHLY_FIELDS.index("card_count")

# Assets under management (deposits + WM) at the window's start: median, log spread, floor,
# ceiling in CNY. Private banking starts at 6 million (私人银行门槛 600 万).
AUM = {
    (INDIVIDUAL, MASS): (40_000, 0.9, 500, 480_000),
    (INDIVIDUAL, AFFLUENT): (1_200_000, 0.55, 500_000, 5_900_000),
    (INDIVIDUAL, PRIVATE): (9_000_000, 0.5, 6_000_000, 60_000_000),
    (CORPORATE_CLIENT, MASS): (600_000, 1.0, 20_000, 8_000_000),
    (CORPORATE_CLIENT, AFFLUENT): (6_000_000, 0.7, 1_000_000, 50_000_000),
    (CORPORATE_CLIENT, PRIVATE): (45_000_000, 0.6, 10_000_000, 300_000_000),
}
# Share of clients holding WM; share of AUM in WM (low, high); odds of buying in a month; ticket.
WM_HOLDING = {
    (INDIVIDUAL, MASS): (0.15, 0.2, 0.5, 0.35, 20_000),
    (INDIVIDUAL, AFFLUENT): (0.70, 0.3, 0.6, 0.55, 80_000),
    (INDIVIDUAL, PRIVATE): (0.95, 0.45, 0.7, 0.75, 300_000),
    (CORPORATE_CLIENT, MASS): (0.15, 0.1, 0.3, 0.30, 200_000),
    (CORPORATE_CLIENT, AFFLUENT): (0.25, 0.1, 0.35, 0.40, 1_000_000),
    (CORPORATE_CLIENT, PRIVATE): (0.35, 0.1, 0.35, 0.50, 3_000_000),
}
# Annual deposit rate paid, in millionths (demand-heavy mass, time-deposit-heavy wealthy).
DEPOSIT_RATE_PPM = {
    (INDIVIDUAL, MASS): (8_000, 14_000), (INDIVIDUAL, AFFLUENT): (13_000, 19_000),
    (INDIVIDUAL, PRIVATE): (15_000, 21_000), (CORPORATE_CLIENT, MASS): (5_000, 12_000),
    (CORPORATE_CLIENT, AFFLUENT): (6_000, 14_000), (CORPORATE_CLIENT, PRIVATE): (8_000, 15_000),
}
DEPOSIT_ACCOUNTS = {
    (INDIVIDUAL, MASS): (1, 2), (INDIVIDUAL, AFFLUENT): (2, 4), (INDIVIDUAL, PRIVATE): (3, 6),
    (CORPORATE_CLIENT, MASS): (1, 3), (CORPORATE_CLIENT, AFFLUENT): (2, 5), (CORPORATE_CLIENT, PRIVATE): (3, 8),
}
# Per month: (odds, median ticket) of an insurance, fund and bond sale.
SALES = {
    (INDIVIDUAL, MASS): ((0.004, 20_000), (0.02, 10_000), (0.015, 30_000)),
    (INDIVIDUAL, AFFLUENT): ((0.03, 100_000), (0.10, 80_000), (0.04, 150_000)),
    (INDIVIDUAL, PRIVATE): ((0.05, 600_000), (0.18, 600_000), (0.05, 800_000)),
    (CORPORATE_CLIENT, MASS): ((0.0, 0), (0.01, 100_000), (0.005, 200_000)),
    (CORPORATE_CLIENT, AFFLUENT): ((0.003, 200_000), (0.03, 500_000), (0.01, 1_000_000)),
    (CORPORATE_CLIENT, PRIVATE): ((0.005, 800_000), (0.05, 3_000_000), (0.02, 5_000_000)),
}
# Individual loans: odds of a mortgage, its median; odds of a consumer or business loan, its median.
INDIVIDUAL_LOANS = {MASS: (0.10, 600_000, 0.05, 80_000), AFFLUENT: (0.18, 1_500_000, 0.06, 300_000),
                    PRIVATE: (0.08, 3_000_000, 0.06, 1_000_000)}
# Corporate loans: odds, annual rate range (millionths), accounts range, odds of turning bad.
CORPORATE_LOANS = {MASS: (0.55, (42_000, 56_000), (1, 2), 0.05), AFFLUENT: (0.75, (37_000, 48_000), (1, 4), 0.03),
                   PRIVATE: (0.85, (33_000, 42_000), (2, 6), 0.02)}
INDIVIDUAL_BAD_LOAN_ODDS = 0.012
CORPORATE_LOAN_TERMS = ((LoanTerm.LE6M.value, LoanTerm.M6_1Y.value, LoanTerm.Y1_3Y.value,
                         LoanTerm.Y3_5Y.value, LoanTerm.GT5Y.value), (20, 35, 30, 10, 5))
SHORT_LOAN_TERMS = (LoanTerm.LE6M.value, LoanTerm.M6_1Y.value, LoanTerm.Y1_3Y.value)
# Credit cards: odds of holding one, median monthly spend, odds of revolving, annual fees.
CREDIT_CARDS = {MASS: (0.40, 3_000, 0.25, (100, 200)), AFFLUENT: (0.60, 9_000, 0.10, (300, 600)),
                PRIVATE: (0.70, 30_000, 0.03, (1_800, 3_600))}
# A new client builds up over its first months; a client about to leave runs its money off.
RAMP_UP = {0: 0.4, 1: 0.75}
RUN_OFF = {1: 0.35, 2: 0.6, 3: 0.8}  # months before the month of the loss


@dataclass(slots=True)
class _Profile:
    """A client's business at the window's start and how it moves; amounts in CNY."""

    deposit: float
    deposit_growth: float  # per month
    deposit_noise: float
    deposit_rate_ppm: int
    deposit_accounts: int
    loan: float = 0.0
    loan_growth: float = 0.0
    loan_rate_ppm: int = 0
    loan_term: str = ""
    loan_accounts: int = 0
    npl_from: int | None = None
    npl_share: float = 0.0
    wm: float = 0.0
    wm_growth: float = 0.0
    wm_buy_odds: float = 0.0
    wm_ticket: float = 1.0
    wm_expense_share: float = 0.0
    cards: int = 0
    card_spend: float = 0.0
    revolving: float = 0.0
    annual_fee: int = 0
    fee_month: int = 0
    sales: tuple = ()


def _draw_profile(rng: random.Random, plan: _ClientPlan, cal: _Calendar) -> _Profile:
    key, segment = plan.key, plan.client.segment
    corporate = key[0] == CORPORATE_CLIENT
    median, spread, floor, ceiling = AUM[key]
    aum = min(ceiling, max(floor, median * rng.lognormvariate(0, spread)))
    holds, share_low, share_high, buy_odds, ticket = WM_HOLDING[key]
    wm_share = rng.uniform(share_low, share_high) if rng.random() < holds and plan.dormant_from is None else 0.0
    profile = _Profile(
        deposit=aum * (1 - wm_share),
        deposit_growth=rng.gauss(0.005, 0.012) if corporate else rng.gauss(0.004, 0.006),
        deposit_noise=0.08 if corporate else 0.035,
        deposit_rate_ppm=rng.randint(*DEPOSIT_RATE_PPM[key]),
        deposit_accounts=rng.randint(*DEPOSIT_ACCOUNTS[key]),
        wm=aum * wm_share, wm_growth=rng.gauss(0.005, 0.01), wm_buy_odds=buy_odds, wm_ticket=ticket,
        wm_expense_share=rng.uniform(0.15, 0.3), fee_month=plan.client.opened_on.month, sales=SALES[key],
    )
    if plan.dormant_from is None:  # dormant clients have no loans
        bad_odds = (_draw_corporate_loan if corporate else _draw_individual_loan)(rng, profile, segment)
        if profile.loan and rng.random() < bad_odds:
            # A third of the bad loans went bad before the window; the book's NPL ratio rises a little.
            profile.npl_from = max(0, rng.randrange(-(len(cal) // 2), len(cal)))
            profile.npl_share = rng.uniform(0.3, 0.9)
    _draw_cards(rng, profile, corporate, segment)
    return profile


def _draw_individual_loan(rng: random.Random, profile: _Profile, segment: str) -> float:
    """A mortgage or a consumer/business loan for some individuals; returns the odds it turns bad."""
    mortgage_odds, mortgage, consumer_odds, consumer = INDIVIDUAL_LOANS[segment]
    draw = rng.random()
    if draw < mortgage_odds:
        profile.loan = mortgage * rng.lognormvariate(0, 0.45)
        profile.loan_term = LoanTerm.GT5Y.value if rng.random() < 0.85 else LoanTerm.Y3_5Y.value
        profile.loan_rate_ppm = rng.randint(33_000, 42_000)
        profile.loan_growth = -0.004  # amortising
        profile.loan_accounts = 1
    elif draw < mortgage_odds + consumer_odds:
        profile.loan = consumer * rng.lognormvariate(0, 0.6)
        profile.loan_term = rng.choice(SHORT_LOAN_TERMS)
        profile.loan_rate_ppm = rng.randint(40_000, 72_000)
        profile.loan_growth = rng.gauss(0, 0.01)
        profile.loan_accounts = rng.randint(1, 2)
    return INDIVIDUAL_BAD_LOAN_ODDS


def _draw_corporate_loan(rng: random.Random, profile: _Profile, segment: str) -> float:
    """Working-capital and project loans for most companies; returns the odds it turns bad."""
    odds, rates, accounts, bad_odds = CORPORATE_LOANS[segment]
    if rng.random() >= odds:
        return 0.0
    profile.loan = profile.deposit * rng.uniform(0.6, 2.5)
    profile.loan_term = rng.choices(CORPORATE_LOAN_TERMS[0], weights=CORPORATE_LOAN_TERMS[1])[0]
    profile.loan_rate_ppm = rng.randint(*rates)
    profile.loan_growth = rng.gauss(0.003, 0.01)
    profile.loan_accounts = rng.randint(*accounts)
    return bad_odds


def _draw_cards(rng: random.Random, profile: _Profile, corporate: bool, segment: str) -> None:
    if corporate:  # business cards for some companies
        if rng.random() < 0.5:
            profile.cards = rng.randint(1, 3)
            profile.card_spend = 20_000 * rng.lognormvariate(0, 0.6)
            profile.annual_fee = 200 if rng.random() < 0.3 else 0
        return
    credit_odds, spend, revolving_odds, fees = CREDIT_CARDS[segment]
    profile.cards = 1 + (rng.random() < 0.2)  # debit cards
    if rng.random() < credit_odds:
        profile.cards += 1
        profile.card_spend = spend * rng.lognormvariate(0, 0.5)
        profile.revolving = 8_000 * rng.lognormvariate(0, 0.6) if rng.random() < revolving_odds else 0.0
        profile.annual_fee = rng.choice(fees) if rng.random() < 0.5 else 0


def _monthly_rows(rng: random.Random, plan: _ClientPlan, cal: _Calendar) -> Iterator[tuple[int, tuple]]:
    """(month index, row in MONTHLY_FIELDS order) for every month the client has business.
    Balances follow the client's trend with seasonal peaks and noise; interest follows the
    balances (loan income ≈ balance × rate ÷ 12); money as integer cents."""
    profile = _draw_profile(rng, plan, cal)
    season = cal.corporate_deposit if plan.client.client_type == CORPORATE_CLIENT else cal.individual_deposit
    opened_in_window = plan.client.opened_on >= cal.start
    lost = plan.client.lost_on is not None
    for t in range(plan.start, plan.stop):
        ramp = RAMP_UP.get(t - plan.start, 1.0) if opened_in_window else 1.0
        run_off = RUN_OFF.get(plan.stop - t, 1.0) if lost else 1.0
        dormant = plan.dormant_from is not None and t >= plan.dormant_from
        yield t, _month_row(rng, profile, plan.client.pk, cal, t, season[t], scale=ramp * run_off,
                            dormant=dormant, selling=run_off > 0.7 and not dormant)


def _month_row(rng: random.Random, p: _Profile, client_pk: int, cal: _Calendar, t: int, season: float,
               *, scale: float, dormant: bool, selling: bool) -> tuple:
    if dormant:  # a forgotten current account
        deposit = min(p.deposit, 3_000) * 0.3
    else:
        deposit = p.deposit * (1 + p.deposit_growth) ** t * season * _wobble(rng, p.deposit_noise) * scale
    deposit_c = _cents(deposit)

    loan_c = npl_c = loan_income_c = 0
    if p.loan:
        bad = p.npl_from is not None and t >= p.npl_from
        loan = p.loan * (1 + p.loan_growth) ** (min(t, p.npl_from) if bad else t) * _wobble(rng, 0.01)
        loan_c = _cents(loan)
        npl_c = _cents(loan * p.npl_share) if bad else 0
        loan_income_c = _interest(loan_c - npl_c, p.loan_rate_ppm)  # bad loans stop accruing

    wm_sales = wm_income = 0.0
    wm_tx = 0
    if p.wm and not dormant:
        holding = p.wm * (1 + p.wm_growth) ** t * _wobble(rng, 0.05) * scale
        if selling and rng.random() < min(0.95, p.wm_buy_odds * cal.wm[t]):
            wm_sales = holding * rng.uniform(0.05, 0.25) * cal.wm[t]
            wm_tx = max(1, round(wm_sales / p.wm_ticket))
        wm_income = holding * 0.0045 / 12 + wm_sales * 0.002  # management fee share + sales fee

    spend = overdraft = 0.0
    if p.card_spend and not dormant:
        spend = p.card_spend * cal.card[t] * _wobble(rng, 0.3) * scale
        if p.revolving:
            overdraft = p.revolving * _wobble(rng, 0.25) * 0.015  # 0.05 % a day
    annual_fee = p.annual_fee if cal.months[t].month == p.fee_month and not dormant else 0

    insurance = fund = bond = 0
    if selling:
        (insurance_odds, insurance_ticket), (fund_odds, fund_ticket), (bond_odds, bond_ticket) = p.sales
        insurance = _sale(rng, insurance_odds * cal.insurance[t], insurance_ticket)
        fund = _sale(rng, fund_odds * cal.funds[t], fund_ticket)
        bond = _sale(rng, bond_odds, bond_ticket) if cal.bond_issue[t] else 0

    wm_income_c = _cents(wm_income)
    return (
        client_pk, cal.months[t],
        deposit_c, _interest(deposit_c, p.deposit_rate_ppm), p.deposit_accounts,
        loan_c, loan_income_c, p.loan_accounts if p.loan else 0, p.loan_term, npl_c,
        wm_income_c, _cents(wm_income * p.wm_expense_share), wm_tx, _cents(wm_sales),
        p.cards, _cents(min(deposit, 50_000) * 0.003 / 12) if p.cards else 0, _cents(overdraft),
        _cents(spend * 0.0045), annual_fee * 100, _cents(spend * 0.0012),
        insurance, fund, bond,
    )


def _sale(rng: random.Random, odds: float, ticket: float) -> int:
    """A sale in whole thousands of CNY with the given odds, else 0; in cents."""
    if not ticket or rng.random() >= odds:
        return 0
    return max(1, round(ticket * rng.lognormvariate(0, 0.5) / 1000)) * 100_000


# --------------------------------------------------------------------------------------------
# Interactions: visits, calls, call-backs and complaints (DOMAIN 2)
# --------------------------------------------------------------------------------------------

INTERACTION_FIELDS = ("client", "employee", "kind", "occurred_on", "score", "channel", "comment")
COMPLAINT_FIELDS = ("client", "rm", "subject", "description", "opened_at", "due_at", "resolved_at", "resolution")
COMPLAINT_RESPONSE = dt.timedelta(hours=48)
# Per month: odds of a visit, a call, a call-back and a complaint.
CONTACT = {
    (INDIVIDUAL, MASS): (0.01, 0.05, 0.05, 0.0015),
    (INDIVIDUAL, AFFLUENT): (0.12, 0.30, 0.12, 0.003),
    (INDIVIDUAL, PRIVATE): (0.35, 0.50, 0.18, 0.004),
    (CORPORATE_CLIENT, MASS): (0.10, 0.25, 0.06, 0.002),
    (CORPORATE_CLIENT, AFFLUENT): (0.30, 0.40, 0.08, 0.003),
    (CORPORATE_CLIENT, PRIVATE): (0.60, 0.50, 0.10, 0.004),
}
VISIT_NOTES = ("上门拜访，了解资金需求", "节前走访，赠送台历", "介绍开门红保险产品", "年度资产配置沟通", "陪同客户办理大额业务")
CORPORATE_VISIT_NOTES = ("走访企业，了解经营状况", "沟通授信续期安排", "介绍代发工资与结算服务", "实地查看厂房与存货")
CALL_NOTES = ("提醒定期存款到期", "跟进理财产品到期续投", "推荐信用卡分期", "通知储蓄国债发行时间", "生日问候")
CALLBACK_CHANNELS = (("电话", "短信", "微信"), (70, 85, 100))
CALLBACK_COMMENTS = {
    5: ("服务热情周到", "客户经理专业耐心", "非常满意", ""),
    4: ("总体满意", "产品介绍清楚", ""),
    3: ("一般", "希望多介绍一些产品"),
    2: ("等候时间较长", "回复不够及时"),
    1: ("很不满意，考虑转到他行", "问题一直没有解决"),
}
# (subject, description, resolution)
COMPLAINTS = (
    ("理财产品收益不及预期", "客户认为购买时收益说明不清，实际收益低于预期。", "已向客户解释业绩比较基准与实际收益的区别，客户表示理解。"),
    ("网点等候时间过长", "客户在网点办理业务等候超过一小时。", "已致歉并为客户预约专属服务时段。"),
    ("信用卡年费争议", "客户对信用卡年费扣收有异议。", "核实后按政策减免当年年费。"),
    ("客户经理未及时回复", "客户多次联系客户经理未获回复。", "支行已约谈客户经理并安排专人跟进。"),
    ("销售时风险提示不充分", "客户反映购买基金时未被充分告知风险。", "调阅双录资料核实，已向客户说明并完善告知流程。"),
    ("手机银行转账失败", "客户转账多次失败且未收到提示。", "经排查为系统故障，已修复并致歉。"),
    ("存款到期未提醒", "客户定期存款到期自动转存，未收到到期提醒。", "已为客户开通到期短信提醒。"),
)
CORPORATE_COMPLAINTS = (
    ("贷款审批进度慢", "企业反映贷款申请长时间无进展。", "已协调审批部门加快处理并告知客户进度。"),
    ("对公结算手续费争议", "企业对结算手续费收取标准有异议。", "已按协议价格退还多收的手续费。"),
    ("开户资料反复补充", "企业开立一般账户时被要求多次补充资料。", "已一次性告知所需资料并指定专人办理。"),
)


def _interactions(rng: random.Random, org: _Organisation, plan: _ClientPlan, cal: _Calendar,
                  writers: dict[str, _TableWriter]) -> None:
    """Contacts month by month while the client has business: more for wealthier clients and
    companies, visits before the Spring Festival, calls in the Q1 push, a call-back after every
    change of RM, lower scores and more complaints before a client leaves."""
    visit_odds, call_odds, callback_odds, complaint_odds = CONTACT[plan.key]
    client = plan.client
    corporate = client.client_type == CORPORATE_CLIENT
    handovers = {cal.index(started_on) for _rm, started_on, _until, _reason, _note in plan.spans[1:]}
    add = writers["interactions"].add
    for t in range(plan.start, plan.stop):
        first = max(cal.months[t], client.opened_on)
        quiet = 0.2 if plan.dormant_from is not None and t >= plan.dormant_from else 1.0
        leaving = client.lost_on is not None and plan.stop - t <= 3
        # A hard-pressed RM's clients complain more and are less pleased on call-backs.
        pressure = org.rms[plan.rm_on(first)].pressure[t] - 0.35
        if rng.random() < visit_odds * quiet * cal.visits[t]:
            day = cal.random_day(rng, first, cal.ends[t])
            on_site = corporate or client.segment == PRIVATE
            notes = CORPORATE_VISIT_NOTES if corporate else VISIT_NOTES
            add((client.pk, plan.rm_on(day), Interaction.Kind.VISIT.value, day, None,
                 "上门" if on_site else "网点", rng.choice(notes)))
        if rng.random() < call_odds * quiet * cal.calls[t]:
            day = cal.random_day(rng, first, cal.ends[t])
            add((client.pk, plan.rm_on(day), Interaction.Kind.CALL.value, day, None, "电话", rng.choice(CALL_NOTES)))
        if rng.random() < (0.6 if t in handovers else callback_odds * quiet):
            day = cal.random_day(rng, first, cal.ends[t])
            rm = plan.rm_on(day)  # the call-back asks about this RM's service
            score = round(4.45 + org.rms[rm].quality - 0.8 * pressure + rng.gauss(0, 0.75) - (1.2 if leaving else 0))
            score = min(5, max(1, score))
            channel = rng.choices(CALLBACK_CHANNELS[0], cum_weights=CALLBACK_CHANNELS[1])[0]
            add((client.pk, rm, Interaction.Kind.CALLBACK.value, day, score, channel,
                 rng.choice(CALLBACK_COMMENTS[score])))
        if rng.random() < (0.06 if leaving else complaint_odds * (1 + 2.5 * pressure)):
            writers["complaints"].add(_complaint(rng, plan, cal, cal.random_day(rng, first, cal.ends[t])))


def _complaint(rng: random.Random, plan: _ClientPlan, cal: _Calendar, day: dt.date) -> tuple:
    """Most complaints are resolved within a day or two, some late; those of the window's last
    week are mostly still open, and a few stall. Nothing is resolved after the window."""
    subjects = COMPLAINTS + (CORPORATE_COMPLAINTS if plan.client.client_type == CORPORATE_CLIENT else ())
    subject, description, resolution = rng.choice(subjects)
    opened_at = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randrange(60)),
                                    tzinfo=timezone.get_default_timezone())
    resolved_at = None
    if not ((cal.end - day).days < 7 and rng.random() < 0.6) and rng.random() >= 0.03:
        hours = rng.uniform(50, 120) if rng.random() < 0.05 else rng.lognormvariate(math.log(16), 0.6)
        resolved_at = opened_at + dt.timedelta(hours=round(hours, 2))
        window_close = dt.datetime.combine(cal.end, dt.time(23, 59), tzinfo=opened_at.tzinfo)
        if resolved_at > window_close:
            resolved_at = None
    return (plan.client.pk, plan.rm_on(day), subject, description, opened_at, opened_at + COMPLAINT_RESPONSE,
            resolved_at, resolution if resolved_at else "")


# --------------------------------------------------------------------------------------------
# Contribution parameters (DOMAIN 2.2)
# --------------------------------------------------------------------------------------------

RATES = {
    ParameterKey.TAX_RATE: Decimal("0.06"),
    ParameterKey.FTP_DEPOSIT: Decimal("0.0200"),
    ParameterKey.FTP_LOAN_LE6M: Decimal("0.0250"),
    ParameterKey.FTP_LOAN_6M_1Y: Decimal("0.0275"),
    ParameterKey.FTP_LOAN_1Y_3Y: Decimal("0.0290"),
    ParameterKey.FTP_LOAN_3Y_5Y: Decimal("0.0330"),
    ParameterKey.FTP_LOAN_GT5Y: Decimal("0.0380"),
    ParameterKey.CAPITAL_RATIO: Decimal("0.105"),
    ParameterKey.COST_OF_CAPITAL: Decimal("0.10"),
}
# Planned monthly cost in CNY per loan account, deposit account, WM transaction and card; the
# plan rises 4 % a year.
UNIT_COSTS = ((ParameterKey.COST_LOAN, 180), (ParameterKey.COST_DEPOSIT, 12), (ParameterKey.COST_WM, 6),
              (ParameterKey.COST_CARD, 4))
COST_GROWTH_PER_YEAR = Decimal("0.04")
# A branch with its own deposit FTP rate shows how a branch row overrides the bank-wide one.
OVERRIDE_BRANCH, OVERRIDE_KEY, OVERRIDE_VALUE = "B03", ParameterKey.FTP_DEPOSIT, Decimal("0.0215")


def _seed_parameters(org: _Organisation, *, cal: _Calendar, activity: list[list[int]]) -> int:
    """Bank-wide rates and planned costs for every month of the window, the planned costs sized
    to an average branch's accounts, cards and WM transactions (in hundreds of CNY, at least one);
    plus one branch override."""
    branch_count = len(org.branches)
    average_volumes = [sum(month[i] for month in activity) // len(activity) // branch_count for i in range(4)]
    rows = []
    for month in cal.months:
        growth = 1 + COST_GROWTH_PER_YEAR * (month.year - cal.start.year)
        rows += [ContributionParameter(month=month, key=key, value=value) for key, value in RATES.items()]
        for (key, unit_cost), volume in zip(UNIT_COSTS, average_volumes):
            planned = max(Decimal(100), (Decimal(volume * unit_cost) * growth / 100).quantize(Decimal(1)) * 100)
            rows.append(ContributionParameter(month=month, key=key, value=planned))
        override = next(b for b in org.branches if b.code == OVERRIDE_BRANCH)
        rows.append(ContributionParameter(branch=override, month=month, key=OVERRIDE_KEY, value=OVERRIDE_VALUE))
    ContributionParameter.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


# --------------------------------------------------------------------------------------------
# Careers and performance (DOMAIN 3, 4)
# --------------------------------------------------------------------------------------------

def _seed_history(streams: dict[str, random.Random], org: _Organisation, *, cal: _Calendar) -> dict[str, int]:
    """Career records (careers/demo.py), then the appraisal history with its bonus and pool, the
    exits on their dates (performance/demo.py), and the commendations the approved grades earned."""
    staff = list(Employee.objects.select_related("user", "branch").order_by("employee_no"))
    hr_officers = [e for e in staff if e.role == Role.HR]
    # The first HR officer (the demo log-in) runs the appraisals; the second looks after careers.
    careers_officer = hr_officers[1] if len(hr_officers) > 1 else hr_officers[0]
    levels = {(level.sequence.code, level.rank): level for level in Level.objects.select_related("sequence")}
    certificate_types = careers_demo.ladder_rules_apply(by=careers_officer.user)
    counts = careers_demo.career_records_seed(
        rng=streams["careers"], plan=org.plan,
        other_staff={e.pk: (e.hired_on, e.branch) for e in staff if e.role != Role.RM},
        levels=levels, certificate_types=certificate_types, branches=org.branches, interviewer=careers_officer,
        present=cal.end, by=careers_officer.user)
    by_branch = {(e.role, e.branch_id): e.user for e in staff}
    roles = performance_demo.Staff(
        hr=hr_officers[0].user,
        branch_managers={b.pk: by_branch[(Role.BRANCH_MANAGER, b.pk)] for b in org.branches},
        department_heads={b.pk: by_branch[(Role.DEPARTMENT_HEAD, b.pk)] for b in org.branches},
        reviewers={e.branch.region_id: e.user for e in staff if e.role == Role.REVIEWER},
        demo_rm=org.plan.people[0].pk)
    performance_counts = performance_demo.performance_seed(
        rng=streams["performance"], plan=org.plan, branches=org.branches, branch_weights=org.branch_weights,
        months=cal.months, staff=roles, extra_events=careers_demo.exit_events(org.plan, by=careers_officer.user))
    counts.update(performance_counts)
    grades = (Appraisal.objects.filter(state__in=Appraisal.FROZEN, period_kind__in=("quarter", "year"))
              .order_by("period", "employee_id").values_list("employee_id", "period", "grade", "total"))
    counts["commendations"] = careers_demo.commendations_seed(rng=streams["careers"], plan=org.plan, grades=grades,
                                                              branches=org.branches, present=cal.end)
    counts["exits"] = Exit.objects.count()
    return counts


# --------------------------------------------------------------------------------------------
# Writing rows fast
# --------------------------------------------------------------------------------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _TableWriter:
    """Streams rows (tuples in ``fields`` order; foreign keys as ids, money as integer cents) into
    a table: COPY on PostgreSQL with psycopg2, ``bulk_create`` elsewhere."""

    def __init__(self, model: type[models.Model], fields: tuple[str, ...], *, use_copy: bool):
        self.model = model
        self.fields = [model._meta.get_field(name) for name in fields]
        self.use_copy = use_copy
        self.batch_size = COPY_BATCH_SIZE if use_copy else BATCH_SIZE
        self.money = [isinstance(f, models.DecimalField) for f in self.fields]
        # One %-template per row keeps COPY formatting cheap; money goes in as "<cents>e-2",
        # which PostgreSQL's numeric input reads exactly. Only free text and nullable columns
        # need escaping.
        self.template = "\t".join("%de-2" if money else "%s" for money in self.money) + "\n"
        self.escaped = [i for i, f in enumerate(self.fields)
                        if f.null or (isinstance(f, (models.CharField, models.TextField)) and not f.choices)]
        self.rows: list[tuple] = []
        self.written = 0

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        (self._copy if self.use_copy else self._bulk_create)()
        self.written += len(self.rows)
        self.rows = []

    def _copy(self) -> None:
        template, escaped = self.template, self.escaped
        buffer = io.StringIO()
        for row in self.rows:
            if escaped:
                row = list(row)
                for i in escaped:
                    row[i] = _copy_text(row[i])
                row = tuple(row)
            buffer.write(template % row)
        buffer.seek(0)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {quote(self.model._meta.db_table)} ({columns}) FROM STDIN", buffer)

    def _bulk_create(self) -> None:
        names = [f.attname for f in self.fields]
        objects = [self.model(**{name: (Decimal(value).scaleb(-2) if money else value)
                                 for name, money, value in zip(names, self.money, row)})
                   for row in self.rows]
        self.model.objects.bulk_create(objects, batch_size=BATCH_SIZE)


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    return str(value).translate(_COPY_ESCAPES)


def _copy_supported() -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return not is_psycopg3


def _analyze(model_classes) -> None:
    """Fresh statistics so the contribution run plans its queries on the loaded tables."""
    with connection.cursor() as cursor:
        for model in model_classes:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def _person_name(rng: random.Random) -> str:
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(GIVEN_NAME_CHARACTERS) for _i in range(length))


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` by largest remainder."""
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    return counts


def _wobble(rng: random.Random, spread: float) -> float:
    """Month-to-month noise: a factor around 1 with the given standard deviation. Uniform rather
    than Gaussian because it is drawn for every figure of every row and ``random()`` is cheap."""
    return 1 + spread * _SQRT3 * (2 * rng.random() - 1)


_SQRT3 = math.sqrt(3)


def _cents(amount: float) -> int:
    """A simulated amount in CNY as whole cents (never negative)."""
    return int(amount * 100 + 0.5) if amount > 0 else 0


def _interest(balance_cents: int, annual_rate_ppm: int) -> int:
    """A month's interest on a daily-average balance, in cents, rounded half-up."""
    return (balance_cents * annual_rate_ppm + 6_000_000) // 12_000_000


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])
