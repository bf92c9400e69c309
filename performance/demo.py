"""Appraisals, bonus and the performance pool of the demo bank (DOMAIN 3), for ``seed_demo``
(clients/demo.py).

Each branch gets one scheme a year, the example of DOMAIN 3.1.1 adapted to the branch (its own
local business, client contribution by method 2 or 3), imported with ``scheme_import``; annual
grades of the years before the window come over from the previous system (totals and grades).
Then the portal's own history is replayed on a timeline, through the services and on believable
dates: HR loads targets and budgets at the start of each period; after it, ``appraisal_run``
computes the appraisals, the branch manager enters the manual scores and submits, the region's
reviewer reviews (now and then sending one back), HR approves the branch's period (bonus and pool
contributions follow) and publishes, the RMs acknowledge or appeal, department heads allocate
from the pool. Exits and hires from the staffing plan (careers/demo.py) happen on their dates in
between. The last closed period was published a day or two ago, so RMs may still appeal; the
window's last month (and a period ending with it) is left open at different steps per branch, so
every queue has work.

Targets are sized to the demo books: an RM's target is what their book would yield at the
bank's average per client of each segment in the period, times the bank's plan factor (chosen so
that the median total is MEDIAN_TOTAL, which spreads the grades as a bank's usually are) and
times how hard the branch leans on that RM (appraisal friction and work pressure, the hidden
propensities of careers/demo.py). The timestamps each step writes are moved to its date.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from careers.demo import FRICTION, PAY, PRESSURE, RECOGNITION, STAGNATION, Person, StaffPlan, weighted_sample
from careers.models import Exit, LevelChange
from clients.models import Branch, Employee, User
from core.money import money_round, round_half_up
from performance.appraisals import appraisal_run
from performance.bonus import pool_allocate, pool_reverse
from performance.metrics import rm_metrics
from performance.models import (Appraisal, AppraisalLine, BonusStatement, Budget, Indicator, PerformancePool,
                                PoolEntry, Scheme, Signal, Target)
from performance.periods import YEAR, Period, month_end
from performance.schemes import scheme_import
from performance.scoring import (Grade, grade_for, rescale, score_bands, score_inverse, score_manual, score_ratio,
                                 total_score)
from performance.workflow import (appraisal_acknowledge, appraisal_appeal, appraisal_approve, appraisal_publish,
                                  appraisal_review, appraisal_score_manual, appraisal_submit, period_approve)

S = Appraisal.State
HALF = Decimal("0.5")

# --------------------------------------------------------------------------------------------
# Schemes (DOMAIN 3.1.1)
# --------------------------------------------------------------------------------------------

# Each branch's local business (特色业务, the adjustment indicator) and contribution method.
LOCAL_BUSINESS = {"B01": "跨境金融业务", "B02": "数字人民币推广", "B03": "普惠小微金融", "B04": "跨境理财通",
                  "B05": "科技金融", "B06": "对台金融服务"}
CONTRIBUTION_METHOD = {"B01": 3, "B02": 3, "B03": 2, "B04": 3, "B05": 2, "B06": 2}
# Once the cost data allows, a branch moves from revenue (2) to profit contribution (3), as the seed recommends.
METHOD_FROM_SECOND_YEAR = {"B03": 3}
POOL_RATE = {"B05": "0.12"}
# Deposit growth since December in bands: the December peak makes mid-year growth often negative,
# so a moderate fall still earns part of the weight.
DEPOSIT_BANDS = [["-0.5", "0.3"], ["-0.08", "0.5"], ["-0.04", "0.6"], ["-0.02", "0.7"], ["0", "0.8"],
                 ["0.02", "0.9"], ["0.04", "1"]]
ALL_PERIODS = ["month", "quarter", "year"]
# The plan factor puts the median total here; with the scheme below the grades then spread about
# 10–15 % excellent, 25–30 % good, 35 % pass, 15–20 % basic and 5–10 % fail.
MEDIAN_TOTAL = 77


def scheme_definition(*, branch: Branch | None, year: int, method: int, contribution_target: Decimal,
                      wm_target: Decimal, legacy: bool = False) -> dict:
    """The DOMAIN 3.1.1 example adapted to ``branch`` (None: head office's template): deposit
    growth in bands, client contribution and WM income against targets (quarterly defaults sized
    to the books; the RMs get their own), NPL ratio, fund sales, satisfaction, work ability and the
    branch's local business."""
    contribution_name = "客户利润贡献" if method == 3 else "客户收入贡献"
    if branch is None:
        code, name, local = f"HQ-{year}", f"总行 {year}年客户经理考核方案模板", "特色业务"
    else:
        code, local = f"{branch.code}-{year}", LOCAL_BUSINESS.get(branch.code, "特色业务")
        name = f"{branch.name} {year}年及以前考核方案（旧系统）" if legacy else f"{branch.name} {year}年客户经理考核方案"
    definition = {
        "code": code, "name": name, "contribution_method": method,
        "pool_rate": POOL_RATE.get(branch.code if branch else "", "0.10"),
        "grade_coefficients": {"excellent": "1.5", "good": "1.2", "pass": "1.0", "basic": "0.8", "fail": "0.5"},
        "indicators": [
            {"code": "dep", "name": "存款日均增长率", "category": "performance", "source": "metric",
             "metric": "deposit_growth_rate", "weight": "20", "method": "bands", "bands": DEPOSIT_BANDS,
             "periods": ALL_PERIODS},
            {"code": "contrib", "name": contribution_name, "category": "performance", "source": "metric",
             "metric": "client_contribution", "weight": "25", "method": "ratio",
             "target": str(contribution_target), "periods": ALL_PERIODS},
            {"code": "wm", "name": "理财中间业务收入", "category": "performance", "source": "metric",
             "metric": "wm_income", "weight": "10", "method": "ratio", "target": str(wm_target),
             "periods": ALL_PERIODS},
            {"code": "npl", "name": "贷款不良率", "category": "performance", "source": "metric", "metric": "npl_ratio",
             "weight": "10", "method": "inverse", "target": "0.01", "ceiling": "0.05", "periods": ["quarter", "year"]},
            {"code": "fund", "name": "基金销售", "category": "performance", "source": "metric", "metric": "fund_sales",
             "weight": "5", "method": "bands", "bands": [["0", "0"], ["100000", "0.6"], ["300000", "1"]],
             "periods": ["quarter", "year"]},
            {"code": "sat", "name": "客户满意度", "category": "comprehensive", "source": "survey",
             "metric": "satisfaction", "weight": "10", "method": "ratio", "target": "0.9", "periods": ["year"]},
            {"code": "ability", "name": "工作能力", "category": "comprehensive", "source": "manual", "weight": "10",
             "method": "manual", "periods": ["year"]},
            {"code": "local", "name": local, "category": "adjustment",
             "source": "manual", "weight": "10", "method": "manual", "periods": ALL_PERIODS},
        ],
    }
    if branch is not None:
        definition["branch_code"] = branch.code
    return definition


# --------------------------------------------------------------------------------------------
# The timeline
# --------------------------------------------------------------------------------------------

@dataclass(order=True)
class Event:
    moment: dt.datetime
    order: int
    action: Callable[[], None] = field(compare=False)
    stamps: tuple = field(compare=False, default=())  # the (model, column) timestamps the step writes


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def _history(*models) -> tuple:
    return tuple((model.history.model, "history_date") for model in models)


# Timestamps the services write with the clock, which the timeline moves to the event's date.
APPRAISAL_STAMPS = _history(Appraisal, AppraisalLine)
RUN_STAMPS = APPRAISAL_STAMPS + ((Appraisal, "computed_at"),)
PUBLISH_STAMPS = APPRAISAL_STAMPS + ((Appraisal, "published_at"),)
POOL_STAMPS = ((PoolEntry, "created_at"),)
APPROVAL_STAMPS = APPRAISAL_STAMPS + POOL_STAMPS + ((BonusStatement, "computed_at"), (Signal, "created_at"))
PLAN_STAMPS = _history(Target, Budget, Scheme)
ALL_STAMPS = (RUN_STAMPS + PUBLISH_STAMPS[-1:] + APPROVAL_STAMPS[2:] + PLAN_STAMPS + _history(Exit, LevelChange)
              + ((Exit, "completed_at"), (Signal, "closed_at")))


class _Clock:
    """The dates of a step of the demo's history: what the services write from one ``at`` to the
    next is dated at that moment. The dates are applied when the whole step is done, so that a
    service checking the clock (the 7-day appeal window) sees the real time within the step."""

    def __init__(self):
        self.segments: list[tuple[dt.datetime, dt.datetime]] = []

    def at(self, moment: dt.datetime) -> None:
        self.segments.append((timezone.now(), moment))


@contextmanager
def _dated(moment: dt.datetime, stamps: tuple = ALL_STAMPS) -> Iterator[_Clock]:
    clock = _Clock()
    clock.at(moment)
    yield clock
    ends = [since for since, _moment in clock.segments[1:]] + [None]
    for (since, moment), until in zip(clock.segments, ends):
        for model, column in stamps:
            written = {f"{column}__gte": since} | ({f"{column}__lt": until} if until else {})
            model._default_manager.filter(**written).update(**{column: moment})


# --------------------------------------------------------------------------------------------
# The performance history
# --------------------------------------------------------------------------------------------

@dataclass
class Staff:
    """The employees acting in the workflow."""

    hr: User
    branch_managers: dict[int, User]  # branch pk → user
    department_heads: dict[int, User]
    reviewers: dict[int, User]  # region pk → user
    demo_rm: int  # pk of the fixed demo RM log-in


@dataclass
class _Period:
    period: Period
    closed: bool
    latest: bool  # the last closed period(s): published a day or two ago
    manual: dict[int, dict[str, Decimal]] = field(default_factory=dict)  # RM pk → indicator code → score


class PerformanceHistory:
    """Builds and replays the performance side of the demo bank (see the module docstring)."""

    def __init__(self, *, rng: random.Random, plan: StaffPlan, branches: list[Branch], branch_weights: list[float],
                 months: list[dt.date], staff: Staff, now: dt.datetime):
        self.rng, self.plan, self.branches, self.months, self.staff = rng, plan, branches, months, staff
        self.branch_weights = branch_weights
        self.now = now
        self.branch_index = {b.pk: i for i, b in enumerate(branches)}
        self.people = {p.pk: p for p in plan.people}
        self.hires = [p for p in plan.people if p.replaces is not None]
        self.periods = self._periods()
        self.years = sorted({p.period.year for p in self.periods}) or [months[-1].year]
        self.reversed = False
        self.clock = _Clock()
        self._defaults: dict[int, tuple[Decimal, Decimal, Decimal]] | None = None
        self.counts: Counter = Counter()

    # -- what is appraised ----------------------------------------------------------------

    def _periods(self) -> list[_Period]:
        """Quarters and years wholly inside the window, and its last month. Those ending with the
        window's last month stay open; the latest of the others were published just now."""
        first, last = self.months[0], self.months[-1]
        keys = []
        for month in self.months:
            if month.month % 3 == 0 and Period.parse(f"{month.year}-Q{month.month // 3}").start >= first:
                keys.append(Period.parse(f"{month.year}-Q{month.month // 3}"))
            if month.month == 12 and dt.date(month.year, 1, 1) >= first:
                keys.append(Period.parse(str(month.year)))
        keys.append(Period.for_month(last))
        closed_ends = [p.end for p in keys if p.last_month < last]
        latest_end = max(closed_ends) if closed_ends else None
        return [_Period(period=p, closed=p.last_month < last, latest=p.end == latest_end and p.last_month < last)
                for p in keys]

    def appraised(self, period: Period) -> list[Person]:
        """RMs in post when the period is run who joined before its last month."""
        run_day = period.end + dt.timedelta(days=5)
        return [p for p in self.plan.people if p.hired_on < period.last_month and p.in_post(run_day)]

    def replay(self, events: list[Event]) -> None:
        for event in sorted(events):
            with _dated(event.moment, event.stamps) as self.clock:
                event.action()

    # -- building the events ----------------------------------------------------------------

    def events(self, extra: list[tuple[dt.datetime, Callable[[], None]]]) -> list[Event]:
        events: list[Event] = []

        def add(moment: dt.datetime, action: Callable[[], None], stamps: tuple = APPRAISAL_STAMPS) -> None:
            # Nothing happens in the future: the last steps are squeezed into the last hours.
            events.append(Event(min(moment, self.now - dt.timedelta(hours=1)), len(events), action, stamps))

        for person in self.hires:
            add(_at(person.hired_on, 8), lambda person=person: _employ([person.pk]), ())
        for year in self.years:
            day = max(self.months[0], dt.date(year, 1, 8))
            add(_at(day, 9), lambda year=year: self.schemes_import(year), PLAN_STAMPS)
        for moment, action in extra:
            add(moment, action, ALL_STAMPS)
        for entry in self.periods:
            self._period_events(entry, add)
        return events

    def _period_events(self, entry: _Period, add) -> None:
        period = entry.period
        end = period.end
        slow = 5 if period.kind == YEAR else 0  # annual appraisals take longer
        add(_at(period.start + dt.timedelta(days=8), 9), lambda: self.targets_set(entry), PLAN_STAMPS)
        add(_at(end + dt.timedelta(days=5), 7), lambda: self.run(entry), RUN_STAMPS)
        if not entry.closed:
            add(_at(end + dt.timedelta(days=12), 17), lambda: self.open_steps(entry))
            return
        add(_at(end + dt.timedelta(days=10 + slow), 16), lambda: self.score_and_submit(entry))
        add(_at(end + dt.timedelta(days=15 + slow), 11), lambda: self.review(entry, send_back=True))
        add(_at(end + dt.timedelta(days=17 + slow), 15), lambda: self.score_and_submit(entry))
        add(_at(end + dt.timedelta(days=19 + slow), 11), lambda: self.review(entry, send_back=False))
        add(_at(end + dt.timedelta(days=22 + slow), 14), lambda: self.approve(entry), APPROVAL_STAMPS)
        add(_at(end + dt.timedelta(days=27 + slow), 10), lambda: self.allocate(entry), POOL_STAMPS)
        if entry.latest:
            answered = self.now - dt.timedelta(hours=20)
            add(self.now - dt.timedelta(days=2), lambda: self.publish(entry, answered_at=answered, last=True),
                PUBLISH_STAMPS)
            return
        answered = _at(end + dt.timedelta(days=29 + slow), 20)
        add(_at(end + dt.timedelta(days=25 + slow), 9), lambda: self.publish(entry, answered_at=answered),
            PUBLISH_STAMPS)
        add(_at(end + dt.timedelta(days=33 + slow), 11), lambda: self.review_appeals(entry))
        add(_at(end + dt.timedelta(days=34 + slow), 16), lambda: self.score_and_submit(entry))
        add(_at(end + dt.timedelta(days=35 + slow), 11), lambda: self.review(entry, send_back=False))
        add(_at(end + dt.timedelta(days=36 + slow), 14), lambda: self.approve_appeals(entry), APPROVAL_STAMPS)
        add(_at(end + dt.timedelta(days=37 + slow), 9), lambda: self.publish(entry), PUBLISH_STAMPS)
        add(_at(end + dt.timedelta(days=39 + slow), 20), lambda: self.respond(entry, again=True))

    # -- schemes, budgets, targets --------------------------------------------------------

    def legacy_seed(self) -> None:
        """Annual grades of the three years before the first scheme year, carried over from the
        previous system (totals and grades, no indicator lines), under a closed scheme per branch:
        promotion rules look back that far (DOMAIN 3.4, 4)."""
        first = self.years[0]
        appraisals = []
        for branch in self.branches:
            scheme = scheme_import(data=self._definition(branch, first - 1, legacy=True))
            for year in range(first - 3, first):
                year_end = dt.date(year, 12, 31)
                for person in self.plan.people:
                    if person.branch != self.branch_index[branch.pk] or person.hired_on > dt.date(year, 9, 30):
                        continue
                    state = person.initial
                    total = round_half_up(Decimal(str(max(35.0, min(99.0, self.rng.gauss(
                        80 - 18 * (state[FRICTION] - 0.35) - 6 * (state[RECOGNITION] - 0.35), 7.5))))), 2)
                    appraisals.append(Appraisal(
                        employee_id=person.pk, scheme=scheme, branch=branch, period=str(year), period_kind=YEAR,
                        state=S.ACKNOWLEDGED, total=total, grade=grade_for(total),
                        computed_at=_at(year_end + dt.timedelta(days=10)),
                        published_at=_at(year_end + dt.timedelta(days=35)),
                        comment=_("Carried over from the previous appraisal system.")))
        bulk_create_with_history(appraisals, Appraisal, default_change_reason=_("carried over"))
        # Each shows in the history as of its publication in the previous system.
        Appraisal.history.model.objects.filter(id__in=[a.pk for a in appraisals]).update(
            history_date=F("published_at"))
        self.counts["legacy_appraisals"] = len(appraisals)

    def _definition(self, branch: Branch, year: int, *, legacy: bool = False) -> dict:
        """The branch's scheme of ``year``, its default targets an average RM's quarter."""
        method = CONTRIBUTION_METHOD.get(branch.code, 2)
        if year > self.years[0]:
            method = METHOD_FROM_SECOND_YEAR.get(branch.code, method)
        revenue, profit, wm = self._default_targets()[branch.pk]
        return scheme_definition(branch=branch, year=year, method=method, legacy=legacy,
                                 contribution_target=profit if method == 3 else revenue, wm_target=wm)

    def _default_targets(self) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
        """Per branch, an average RM's quarterly revenue and profit contribution and WM income over
        the window (each month counting for its book owner). Computed once."""
        if self._defaults is not None:
            return self._defaults
        rows: dict[int, list] = {}
        for rm, branch_id, _kind, _segment, _count, revenue, profit, wm in _book_rows(self.months):
            row = rows.setdefault(branch_id, [set(), Decimal(0), Decimal(0), Decimal(0)])
            row[0].add(rm)
            row[1] += revenue
            row[2] += profit
            row[3] += wm
        quarters = Decimal(len(self.months)) / 3
        result = {}
        for branch in self.branches:
            rms, revenue, profit, wm = rows.get(branch.pk, (set(), Decimal(0), Decimal(0), Decimal(0)))
            per_rm = Decimal(max(1, len(rms))) * quarters
            result[branch.pk] = (_round_target(revenue / per_rm, Decimal(3000)),
                                 _round_target(profit / per_rm, Decimal(3000)),
                                 _round_target(wm / per_rm, Decimal(300)))
        self._defaults = result
        return result

    def schemes_import(self, year: int) -> None:
        """Head office's template of the year (contribution by revenue, as the seed recommends to
        start with) and each branch's adapted scheme, loaded like scheme files (DOMAIN 3.1.1)."""
        defaults = self._default_targets().values()
        revenue, wm = (_round_target(sum(d[i] for d in defaults) / len(defaults), Decimal(100)) for i in (0, 2))
        scheme_import(data=scheme_definition(branch=None, year=year, method=2, contribution_target=revenue,
                                             wm_target=wm))
        for branch in self.branches:
            scheme_import(data=self._definition(branch, year))
        self.counts["schemes"] += len(self.branches) + 1

    def targets_set(self, entry: _Period) -> None:
        """HR's budgets and targets for the period, and (drawn now, entered later) the branch
        managers' manual scores. The bank's plan factor is the one that puts the median total
        between pass and good."""
        period = entry.period
        people = self.appraised(period)
        if not people:
            return
        schemes = {s.branch_id: s for s in Scheme.objects.filter(is_active=True, branch__isnull=False)
                   .prefetch_related("indicators")}
        pks = [p.pk for p in people]
        # One pass for the metrics that do not depend on the contribution method; contribution and
        # WM income come with the expected figures.
        metrics = rm_metrics(pks, period, contribution_method=2)
        figures = _book_figures(period, pks)

        lines = {}
        for person in people:
            scheme = schemes[self.branches[person.branch].pk]
            indicators = [i for i in scheme.indicators.all() if i.applies_to(period.kind)]
            state = self.plan.state_on(person, period.start)
            entry.manual[person.pk] = self._manual_scores(state, indicators)
            lean = (1 + 1.2 * state[FRICTION] + 0.4 * state[PRESSURE]) * math.exp(self.rng.gauss(0, 0.08))
            expected, actual = figures.get(person.pk, {}).get(scheme.contribution_method, (ZEROS, ZEROS))
            mine = metrics.setdefault(person.pk, {})
            mine["client_contribution"], mine["wm_income"] = actual
            lines[person.pk] = (scheme, indicators, Decimal(str(lean)), *expected)
        factor = self._plan_factor(period, lines, metrics, entry.manual)

        months = Decimal(period.month_count)
        targets = []
        for person in people:
            scheme, indicators, lean, contribution, wm = lines[person.pk]
            by_code = {i.code: i for i in indicators}
            for code, base, floor in (("contrib", contribution, 1000 * months), ("wm", wm, 100 * months)):
                if code in by_code:
                    targets.append(Target(employee_id=person.pk, indicator=by_code[code], period=period.key,
                                          value=_round_target(base * factor * lean, floor)))
        bulk_create_with_history(targets, Target, default_user=self.staff.hr,
                                 default_change_reason=_("targets for %(period)s") % {"period": period.key})
        self.counts["targets"] += len(targets)
        if entry.closed:
            self._budgets(period, people)

    def _manual_scores(self, state: tuple[float, ...], indicators: list[Indicator]) -> dict[str, Decimal]:
        """The branch manager's scores: lower for RMs the appraisal grinds on (friction), and for
        the disengaged (stagnating, overlooked, overloaded); work ability also for the overlooked."""
        scores = {}
        disengaged = (state[STAGNATION] + state[RECOGNITION] + state[PRESSURE]) / 3
        for indicator in indicators:
            if indicator.method != "manual":
                continue
            if indicator.code == "ability":
                share = (0.97 - 0.35 * state[FRICTION] - 0.35 * state[RECOGNITION] - 0.2 * state[STAGNATION]
                         + self.rng.gauss(0, 0.06))
            else:
                share = 1.0 - 0.7 * state[FRICTION] - 0.5 * disengaged + self.rng.gauss(0, 0.07)
            share = min(1.0, max(0.2, share))
            scores[indicator.code] = round_half_up(indicator.weight * Decimal(str(share)) * 2, 0) / 2
        return scores

    def _plan_factor(self, period: Period, lines: dict, metrics: dict, manual: dict) -> Decimal:
        """The bank-wide factor on the expected figures that puts the median total at MEDIAN_TOTAL."""
        def median_total(factor: Decimal) -> Decimal:
            totals = sorted(_simulated_total(lines[pk], metrics[pk], manual[pk], factor) for pk in lines)
            return totals[len(totals) // 2]

        low, high = Decimal("0.2"), Decimal("5")
        for _step in range(30):
            middle = (low + high) / 2
            if median_total(middle) > MEDIAN_TOTAL:
                low = middle
            else:
                high = middle
        return ((low + high) / 2).quantize(Decimal("0.0001"))

    def _budgets(self, period: Period, people: list[Person]) -> None:
        per_rm = Decimal(48000 if period.kind == YEAR else 22000)
        counts = Counter(p.branch for p in people)
        budgets = []
        for index, branch in enumerate(self.branches):
            if counts[index]:
                amount = per_rm * counts[index] * Decimal(str(0.85 + 0.15 * self.branch_weights[index]))
                budgets.append(Budget(branch=branch, period=period.key,
                                      amount=round_half_up(amount / 1000, 0) * 1000))
        bulk_create_with_history(budgets, Budget, default_user=self.staff.hr)
        self.counts["budgets"] += len(budgets)

    # -- the workflow ---------------------------------------------------------------------

    def run(self, entry: _Period) -> None:
        """``appraisal_run`` with the RMs who joined in the period's last month kept out."""
        period = entry.period
        late = [p.pk for p in self.hires if period.last_month <= p.hired_on <= period.end + dt.timedelta(days=5)]
        with _kept_out(late):
            appraisal_run(period=period)

    def _state(self, pk: int, day: dt.date) -> tuple[float, ...]:
        person = self.people.get(pk)
        return self.plan.state_on(person, day) if person else (0.3,) * 5

    def _appraisals(self, entry: _Period, **filters):
        return list(Appraisal.objects.filter(period=entry.period.key, **filters)
                    .select_related("employee__user", "branch", "scheme").order_by("branch__code", "employee_id"))

    def score_and_submit(self, entry: _Period, *, branches: set[int] | None = None, share: float = 1.0) -> None:
        """Branch managers enter the manual scores still missing and submit what is complete."""
        for appraisal in self._appraisals(entry, state=S.COMPUTED):
            if branches is not None and appraisal.branch_id not in branches:
                continue
            if share < 1 and self.rng.random() >= share:
                continue
            manager = self.staff.branch_managers[appraisal.branch_id]
            scores = entry.manual.get(appraisal.employee_id) or self._manual_scores(
                self._state(appraisal.employee_id, entry.period.start),
                [line.indicator for line in appraisal.lines.select_related("indicator")])
            for missing in appraisal.missing:
                if missing["missing"] == "manual" and missing["indicator"] in scores:
                    appraisal_score_manual(appraisal=appraisal, indicator_code=missing["indicator"],
                                           score=scores[missing["indicator"]], by=manager,
                                           reason=_("branch evaluation"))
            # Complete once every manual score is in (a missing target would keep it back).
            if all(m["missing"] == "manual" and m["indicator"] in scores for m in appraisal.missing):
                appraisal_submit(appraisal=appraisal, by=manager)

    def review(self, entry: _Period, *, send_back: bool, branches: set[int] | None = None) -> None:
        """The region's reviewer passes the submitted appraisals on; at the first review one per
        region goes back to the branch, whose manager corrects the local-business score."""
        sent_back = set()
        for appraisal in self._appraisals(entry, state=S.SUBMITTED):
            if branches is not None and appraisal.branch_id not in branches:
                continue
            region = appraisal.branch.region_id
            reviewer = self.staff.reviewers[region]
            if send_back and region not in sent_back and self.rng.random() < 0.3:
                sent_back.add(region)
                appraisal_review(appraisal=appraisal, by=reviewer, approve=False,
                                 comment=_("Please give the grounds for the local-business score and resubmit."))
                self._rescore(entry, appraisal, Decimal("0.5") * self.rng.choice((-1, 1)))
                continue
            appraisal_review(appraisal=appraisal, by=reviewer, approve=True)

    def _rescore(self, entry: _Period, appraisal: Appraisal, change: Decimal) -> None:
        """The branch manager's corrected local-business score, entered at the next scoring step."""
        scores = entry.manual.setdefault(appraisal.employee_id, {})
        line = appraisal.lines.select_related("indicator").filter(indicator__code="local").first()
        if line is None:
            return
        current = line.manual_score if line.manual_score is not None else scores.get("local", Decimal(5))
        corrected = min(line.indicator.weight, max(Decimal(0), current + change))
        manager = self.staff.branch_managers[appraisal.branch_id]
        appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=corrected, by=manager,
                               reason=_("corrected after review"))

    def approve(self, entry: _Period) -> None:
        """HR approves each branch's period at once; the bonus and pool contributions follow."""
        for branch in self.branches:
            if Appraisal.objects.filter(branch=branch, period=entry.period.key).exists():
                period_approve(branch=branch, period=entry.period.key, by=self.staff.hr)

    def publish(self, entry: _Period, *, answered_at: dt.datetime | None = None, last: bool = False) -> None:
        """HR publishes the approved appraisals; the RMs' answers (``answered_at``) belong to the
        same step, because an appeal is only possible within 7 days of publication."""
        for appraisal in self._appraisals(entry, state=S.APPROVED):
            appraisal_publish(appraisal=appraisal, by=self.staff.hr)
        if answered_at is not None:
            self.clock.at(min(answered_at, self.now - dt.timedelta(hours=1)))
            self.respond(entry, last=last)

    def respond(self, entry: _Period, *, last: bool = False, again: bool = False) -> None:
        """RMs still in post acknowledge their published appraisals or appeal — more often after a
        poor grade and the more the appraisal grinds on them. In the last period the fixed demo RM
        and some others have not answered yet."""
        for appraisal in self._appraisals(entry, state=S.PUBLISHED):
            employee = appraisal.employee
            if employee.status != Employee.Status.ACTIVE or employee.user is None:
                continue
            if last and (employee.pk == self.staff.demo_rm or self.rng.random() < 0.35):
                continue
            friction = self._state(employee.pk, entry.period.end)[FRICTION]
            poor = appraisal.grade in (Grade.FAIL, Grade.BASIC)
            odds = 0 if again else (0.02 + 0.2 * friction) * (1.5 if poor else 0.25)
            if self.rng.random() < odds:
                appraisal_appeal(appraisal=appraisal, by=employee.user, comment=self.rng.choice(APPEALS))
                self.counts["appeals"] += 1
            else:
                appraisal_acknowledge(appraisal=appraisal, by=employee.user)

    def review_appeals(self, entry: _Period) -> None:
        """The reviewer looks at each appeal: upheld in part (back to the branch, which corrects the
        local-business score) or not (passed on to HR as it is)."""
        for appraisal in self._appraisals(entry, state=S.SUBMITTED, appealed=True):
            reviewer = self.staff.reviewers[appraisal.branch.region_id]
            if self.rng.random() < 0.5:
                appraisal_review(appraisal=appraisal, by=reviewer, approve=False,
                                 comment=_("Appeal partly upheld: the branch reviews the local-business score."))
                self._rescore(entry, appraisal, Decimal(2))
            else:
                appraisal_review(appraisal=appraisal, by=reviewer, approve=True,
                                 comment=_("Appeal not upheld: the scores follow the data."))

    def approve_appeals(self, entry: _Period) -> None:
        for appraisal in self._appraisals(entry, state=S.REVIEWED):
            appraisal_approve(appraisal=appraisal, by=self.staff.hr)

    def open_steps(self, entry: _Period) -> None:
        """The open period at different steps per branch: the first of every three still waits for
        manual scores (the fixed demo branch almost wholly), the second is submitted, the third
        reviewed and waits for HR."""
        waiting, submitted, reviewed = set(), set(), set()
        for index, branch in enumerate(self.branches):
            (waiting, submitted, reviewed)[index % 3].add(branch.pk)
        first = self.branches[0].pk
        self.score_and_submit(entry, branches=waiting - {first}, share=0.5)
        self.score_and_submit(entry, branches={first}, share=0.15)
        self.score_and_submit(entry, branches=submitted | reviewed)
        self.review(entry, send_back=False, branches=reviewed)

    def allocate(self, entry: _Period) -> None:
        """Department heads give part of the pool to RMs whose results dipped for reasons beyond
        them or who worked hard without results — RMs they notice (not the overlooked, not those
        the appraisal grinds on). Once, an allocation made in error is reversed."""
        period = entry.period
        for branch in self.branches:
            if self.rng.random() > 0.5:
                continue
            head = self.staff.department_heads[branch.pk]
            pool = PerformancePool.objects.filter(branch=branch).first()
            if pool is None:
                continue
            candidates, weights = [], []
            for appraisal in self._appraisals(entry, branch=branch):
                if (appraisal.grade not in (Grade.PASS, Grade.BASIC, Grade.FAIL)
                        or appraisal.employee.status != Employee.Status.ACTIVE):
                    continue
                state = self._state(appraisal.employee.pk, period.end)
                if state[RECOGNITION] < 0.45 and state[FRICTION] < 0.5:
                    candidates.append(appraisal)
                    weights.append(((1 - state[RECOGNITION]) * (1 - state[FRICTION])) ** 2 * (1 - state[PAY]))
            for appraisal in weighted_sample(self.rng, candidates, weights, self.rng.choice((1, 1, 2))):
                available = pool.balance * Decimal("0.25")
                amount = min(available, Decimal(self.rng.randrange(20, 121) * 100)).quantize(Decimal(100))
                if amount <= 0:
                    continue
                reason = (PoolEntry.Reason.SPECIAL_CIRCUMSTANCE if appraisal.grade != Grade.PASS and self.rng.random() < 0.6
                          else PoolEntry.Reason.DILIGENCE)
                entry_row = pool_allocate(branch=branch, employee=appraisal.employee, amount=amount, reason=reason,
                                          justification=self.rng.choice(JUSTIFICATIONS[reason]), period=period.key,
                                          by=head)
                pool.refresh_from_db()
                self.counts["allocations"] += 1
                if not self.reversed and branch != self.branches[0]:
                    self.reversed = True
                    pool_reverse(entry=entry_row, by=head,
                                 justification="分配金额录入有误（多录一位），冲回后按审定金额重新分配。")
                    pool_allocate(branch=branch, employee=appraisal.employee, amount=money_round(amount / 10),
                                  reason=reason, justification=entry_row.justification, period=period.key, by=head)
                    pool.refresh_from_db()


APPEALS = ("本季度新接手离职同事的客户，交接期业绩下滑，希望考核时予以考虑。",
           "特色业务得分偏低，本季度办理的相关业务未完整计入。",
           "存款增长率受大额客户资金临时调出影响，申请复核。",
           "对工作能力评分有异议，请说明评分依据。")
JUSTIFICATIONS = {
    PoolEntry.Reason.SPECIAL_CIRCUMSTANCE: (
        "辖内重点企业客户经营困难，存款集中流出，属客观因素。",
        "所在片区拆迁改造，客户大量迁出，业绩下滑非主观原因。",
        "市场波动导致理财产品净值回撤，客户集中赎回。",
        "新接手离职同事的客户，交接期业绩受到影响。"),
    PoolEntry.Reason.DILIGENCE: (
        "走访客户数量和频次全行领先，新开户数多，但大额客户尚未落地。",
        "积极参与厅堂营销和社区金融活动，工作态度认真，业绩暂未体现。",
        "承担带教新员工和网点事务性工作较多，工作量饱满。",
        "主动跟进存量客户回访，客户满意度高，但本期新增业务较少。"),
}


@contextmanager
def _kept_out(pks: list[int]) -> Iterator[None]:
    """RMs who joined in a period's last month are not appraised for it: a run takes the active RMs,
    so they sit the run out as not yet in post."""
    employed = list(Employee.objects.filter(pk__in=pks, status=Employee.Status.ACTIVE).values_list("pk", flat=True))
    _not_yet_employed(employed)
    yield
    _employ(employed)


def _employ(pks: list[int]) -> None:
    Employee.objects.filter(pk__in=pks).update(status=Employee.Status.ACTIVE, left_on=None)


def _not_yet_employed(pks: list[int]) -> None:
    """Hires are stored with the rest of the staff; until their hiring date they are not in post."""
    Employee.objects.filter(pk__in=pks).update(status=Employee.Status.LEFT, left_on=F("hired_on"))


def _round_target(value: Decimal, floor: Decimal) -> Decimal:
    """A target in whole hundreds of CNY, at least ``floor`` (a zero target would block submission)."""
    return max(Decimal(floor), round_half_up(Decimal(value) / 100, 0) * 100)


ZEROS = (Decimal(0), Decimal(0))


def _book_rows(months: list[dt.date]) -> list[tuple]:
    """(RM, client's branch, client type, segment, client-months, revenue contribution, profit
    contribution, WM income) over ``months``, each month counting for the RM whose assignment
    covers its last day (DOMAIN 2). One aggregate query."""
    selects = " UNION ALL ".join(["SELECT %s AS month, %s AS last_day"] * len(months))
    params: list = []
    for month in months:
        params += [month, month_end(month)]
    sql = f"""WITH p(month, last_day) AS ({selects})
        SELECT a.rm_id, c.branch_id, c.client_type, c.segment, COUNT(*),
               SUM(cc.loan_revenue + cc.deposit_revenue + cc.wm_revenue + cc.card_revenue),
               SUM(cc.loan_profit + cc.deposit_profit + cc.wm_profit + cc.card_profit), SUM(mb.wm_income)
        FROM p JOIN clients_monthlybusiness mb ON mb.month = p.month
        JOIN clients_assignment a ON a.client_id = mb.client_id
         AND a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
        JOIN clients_client c ON c.id = mb.client_id
        LEFT JOIN clients_clientcontribution cc ON cc.client_id = mb.client_id AND cc.month = mb.month
        GROUP BY a.rm_id, c.branch_id, c.client_type, c.segment"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(rm, branch, kind, segment, count, Decimal(revenue or 0), Decimal(profit or 0), Decimal(wm or 0))
                for rm, branch, kind, segment, count, revenue, profit, wm in cursor.fetchall()]


def _book_figures(period: Period, rm_ids: list[int]) -> dict[int, dict[int, tuple[tuple, tuple]]]:
    """Per RM and contribution method (2, 3): the (contribution, WM income) the RM's book would
    yield at the bank's average per client-month of each client type and segment in ``period``,
    and what it did yield (as the metrics count it)."""
    rows = _book_rows(period.months)
    totals: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    for _rm, _branch, kind, segment, count, revenue, profit, wm in rows:
        total = totals[(kind, segment)]
        total[0] += count
        total[1] += revenue
        total[2] += profit
        total[3] += wm
    wanted = set(rm_ids)
    result: dict[int, list[Decimal]] = {}
    for rm, _branch, kind, segment, count, revenue, profit, wm in rows:
        if rm not in wanted:
            continue
        n, all_revenue, all_profit, all_wm = totals[(kind, segment)]
        # expected revenue, profit, WM income; actual revenue, profit, WM income
        mine = result.setdefault(rm, [Decimal(0)] * 6)
        for i, value in enumerate((all_revenue * count / n, all_profit * count / n, all_wm * count / n,
                                   revenue, profit, wm)):
            mine[i] += value
    return {rm: {2: ((v[0], v[2]), (v[3], v[5])), 3: ((v[1], v[2]), (v[4], v[5]))} for rm, v in result.items()}


def _simulated_total(line: tuple, metrics: dict, manual: dict[str, Decimal], factor: Decimal) -> Decimal:
    """The total the appraisal would get with targets at ``factor`` (the scoring rules of DOMAIN 3.1)."""
    scheme, indicators, lean, contribution, wm = line
    scale = rescale(i.weight for i in indicators)
    points = []
    for indicator in indicators:
        weight = indicator.weight * scale
        actual = metrics.get(indicator.metric, Decimal(0)) if indicator.metric else None
        if indicator.method == "manual":
            points.append(score_manual(indicator.weight, manual.get(indicator.code, Decimal(0))) * scale)
        elif indicator.code in ("contrib", "wm"):
            base = contribution if indicator.code == "contrib" else wm
            target = max(Decimal(1), base * factor * lean)
            points.append(score_ratio(weight, actual, target, indicator.cap))
        elif indicator.method == "ratio":
            points.append(score_ratio(weight, actual, indicator.target, indicator.cap))
        elif indicator.method == "inverse":
            points.append(score_inverse(weight, actual, indicator.target, indicator.ceiling))
        else:
            points.append(score_bands(weight, actual, indicator.band_table))
    return total_score(points)


def performance_seed(*, rng: random.Random, plan: StaffPlan, branches: list[Branch], branch_weights: list[float],
                     months: list[dt.date], staff: Staff,
                     extra_events: list[tuple[dt.datetime, Callable[[], None]]]) -> Counter:
    """Schemes, the previous system's annual grades, then the timeline (see the module docstring).
    ``extra_events``: (moment, action) pairs of other apps (exits) that happen in between."""
    history = PerformanceHistory(rng=rng, plan=plan, branches=branches, branch_weights=branch_weights,
                                 months=months, staff=staff, now=timezone.now())
    _not_yet_employed([p.pk for p in history.hires])
    with _dated(_at(months[0] - dt.timedelta(days=1), 9), PLAN_STAMPS + APPRAISAL_STAMPS):
        history.legacy_seed()
    history.replay(history.events(extra_events))
    _employ([p.pk for p in history.hires if p.exit is None])
    counts = history.counts
    counts["appraisals"] = Appraisal.objects.count()
    counts["bonus_statements"] = BonusStatement.objects.count()
    counts["pool_entries"] = PoolEntry.objects.count()
    return counts
