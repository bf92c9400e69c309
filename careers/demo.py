"""Career histories of the demo bank (DOMAIN 4, 5), for ``seed_demo`` (clients/demo.py).

The staffing plan comes first, before any client is placed: every RM carries five hidden
propensities — appraisal friction, career stagnation, lack of recognition, work pressure and
pay — that drift month by month. They drive what the portal records about the RM (targets and
manual scores, promotions, interviews and goals, commendations, pool allocations, book size,
complaints) and, month by month, the odds that the RM leaves; the reason for leaving is the
propensity that weighs most at that moment. The propensities live only in memory while the bank
is seeded and are never stored, so a retention-risk model has to find the leavers from what
happened to them before they left, as it would in a real bank.

About 12 % of the RMs leave each year (the hazard is normalised month by month); a leaver's book
is handed over a few days before the exit, and most leavers are replaced by a hire one or two
months later. The records (level history, certificates, trainings, interviews, goals,
commendations) are plain history rows and go in with bulk inserts; exits go through the exit
services, on their dates, when the performance timeline reaches them.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DateTimeField
from django.db.models.functions import Cast
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from careers import services
from careers.models import (CareerGoal, CareerInterview, Certificate, CertificateType, Commendation, Exit,
                            JobSequence, Level, LevelChange, Training)
from careers.selectors import add_months
from clients.models import Employee, User

# --------------------------------------------------------------------------------------------
# Ladders: sequence norms and promotion requirements (DOMAIN 4)
# --------------------------------------------------------------------------------------------

# Usual book size and months at a level per sequence (the norms the retention score compares with).
SEQUENCE_NORMS = {"personal": (180, 36), "wealth": (80, 36), "corporate": (50, 36)}
INTERVIEW_MONTHS = 6

CERTIFICATES = (("BANKING", "银行从业资格"), ("FUND", "基金从业资格"), ("AFP", "AFP 金融理财师"),
                ("CFP", "CFP 国际金融理财师"))
# AFP and CFP are renewed every two years with continuing education; the others do not expire.
RENEWED_YEARS = {"AFP": 2, "CFP": 2}


@dataclass(frozen=True)
class LevelRule:
    """What it takes to be promoted out of a level (DOMAIN 4)."""

    min_months: int
    good_grades: int
    window: int
    certificates: tuple[str, ...]
    training_hours: int
    book: dict[str, int]


LEVEL_RULES = {
    1: LevelRule(18, 1, 2, ("BANKING",), 40, {"personal": 60, "wealth": 25, "corporate": 15}),
    2: LevelRule(24, 2, 3, ("BANKING", "AFP"), 48, {"personal": 100, "wealth": 40, "corporate": 25}),
    3: LevelRule(30, 2, 3, ("AFP",), 56, {"personal": 130, "wealth": 55, "corporate": 35}),
    4: LevelRule(36, 3, 3, ("CFP",), 60, {"personal": 160, "wealth": 70, "corporate": 45}),
    5: LevelRule(0, 0, 0, (), 0, {"personal": 0, "wealth": 0, "corporate": 0}),  # the top: no promotion
}
TOP_RANK = 5


def ladder_rules_apply(*, by: User) -> dict[str, CertificateType]:
    """Sequence norms, certificate types and promotion requirements of the demo ladders, through
    the career services (so they are checked like HR's own changes)."""
    certificate_types = {c.code: c for c in CertificateType.objects.all()}
    for code, name in CERTIFICATES:
        if code not in certificate_types:
            certificate_types[code] = services.certificate_type_create(code=code, name=name, by=by)
    for sequence in JobSequence.objects.filter(code__in=SEQUENCE_NORMS):
        book, months = SEQUENCE_NORMS[sequence.code]
        services.job_sequence_save(sequence=sequence, code=sequence.code, name=sequence.name,
                                   interview_interval_months=INTERVIEW_MONTHS, norm_months_at_level=months,
                                   norm_book_size=book, by=by)
        for level in sequence.levels.all():
            rule = LEVEL_RULES[level.rank]
            services.level_save(
                sequence=sequence, level=level, code=level.code, name=level.name, rank=level.rank,
                bonus_coefficient=level.bonus_coefficient, min_months_at_level=rule.min_months,
                good_grades_required=rule.good_grades, good_grades_window=rule.window,
                required_certificates=[certificate_types[c] for c in rule.certificates],
                training_hours_per_year=rule.training_hours, min_book_size=rule.book[sequence.code], by=by)
    return certificate_types


# --------------------------------------------------------------------------------------------
# The staffing plan: hidden propensities, promotions, exits and hires
# --------------------------------------------------------------------------------------------

FRICTION, STAGNATION, RECOGNITION, PRESSURE, PAY = range(5)
# Beta(a, b) of each propensity at the window's start; pay weighs on fewer RMs (the seed found
# that the way RMs are assessed, promoted and recognised matters more than pay).
INITIAL = ((1.6, 2.8), (1.6, 3.0), (1.6, 3.0), (1.6, 3.0), (1.2, 4.5))
HIRED = ((1.3, 3.5), (1.0, 8.0), (1.3, 3.5), (1.3, 3.5), (1.2, 4.5))
HAZARD_WEIGHTS = (1.1, 0.9, 0.8, 0.8, 0.6)
HAZARD_STEEPNESS = 3.2
REASONS = (Exit.Reason.INCENTIVE_ASSESSMENT, Exit.Reason.CAREER_DEVELOPMENT, Exit.Reason.RECOGNITION,
           Exit.Reason.WORK_PRESSURE, Exit.Reason.COMPENSATION)
# Monthly odds of leaving: the propensity-driven part averages MONTHLY_HAZARD over the RMs in
# post, plus a small part that no propensity explains (family, health, studies): ≈ 12 % a year.
MONTHLY_HAZARD = 0.0095
PERSONAL_HAZARD = 0.0010
SETTLING_MONTHS = 4  # new RMs do not leave in their first months
REPLACEMENT_ODDS = 0.8
PROMOTION_MONTHS = (1, 7)  # promotions take effect on 1 January and 1 July


@dataclass
class ExitPlan:
    exit_on: dt.date
    notice_on: dt.date  # HR opens the exit when notice is given
    handover_on: dt.date  # the book goes to colleagues a few days before the exit
    reason: str
    voluntary: bool
    destination: str
    notes: str


@dataclass
class Person:
    """An RM of the demo bank, with the propensities that shape their career."""

    branch: int
    sequence: str
    rank: int
    hired_on: dt.date
    demo: bool = False
    pk: int | None = None
    name: str = ""
    # (effective_on, kind, from rank or None, to rank)
    moves: list[tuple[dt.date, str, int | None, int]] = field(default_factory=list)
    exit: ExitPlan | None = None
    replaces: "Person | None" = None
    # Month index → the five propensities in that month; only months in post are present.
    states: dict[int, tuple[float, ...]] = field(default_factory=dict)
    drift: tuple[float, ...] = ()
    initial: tuple[float, ...] = ()

    def in_post(self, day: dt.date) -> bool:
        return self.hired_on <= day and (self.exit is None or day < self.exit.exit_on)

    def rank_on(self, day: dt.date) -> int:
        rank = self.moves[0][3] if self.moves else self.rank
        for effective_on, _kind, _from, to in self.moves:
            if effective_on <= day:
                rank = to
        return rank

    def level_start(self, day: dt.date) -> dt.date:
        """The day the level held on ``day`` began."""
        start = self.hired_on
        for effective_on, _kind, _from, _to in self.moves:
            if effective_on <= day:
                start = effective_on
        return start

    def state(self, t: int) -> tuple[float, ...]:
        """The propensities of month ``t`` (the nearest month in post outside the RM's time)."""
        if t in self.states:
            return self.states[t]
        months = sorted(self.states)
        if not months:
            return self.initial
        return self.states[months[0] if t < months[0] else months[-1]]


@dataclass
class StaffPlan:
    people: list[Person]  # the RMs in post at the window's start, then the hires in hiring order
    months: list[dt.date]

    @property
    def hires(self) -> list[Person]:
        return [p for p in self.people if p.replaces is not None]

    @property
    def leavers(self) -> list[Person]:
        return [p for p in self.people if p.exit is not None]

    def month_index(self, day: dt.date) -> int:
        start = self.months[0]
        return (day.year - start.year) * 12 + day.month - start.month

    def state_on(self, person: Person, day: dt.date) -> tuple[float, ...]:
        return person.state(self.month_index(day))


def _beta(rng: random.Random, shapes: Iterable[tuple[float, float]]) -> tuple[float, ...]:
    return tuple(rng.betavariate(a, b) for a, b in shapes)


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def staff_plan(rng: random.Random, people: list[Person], months: list[dt.date], *,
               new_person: Callable[[random.Random, Person, dt.date, int], Person]) -> StaffPlan:
    """Simulate the window month by month: propensities drift, promotions on 1 January and
    1 July go to RMs long enough at their level (less often to stagnating ones), and each RM in
    post may leave with odds driven by their propensities. ``new_person`` makes the hire that
    replaces a leaver (``rng``, leaver, hiring date, rank)."""
    start = months[0]
    for person in people:
        person.initial = _beta(rng, INITIAL)
        person.drift = tuple(rng.gauss(0.004, 0.01) for _k in range(5))
        if person.demo:  # the demo log-in shows a settled, well-regarded RM
            person.initial = tuple(min(x, 0.2) for x in person.initial)
            person.drift = tuple(min(d, 0.0) for d in person.drift)
        _past_levels(rng, person, start)
    plan = StaffPlan(people=list(people), months=months)
    for t, month in enumerate(months):
        end = _month_end(month)
        staff = [p for p in plan.people if p.hired_on <= end and (p.exit is None or p.exit.exit_on >= month)]
        for person in staff:
            _evolve(rng, person, t, month)
        if month.month in PROMOTION_MONTHS:
            _promote(rng, plan, staff, t, month)
        _leave(rng, plan, staff, t, month, new_person)
    return plan


def _evolve(rng: random.Random, person: Person, t: int, month: dt.date) -> None:
    before = person.states.get(t - 1)
    if before is None:
        person.states[t] = person.initial
        return
    long_at_level = _full_months(person.level_start(month), month) > LEVEL_RULES[person.rank_on(month)].min_months
    state = []
    for k, value in enumerate(before):
        drift = person.drift[k]
        if k == STAGNATION:
            drift += 0.008 if long_at_level else -0.004
        state.append(_clip(value + drift + rng.gauss(0, 0.02)))
    person.states[t] = tuple(state)


def _promote(rng: random.Random, plan: StaffPlan, staff: list[Person], t: int, month: dt.date) -> None:
    """Promotion round: RMs at least the required months at a level below the top may be promoted,
    less likely the more they stagnate; a promotion lifts the career and the pay outlook."""
    for person in staff:
        rank = person.rank_on(month)
        if rank >= TOP_RANK or person.hired_on > month or (person.exit and person.exit.exit_on < add_months(month, 3)):
            continue
        if _full_months(person.level_start(month), month) < LEVEL_RULES[rank].min_months:
            continue
        state = person.states[t]
        if rng.random() < 0.5 * (1 - state[STAGNATION]) ** 2:
            person.moves.append((month, LevelChange.Kind.PROMOTION, rank, rank + 1))
            person.rank = rank + 1
            lifted = list(state)
            lifted[STAGNATION] = max(0.0, state[STAGNATION] - 0.35)
            lifted[PAY] = max(0.0, state[PAY] - 0.2)
            person.states[t] = tuple(lifted)


def _leave(rng: random.Random, plan: StaffPlan, staff: list[Person], t: int, month: dt.date,
           new_person: Callable) -> None:
    at_risk = [p for p in staff if not p.demo and p.exit is None and p.hired_on <= month
               and _full_months(p.hired_on, month) >= SETTLING_MONTHS]
    if not at_risk:
        return
    pulls = [math.exp(HAZARD_STEEPNESS * sum(w * x for w, x in zip(HAZARD_WEIGHTS, p.states[t]))) for p in at_risk]
    scale = MONTHLY_HAZARD * len(at_risk) / sum(pulls)
    for person, pull in zip(at_risk, pulls):
        odds = scale * pull + PERSONAL_HAZARD
        if rng.random() >= odds:
            continue
        colleagues = [p for p in staff if p is not person and p.branch == person.branch
                      and p.sequence == person.sequence and p.exit is None]
        if not colleagues:  # the last RM of a sequence in a branch stays until a colleague comes
            continue
        personal = rng.random() < PERSONAL_HAZARD / odds
        person.exit = _exit_plan(rng, person, person.states[t], month, personal=personal)
        if rng.random() < REPLACEMENT_ODDS:
            hired_on = add_months(month, rng.choice((1, 2)))
            if hired_on <= plan.months[-1]:
                hire = new_person(rng, person, hired_on, 1 if rng.random() < 0.65 else 2)
                hire.replaces = person
                hire.initial = _beta(rng, HIRED)
                hire.drift = tuple(rng.gauss(0.004, 0.01) for _k in range(5))
                hire.moves = [(hired_on, LevelChange.Kind.HIRE, None, hire.rank)]
                plan.people.append(hire)


# Where leavers go and what they said at the exit interview, by reason.
DESTINATIONS = {
    "bank": ("股份制商业银行", "城市商业银行", "外资银行", "农村商业银行", "股份制商业银行私人银行部"),
    "other": ("证券公司", "保险公司", "第三方财富管理机构", "基金公司", "互联网金融公司"),
}
EXIT_NOTES = {
    Exit.Reason.INCENTIVE_ASSESSMENT: (
        "认为考核指标逐季加码、任务分配不均，对考核结果的公平性有意见。",
        "绩效池扣留多、返还少，觉得付出与考核结果不匹配。",
        "对考核方案频繁调整不满，认为指标脱离所管客户的实际情况。"),
    Exit.Reason.CAREER_DEVELOPMENT: (
        "在现职级停留时间较长，符合条件但未获晋升，看不到清晰的职业通道。",
        "希望转向私人银行或投行方向发展，本行岗位序列难以满足。",
        "多次面谈提出晋升诉求未获回应，决定寻求新的发展平台。"),
    Exit.Reason.RECOGNITION: (
        "工作付出较多但很少得到表彰和认可，感觉努力没有被看见。",
        "认为评优评先总是集中在少数人身上，自身贡献未被认可。",
        "支行对个人业绩突破缺少肯定，归属感不强。"),
    Exit.Reason.WORK_PRESSURE: (
        "管户数量偏多，投诉处理和营销任务叠加，长期加班，压力过大。",
        "指标压力和客户维护工作量过大，身体和家庭难以兼顾。",
        "频繁的时点冲刺和考核排名带来很大心理压力。"),
    Exit.Reason.COMPENSATION: (
        "对方机构提供的薪酬明显高于本行。",
        "认为本行客户经理薪酬在同业中缺乏竞争力。"),
    Exit.Reason.PERSONAL: (
        "因家庭原因需迁居外地。", "随配偶工作调动离开本地。", "需照顾家中老人，选择离职。"),
    Exit.Reason.OTHER: ("计划脱产深造，攻读金融硕士。", "身体原因需要长期休养。"),
}
DISMISSAL_NOTE = "连续考核不合格，经协商解除劳动合同。"


def _exit_plan(rng: random.Random, person: Person, state: tuple[float, ...], month: dt.date, *,
               personal: bool) -> ExitPlan:
    """The exit of ``person`` in ``month``: on day 10–28, the book handed over 3–21 days
    before within the same month (so no month-end falls between handover and exit), notice a
    month before. The reason is the propensity weighing most, unless the exit is personal."""
    exit_on = month.replace(day=rng.randint(10, 28))
    handover_on = exit_on - dt.timedelta(days=rng.randint(3, min(21, exit_on.day - 2)))
    if personal:
        reason = Exit.Reason.PERSONAL if rng.random() < 0.7 else Exit.Reason.OTHER
    else:
        reason = REASONS[max(range(5), key=lambda k: HAZARD_WEIGHTS[k] * state[k])]
    voluntary = not (reason == Exit.Reason.INCENTIVE_ASSESSMENT and rng.random() < 0.3)
    if not voluntary:
        destination, notes = "", DISMISSAL_NOTE
    else:
        notes = rng.choice(EXIT_NOTES[reason])
        if reason in (Exit.Reason.PERSONAL, Exit.Reason.OTHER):
            destination = ""
        else:
            destination = rng.choice(DESTINATIONS["bank" if rng.random() < 0.6 else "other"])
    return ExitPlan(exit_on=exit_on, notice_on=exit_on - dt.timedelta(days=30), handover_on=handover_on,
                    reason=reason, voluntary=voluntary, destination=destination, notes=notes)


def _past_levels(rng: random.Random, person: Person, start: dt.date) -> None:
    """The level history before the window: the more an RM stagnates, the longer they have been at
    their level; earlier promotions are spread over the years before."""
    tenure = max(1, _full_months(person.hired_on, start))
    at_level = min(tenure, max(1, round(rng.gauss(10 + 40 * person.initial[STAGNATION], 6))))
    since = _promotion_day(add_months(start, -at_level), person.hired_on)
    earlier = min(person.rank - 1, (_full_months(person.hired_on, since)) // 20)
    hire_rank = person.rank - earlier
    moves = [(person.hired_on, LevelChange.Kind.HIRE, None, hire_rank)]
    if earlier:
        span = _full_months(person.hired_on, since)
        for step in range(1, earlier + 1):
            day = since if step == earlier else _promotion_day(
                add_months(person.hired_on, span * step // (earlier + 1)), person.hired_on)
            if day <= moves[-1][0]:
                day = moves[-1][0] + dt.timedelta(days=1)
            moves.append((day, LevelChange.Kind.PROMOTION, hire_rank + step - 1, hire_rank + step))
    person.moves = moves


def _promotion_day(day: dt.date, floor: dt.date) -> dt.date:
    """The 1 January or 1 July on or before ``day``, not before ``floor`` (else ``floor``)."""
    snapped = dt.date(day.year, 7 if day.month >= 7 else 1, 1)
    return snapped if snapped > floor else floor


# --------------------------------------------------------------------------------------------
# Career records: level history, certificates, trainings, interviews, goals, commendations
# --------------------------------------------------------------------------------------------

TRAININGS = (("反洗钱与合规管理", 6), ("消费者权益保护", 4), ("财富管理与资产配置", 16), ("个人养老金业务", 8),
             ("保险销售双录规范", 4), ("对公信贷风险识别", 12), ("财务报表分析与粉饰识别", 16),
             ("客户经理营销技巧", 8), ("基金定投与客户陪伴", 6), ("家族信托业务入门", 12),
             ("数字化营销工具应用", 6), ("跨境金融服务", 8))
INDUCTION = ("新员工入职培训", Decimal("40.0"))
INTERVIEW_NOTES = {
    CareerInterview.Outcome.ON_TRACK: ("工作状态良好，按计划推进年度目标。", "客户维护扎实，业绩稳步提升。"),
    CareerInterview.Outcome.NEEDS_SUPPORT: ("近期业绩承压，需加强产品培训与客户拓展支持。",
                                            "管户结构偏弱，建议由资深客户经理带教。"),
    CareerInterview.Outcome.READY_FOR_PROMOTION: ("各项晋升条件基本具备，建议纳入下一轮晋升评审。",
                                                  "业绩与资质均达标，可安排晋升答辩。"),
    CareerInterview.Outcome.AT_RISK: ("对考核方式和晋升通道有顾虑，流失风险较高，建议支行负责人跟进。",
                                      "情绪低落，提到有同业机构接触，需重点关注。"),
}
REVISED_GOALS = ("年内取得AFP证书", "管户客户数提升至计划水平", "完成年度培训学时", "提升中高端客户占比",
                 "准备下一职级晋升答辩", "加强对公客户综合营销")
GOAL_ACTIONS = ("考取AFP/CFP证书；提升管户AUM；参加晋升答辩。", "完成培训学时；拓展中高端客户；降低客户流失。",
                "提升综合贡献；带教新员工；参加分行业务竞赛。")



def career_records_seed(*, rng: random.Random, plan: StaffPlan, other_staff: dict[int, tuple[dt.date, object]],
                        levels: dict[tuple[str, int], Level], certificate_types: dict[str, CertificateType],
                        branches: list, interviewer: Employee, present: dt.date, by: User) -> dict[str, int]:
    """Level history (hire and promotions; exits are written by ``exit_complete`` when the exit
    is completed), certificates, trainings, career interviews and goals, in bulk.

    ``other_staff``: pk → (hiring date, branch) of the employees who are not RMs (a hire record
    without a level). ``present``: the window's last day; expiring certificates, overdue
    interviews and open goals are placed relative to it."""
    changes = [LevelChange(employee_id=pk, kind=LevelChange.Kind.HIRE, effective_on=hired_on, to_branch=branch)
               for pk, (hired_on, branch) in other_staff.items()]
    certificates, trainings, interviews, goals = [], [], [], []
    for person in plan.people:
        branch = branches[person.branch]
        for effective_on, kind, from_rank, to_rank in person.moves:
            changes.append(LevelChange(
                employee_id=person.pk, kind=kind, effective_on=effective_on,
                from_level=levels[(person.sequence, from_rank)] if from_rank else None,
                to_level=levels[(person.sequence, to_rank)], from_branch=branch if from_rank else None,
                to_branch=branch, note="" if kind == LevelChange.Kind.HIRE else "年度晋升评审通过"))
        last_day = person.exit.exit_on - dt.timedelta(days=1) if person.exit else present
        certificates += _certificates(rng, person, certificate_types, present)
        trainings += _trainings(rng, person, last_day, present)
        held, pending = _interviews(rng, plan, person, interviewer, last_day, present)
        interviews += held + pending
        goals += _goals(rng, plan, person, held, levels, present)
    bulk_create_with_history(changes, LevelChange, default_user=by)
    Certificate.objects.bulk_create(certificates)
    Training.objects.bulk_create(trainings)
    CareerInterview.objects.bulk_create(interviews)
    bulk_create_with_history(goals, CareerGoal, default_user=by)
    # The history shows each record on the day it was made.
    LevelChange.history.model.objects.filter(employee_id__in=[c.employee_id for c in changes]).update(
        history_date=Cast("effective_on", DateTimeField()))
    CareerGoal.history.model.objects.filter(employee_id__in=[g.employee_id for g in goals]).update(
        history_date=Cast("created_on", DateTimeField()))
    return {"level_changes": len(changes), "certificates": len(certificates), "trainings": len(trainings),
            "interviews": len(interviews), "goals": len(goals)}


def _days(rng: random.Random, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=rng.randint(low, high))


def _certificates(rng: random.Random, person: Person, types: dict[str, CertificateType],
                  present: dt.date) -> list[Certificate]:
    """The banking qualification for nearly everyone, the fund qualification for most, AFP and CFP
    the higher the level; of the renewed ones some expire within 90 days of ``present`` and
    some have expired."""
    rank = person.rank_on(person.exit.exit_on if person.exit else present)
    held = []

    def add(code: str, obtained_on: dt.date, expires_on: dt.date | None = None):
        obtained_on = min(obtained_on, present)
        number = f"{code[:3]}{obtained_on.year}{rng.randrange(10 ** 6):06d}"
        held.append(Certificate(employee_id=person.pk, certificate_type=types[code], obtained_on=obtained_on,
                                expires_on=expires_on, number=number))

    if rng.random() < 0.97:
        add("BANKING", person.hired_on - _days(rng, 30, 700) if rng.random() < 0.8
            else person.hired_on + _days(rng, 30, 150))
    if rng.random() < (0.3 if person.sequence == "corporate" else 0.75):
        add("FUND", person.hired_on + _days(rng, -400, 500))
    bonus = {"wealth": 0.1, "corporate": -0.25}.get(person.sequence, 0.0)
    renewed = []
    if rng.random() < {1: 0.15, 2: 0.5, 3: 0.85}.get(rank, 0.95) + bonus:
        renewed.append("AFP")
    cfp_odds = {"wealth": 0.6, "personal": 0.3}.get(person.sequence, 0.05) + (0.2 if rank >= 4 else 0.0)
    if rank >= 3 and rng.random() < cfp_odds:
        renewed.append("CFP")
    for code in renewed:
        draw = rng.random()
        if draw < 0.14:
            expires_on = present + _days(rng, 35, 85)  # expiring soon
        elif draw < 0.24:
            expires_on = present - _days(rng, 10, 300)  # expired, not renewed
        else:
            expires_on = present + _days(rng, 90, 700)
        add(code, add_months(expires_on, -12 * RENEWED_YEARS[code]), expires_on)
    return held


def _trainings(rng: random.Random, person: Person, last_day: dt.date, present: dt.date) -> list[Training]:
    """Courses over the last 30 months in post, in about three months of five; new RMs start with
    the induction course."""
    rows = []
    if person.hired_on > add_months(present, -30):
        title, hours = INDUCTION
        day = person.hired_on + _days(rng, 3, 10)
        if day <= last_day:
            rows.append(Training(employee_id=person.pk, title=title, completed_on=day, hours=hours))
    month = max(person.hired_on, add_months(present, -30)).replace(day=1)
    while month <= last_day:
        if rng.random() < 0.6:
            day = month + _days(rng, 0, 27)
            if person.hired_on <= day <= last_day:
                title, hours = rng.choice(TRAININGS)
                rows.append(Training(employee_id=person.pk, title=title, completed_on=day, hours=Decimal(hours)))
        month = add_months(month, 1)
    return rows


def _interviews(rng: random.Random, plan: StaffPlan, person: Person, interviewer: Employee, last_day: dt.date,
                present: dt.date) -> tuple[list[CareerInterview], list[CareerInterview]]:
    """A career interview about every six months from hiring; the more an RM stagnates (and the
    more restless they are), the more often the interview slips by, so some are overdue at
    ``present``. Only the last three years are kept. Returns the held interviews and, for some
    RMs in post, the next one scheduled."""
    held, pending = [], []
    due = add_months(person.hired_on, INTERVIEW_MONTHS)
    keep_from = add_months(present, -36)
    while due <= last_day:
        state = plan.state_on(person, due)
        skipped = rng.random() < _clip(0.03 + 1.2 * (state[STAGNATION] - 0.35) + 0.8 * (_unrest(state) - 0.35))
        day = due + _days(rng, -30, 10)
        if not skipped and person.hired_on < day <= last_day:
            if day >= keep_from:
                outcome = _interview_outcome(rng, person, state, day)
                held.append(CareerInterview(
                    employee_id=person.pk, scheduled_on=day - _days(rng, 5, 20), held_on=day,
                    interviewer=interviewer, outcome=outcome, notes=rng.choice(INTERVIEW_NOTES[outcome]),
                    revised_goals="；".join(rng.sample(REVISED_GOALS, 2))))
            due = add_months(day, INTERVIEW_MONTHS)
        else:
            due = add_months(due, INTERVIEW_MONTHS)
    if person.exit is None and due <= add_months(present, 2) and rng.random() < 0.7:
        pending.append(CareerInterview(employee_id=person.pk, scheduled_on=max(due, present + _days(rng, 3, 30)),
                                       interviewer=interviewer))
    return held, pending


def _unrest(state: tuple[float, ...]) -> float:
    """The propensities weighted as they weigh on leaving, 0–1."""
    return sum(w * x for w, x in zip(HAZARD_WEIGHTS, state)) / sum(HAZARD_WEIGHTS)


def _interview_outcome(rng: random.Random, person: Person, state: tuple[float, ...], day: dt.date) -> str:
    """What HR notes at the interview: unrest shows (at risk), so do a long wait at the level."""
    unrest = _unrest(state) + rng.gauss(0, 0.06)
    rank = person.rank_on(day)
    waited = _full_months(person.level_start(day), day) >= LEVEL_RULES[rank].min_months and rank < TOP_RANK
    if unrest > 0.45:
        return CareerInterview.Outcome.AT_RISK
    if waited and state[STAGNATION] < 0.45:
        return CareerInterview.Outcome.READY_FOR_PROMOTION
    if state[FRICTION] > 0.45:
        return CareerInterview.Outcome.NEEDS_SUPPORT
    return CareerInterview.Outcome.ON_TRACK


def _goals(rng: random.Random, plan: StaffPlan, person: Person, held: list[CareerInterview],
           levels: dict[tuple[str, int], Level], present: dt.date) -> list[CareerGoal]:
    """Goals set at interviews (the next level, in one to two years), less often by RMs who
    stagnate; the last two are kept. Reached → achieved, replaced → revised, left or given up →
    dropped; the latest of an RM in post and not stagnating stays open."""
    goals = []
    for interview in held:
        rank = person.rank_on(interview.held_on)
        state = plan.state_on(person, interview.held_on)
        if rank >= TOP_RANK or rng.random() >= 0.7 * (1 - state[STAGNATION]):
            continue
        goals.append(CareerGoal(employee_id=person.pk, target_level=levels[(person.sequence, rank + 1)],
                                target_date=add_months(interview.held_on, rng.choice((12, 18, 24))),
                                actions=rng.choice(GOAL_ACTIONS), created_on=interview.held_on))
    goals = goals[-2:]
    final_state = plan.state_on(person, person.exit.exit_on if person.exit else present)
    for i, goal in enumerate(goals):
        reached = person.rank_on(person.exit.exit_on if person.exit else present) >= goal.target_level.rank
        if reached:
            goal.status = CareerGoal.Status.ACHIEVED
        elif i < len(goals) - 1:
            goal.status = CareerGoal.Status.REVISED
        elif person.exit is not None or final_state[STAGNATION] > 0.6:
            goal.status = CareerGoal.Status.DROPPED
        elif goal.target_date < present:
            goal.status = CareerGoal.Status.REVISED
        else:
            goal.status = CareerGoal.Status.OPEN
    return goals


# --------------------------------------------------------------------------------------------
# Commendations, from the grades once they are approved
# --------------------------------------------------------------------------------------------

def commendations_seed(*, rng: random.Random, plan: StaffPlan, grades: Iterable[tuple[int, str, str, Decimal]],
                       branches: list, present: dt.date) -> int:
    """Commendations (表彰): each branch's best RM of a quarter (营销之星) and the best two of a
    year (年度优秀客户经理, also for the years carried over), from the approved totals — but only
    RMs whom the branch notices: the ones lacking recognition are passed over even with good
    grades. Before the window, the Q1 campaign's awards (开门红) go to RMs the branch notices.
    ``grades``: (employee pk, period, grade, total) of approved appraisals."""
    by_pk = {p.pk: p for p in plan.people}
    start = plan.months[0]
    rows = []
    best: dict[tuple[int, str], list[tuple[Decimal, int]]] = defaultdict(list)
    for pk, period, grade, total in grades:
        person = by_pk.get(pk)
        if person is None or grade not in ("excellent", "good"):
            continue
        best[(person.branch, period)].append((total, pk))
    for (branch, period), ranked in sorted(best.items()):
        year = int(period[:4])
        annual = len(period) == 4
        end = dt.date(year, 12, 31) if annual else _month_end(dt.date(year, int(period[-1]) * 3, 1))
        awarded_on = end + dt.timedelta(days=25 if annual else 40)
        if awarded_on > present:
            continue
        noticed = [(total, pk) for total, pk in sorted(ranked, reverse=True)
                   if plan.state_on(by_pk[pk], end)[RECOGNITION] < 0.5]
        for _total, pk in noticed[:2 if annual else 1]:
            title = f"{year}年度优秀客户经理" if annual else f"{year}年第{'一二三四'[int(period[-1]) - 1]}季度营销之星"
            awarded_by = branches[branch].region.name if annual else branches[branch].name
            rows.append(Commendation(employee_id=pk, title=title, awarded_on=awarded_on, awarded_by=awarded_by))
    for year in range(start.year - 3, start.year + 1):
        day = dt.date(year, 4, 20)
        if day >= start:
            continue
        for branch_index, branch in enumerate(branches):
            staff = [p for p in plan.people if p.branch == branch_index and p.in_post(day)
                     and p.hired_on < day - dt.timedelta(days=180)]
            weights = [(1 - p.initial[RECOGNITION]) ** 4 for p in staff]
            for person in weighted_sample(rng, staff, weights, 1):
                rows.append(Commendation(employee_id=person.pk, title=f"{year}年开门红先进个人", awarded_on=day,
                                         awarded_by=branch.name))
    Commendation.objects.bulk_create(rows)
    return len(rows)


def weighted_sample(rng: random.Random, items: list, weights: list[float], count: int) -> list:
    """Up to ``count`` different items, each drawn with the odds of its weight."""
    chosen, items, weights = [], list(items), list(weights)
    while items and len(chosen) < count and sum(weights) > 0:
        index = rng.choices(range(len(items)), weights=weights)[0]
        chosen.append(items.pop(index))
        weights.pop(index)
    return chosen


# --------------------------------------------------------------------------------------------
# Exits, through the services, on their dates
# --------------------------------------------------------------------------------------------

def exit_events(plan: StaffPlan, *, by: User) -> list[tuple[dt.datetime, Callable[[], None]]]:
    """(moment, action) of each exit: opened when notice is given, completed on the exit date."""
    events = []
    for person in plan.leavers:
        events.append((_at(person.exit.notice_on, 11), lambda person=person: exit_notice(person=person, by=by)))
        events.append((_at(person.exit.exit_on, 17), lambda person=person: exit_completion(person=person, by=by)))
    return events


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def exit_notice(*, person: Person, by: User) -> Exit:
    """HR opens the exit when the RM gives notice (DOMAIN 4)."""
    plan = person.exit
    return services.exit_open(employee=Employee.objects.get(pk=person.pk), exit_on=plan.exit_on,
                              voluntary=plan.voluntary, reason=plan.reason, destination=plan.destination,
                              interview_notes=plan.notes, by=by)


def exit_completion(*, person: Person, by: User) -> Exit:
    """On the exit date the book has been handed over; the exit is completed and the RM leaves."""
    return services.exit_complete(exit=Exit.objects.get(employee_id=person.pk), by=by)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

def _full_months(start: dt.date, end: dt.date) -> int:
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if add_months(start, months) > end else months


def _month_end(month: dt.date) -> dt.date:
    return add_months(month.replace(day=1), 1) - dt.timedelta(days=1)
