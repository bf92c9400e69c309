"""Career pages (DOMAIN 4): job sequences and levels, career records, promotion eligibility,
career interviews and exits. Reads go through careers.selectors, writes through careers.services;
who sees what is decided by ``restrict`` alone (an RM sees only their own record, never exits)."""
from __future__ import annotations

import datetime as dt
from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from careers import selectors, services
from careers.filtersets import CareerFilterSet, ExitFilterSet
from careers.forms import (CareerGoalForm, CertificateForm, CertificateTypeForm, CommendationForm, ExitDetailsForm,
                           ExitOpenForm, GoalStatusForm, InterviewRecordForm, InterviewScheduleForm, JobSequenceForm,
                           LevelChangeForm, LevelForm, TrainingForm)
from careers.models import (CareerGoal, CareerInterview, CertificateType, Commendation, Exit, JobSequence, Level,
                            LevelChange)
from clients.models import Branch, Employee
from rmportal import scoping
from rmportal.dashboard_cache import dashboard_cached
from rmportal.errors import ApplicationError
from rmportal.views import ActionRequiredMixin, ApplicationErrorFormMixin, RestrictedMixin

CHANGE, REASSIGN = "change", "reassign"
PAGE_SIZE = 50


def _page(request, rows, size=PAGE_SIZE):
    return Paginator(rows, size).get_page(request.GET.get("page"))


def _page_query(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _filtered(filterset, base):
    """What the filters select; nothing when a filter value is refused (e.g. a branch out of scope)."""
    if not filterset.is_bound:
        return base
    return filterset.qs if filterset.is_valid() else base.none()


def record_url(employee: Employee) -> str:
    return reverse("careers:record", kwargs={"employee_no": employee.employee_no})


class CareersHomeView(LoginRequiredMixin, View):
    """An RM lands on their own record, everyone else on the records of their scope."""

    def get(self, request):
        if scoping.role_of(request.user) is None:
            raise PermissionDenied
        mine = scoping.own_employee(request.user)
        if mine is not None:
            return redirect(record_url(mine))
        return redirect("careers:record-list")


# --- job sequences and levels ---------------------------------------------------------------

class SequenceListView(ActionRequiredMixin, ListView):
    """Every role may read the career paths; HR changes them."""

    template_name = "careers/sequence_list.html"
    context_object_name = "sequences"

    def get_queryset(self):
        return selectors.job_sequences()

    def get_context_data(self, **kwargs):
        return super().get_context_data(may_change=scoping.role_may(self.request.user, CHANGE, LevelChange), **kwargs)


class SequenceDetailView(ActionRequiredMixin, DetailView):
    template_name = "careers/sequence_detail.html"
    context_object_name = "sequence"
    slug_field = slug_url_kwarg = "code"

    def get_queryset(self):
        return JobSequence.objects.all()

    def get_context_data(self, **kwargs):
        return super().get_context_data(levels=selectors.sequence_levels(self.object),
                                        may_change=scoping.role_may(self.request.user, CHANGE, LevelChange), **kwargs)


class CareersFormView(ActionRequiredMixin, ApplicationErrorFormMixin, FormView):
    """A form on a page of its own; ``save`` calls the service and returns where to go next."""

    template_name = "careers/form.html"
    required_action = (CHANGE, LevelChange)
    heading = ""
    success_message = ""

    def get_heading(self):
        return self.heading

    def back_url(self) -> str:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        return super().get_context_data(heading=self.get_heading(), back_url=self.back_url(), **kwargs)

    def perform(self, form):
        url = self.save(form)
        messages.success(self.request, self.success_message)
        return redirect(url)


class SequenceFormView(CareersFormView):
    form_class = JobSequenceForm

    @cached_property
    def sequence(self):
        if "code" not in self.kwargs:
            return None
        return get_object_or_404(JobSequence, code=self.kwargs["code"])

    def get_heading(self):
        if self.sequence is None:
            return _("New job sequence")
        return _("Change %(sequence)s") % {"sequence": self.sequence.name}

    @property
    def success_message(self):
        return _("The job sequence was saved.")

    def back_url(self):
        if self.sequence is None:
            return reverse("careers:sequence-list")
        return reverse("careers:sequence-detail", kwargs={"code": self.sequence.code})

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "editing": self.sequence is not None}

    def get_initial(self):
        if self.sequence is None:
            return {}
        return {name: getattr(self.sequence, name) for name in (
            "code", "name", "interview_interval_months", "norm_months_at_level", "norm_book_size")}

    def save(self, form):
        data = form.cleaned_data
        sequence = services.job_sequence_save(
            sequence=self.sequence, code=data["code"], name=data["name"],
            interview_interval_months=data["interview_interval_months"],
            norm_months_at_level=data["norm_months_at_level"], norm_book_size=data["norm_book_size"],
            by=self.request.user)
        return reverse("careers:sequence-detail", kwargs={"code": sequence.code})


class LevelFormView(CareersFormView):
    form_class = LevelForm

    @cached_property
    def sequence(self):
        return get_object_or_404(JobSequence, code=self.kwargs["code"])

    @cached_property
    def level(self):
        if "level" not in self.kwargs:
            return None
        return get_object_or_404(Level, sequence=self.sequence, code=self.kwargs["level"])

    def get_heading(self):
        if self.level is None:
            return _("New level of %(sequence)s") % {"sequence": self.sequence.name}
        return _("Change %(level)s") % {"level": self.level}

    @property
    def success_message(self):
        return _("The level was saved.")

    def back_url(self):
        return reverse("careers:sequence-detail", kwargs={"code": self.sequence.code})

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "editing": self.level is not None}

    def get_initial(self):
        if self.level is None:
            top = self.sequence.levels.order_by("-rank").values_list("rank", flat=True).first()
            return {"rank": (top or 0) + 1}
        return LevelForm.initial_for(self.level)

    def save(self, form):
        data = form.cleaned_data
        services.level_save(
            sequence=self.sequence, level=self.level, code=data["code"], name=data["name"], rank=data["rank"],
            bonus_coefficient=data["bonus_coefficient"], min_months_at_level=data["min_months_at_level"],
            good_grades_required=data["good_grades_required"], good_grades_window=data["good_grades_window"],
            required_certificates=data["required_certificates"],
            training_hours_per_year=data["training_hours_per_year"], min_book_size=data["min_book_size"],
            by=self.request.user)
        return self.back_url()


class CertificateTypeView(CareersFormView):
    """The certificates levels may require; HR adds them here."""

    template_name = "careers/certificate_types.html"
    form_class = CertificateTypeForm
    heading = gettext_lazy("Certificates")
    success_message = gettext_lazy("The certificate was added.")

    def back_url(self):
        return reverse("careers:certificate-types")

    def get_context_data(self, **kwargs):
        return super().get_context_data(certificate_types=CertificateType.objects.all(), **kwargs)

    def save(self, form):
        services.certificate_type_create(code=form.cleaned_data["code"], name=form.cleaned_data["name"],
                                         by=self.request.user)
        return self.back_url()


# --- career records ---------------------------------------------------------------------------

class RecordListView(ActionRequiredMixin, ListView):
    """The RMs of the user's scope with level, next interview, expiring certificates and open goals."""

    required_action = ("browse", LevelChange)
    template_name = "careers/record_list.html"
    context_object_name = "employees"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.as_of = timezone.localdate()
        base = selectors.career_employees(self.request.user)
        data = self.request.GET.copy()
        if "status" not in data:
            data["status"] = Employee.Status.ACTIVE
        self.filterset = CareerFilterSet(data, queryset=base, request=self.request)
        employees = self.filterset.qs if self.filterset.is_valid() else base.none()
        return selectors.with_career_figures(employees, as_of=self.as_of).order_by("branch__code", "employee_no")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(filterset=self.filterset, as_of=self.as_of,
                                           page_query=_page_query(self.request), **kwargs)
        context["rows"] = [(e, selectors.interview_due(e, as_of=self.as_of) if e.is_active else None)
                           for e in context["employees"]]
        return context


class RecordDetailView(RestrictedMixin, DetailView):
    """One RM's career record: level history, certificates, training, commendations, goals,
    interviews, promotion eligibility and (for managers) the exit."""

    model = Employee
    template_name = "careers/record_detail.html"
    context_object_name = "employee"
    slug_field = slug_url_kwarg = "employee_no"

    def get_queryset(self):
        return selectors.career_employees(self.request.user)

    def get_context_data(self, **kwargs):
        user, employee, as_of = self.request.user, self.object, timezone.localdate()
        trainings = list(selectors.employee_trainings(user, employee))
        may_change = scoping.may(user, CHANGE, LevelChange)
        goals = list(selectors.employee_goals(user, employee))
        if may_change:
            for goal in goals:
                goal.status_form = GoalStatusForm(initial={"status": goal.status}, prefix=f"goal-{goal.pk}")
        due = None
        if employee.is_active:
            annotated = selectors.with_career_figures(
                Employee.objects.filter(pk=employee.pk).select_related("level__sequence"), as_of=as_of).get()
            due = selectors.interview_due(annotated, as_of=as_of)
        eligibility = selectors.promotion_eligibility(user, as_of=as_of,
                                                      employees=Employee.objects.filter(pk=employee.pk))
        exit = selectors.exits_for(user).filter(employee=employee).first()
        interviews = list(selectors.employee_interviews(user, employee))
        return super().get_context_data(
            as_of=as_of,
            history=selectors.level_history(user, employee),
            certificates=selectors.employee_certificates(user, employee, as_of=as_of),
            trainings=trainings,
            training_hours=selectors.training_hours(trainings, as_of=as_of),
            commendations=selectors.employee_commendations(user, employee),
            goals=goals,
            interviews=interviews,
            pending_interview=next((i for i in interviews if i.held_on is None), None),
            due=due,
            eligibility=eligibility[0] if eligibility else None,
            exit=exit,
            may_change=may_change and employee.is_active,
            may_commend=scoping.may(user, CHANGE, Commendation) and employee.is_active,
            may_open_exit=scoping.may(user, CHANGE, Exit) and employee.is_active and exit is None,
            **kwargs)


class EmployeeFormView(CareersFormView):
    """A form about one RM's career record."""

    @cached_property
    def employee(self):
        return get_object_or_404(selectors.career_employees(self.request.user),
                                 employee_no=self.kwargs["employee_no"])

    def get_heading(self):
        return f"{self.heading} · {self.employee.name}"

    def back_url(self):
        return record_url(self.employee)

    def get_context_data(self, **kwargs):
        return super().get_context_data(employee=self.employee, **kwargs)


class CertificateAddView(EmployeeFormView):
    form_class = CertificateForm
    heading = gettext_lazy("Add a certificate")
    success_message = gettext_lazy("The certificate was recorded.")

    def save(self, form):
        data = form.cleaned_data
        services.certificate_add(employee=self.employee, certificate_type=data["certificate_type"],
                                 obtained_on=data["obtained_on"], expires_on=data["expires_on"],
                                 number=data["number"], by=self.request.user)
        return self.back_url()


class TrainingAddView(EmployeeFormView):
    form_class = TrainingForm
    heading = gettext_lazy("Record a training")
    success_message = gettext_lazy("The training was recorded.")

    def save(self, form):
        data = form.cleaned_data
        services.training_record(employee=self.employee, title=data["title"], completed_on=data["completed_on"],
                                 hours=data["hours"], by=self.request.user)
        return self.back_url()


class CommendationAddView(EmployeeFormView):
    required_action = (CHANGE, Commendation)
    form_class = CommendationForm
    heading = gettext_lazy("Record a commendation")
    success_message = gettext_lazy("The commendation was recorded.")

    def save(self, form):
        data = form.cleaned_data
        services.commendation_record(employee=self.employee, title=data["title"], awarded_on=data["awarded_on"],
                                     awarded_by=data["awarded_by"], by=self.request.user)
        return self.back_url()


def _levels_for(employee: Employee):
    levels = Level.objects.select_related("sequence").order_by("sequence__code", "rank")
    if employee.level_id is not None:
        return levels.filter(sequence_id=employee.level.sequence_id)
    return levels


class GoalAddView(EmployeeFormView):
    form_class = CareerGoalForm
    heading = gettext_lazy("Set a career goal")
    success_message = gettext_lazy("The career goal was set.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "levels": _levels_for(self.employee)}

    def save(self, form):
        data = form.cleaned_data
        services.career_goal_set(employee=self.employee, target_level=data["target_level"],
                                 target_date=data["target_date"], actions=data["actions"], by=self.request.user)
        return self.back_url()


class GoalStatusView(EmployeeFormView):
    form_class = GoalStatusForm
    heading = gettext_lazy("Goal status")
    success_message = gettext_lazy("The goal status was changed.")

    @cached_property
    def goal(self) -> CareerGoal:
        return get_object_or_404(selectors.employee_goals(self.request.user, self.employee), pk=self.kwargs["pk"])

    def get_prefix(self):
        return f"goal-{self.goal.pk}"

    def get_initial(self):
        return {"status": self.goal.status}

    def save(self, form):
        services.career_goal_update(goal=self.goal, status=form.cleaned_data["status"], by=self.request.user)
        return self.back_url()


class LevelChangeView(EmployeeFormView):
    """Promotion, demotion, transfer, or the level at hiring."""

    form_class = LevelChangeForm
    heading = gettext_lazy("Change of level")
    success_message = gettext_lazy("The level change was recorded.")

    def get_form_kwargs(self):
        levels = Level.objects.select_related("sequence").order_by("sequence__code", "rank")
        return {**super().get_form_kwargs(), "levels": levels,
                "branches": Branch.objects.restrict(self.request.user)}

    def get_initial(self):
        initial = {}
        if self.request.GET.get("kind") in LevelChange.Kind.values:
            initial["kind"] = self.request.GET["kind"]
        if self.request.GET.get("to_level", "").isdigit():
            initial["to_level"] = int(self.request.GET["to_level"])
        return initial

    def get_context_data(self, **kwargs):
        eligibility = selectors.promotion_eligibility(self.request.user,
                                                      employees=Employee.objects.filter(pk=self.employee.pk))
        return super().get_context_data(eligibility=eligibility[0] if eligibility else None, **kwargs)

    def save(self, form):
        data = form.cleaned_data
        services.level_change_record(employee=self.employee, kind=data["kind"], effective_on=data["effective_on"],
                                     to_level=data["to_level"], to_branch=data["to_branch"], note=data["note"],
                                     by=self.request.user)
        return self.back_url()


class InterviewScheduleView(EmployeeFormView):
    form_class = InterviewScheduleForm
    heading = gettext_lazy("Schedule a career interview")
    success_message = gettext_lazy("The interview was scheduled.")

    def save(self, form):
        services.interview_schedule(employee=self.employee, scheduled_on=form.cleaned_data["scheduled_on"],
                                    by=self.request.user)
        return self.back_url()


class InterviewRecordView(EmployeeFormView):
    """Notes, outcome and revised goals of a held interview (the scheduled one, if any)."""

    form_class = InterviewRecordForm
    heading = gettext_lazy("Record a career interview")
    success_message = gettext_lazy("The interview was recorded.")

    @cached_property
    def interview(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(selectors.employee_interviews(self.request.user, self.employee)
                                 .filter(held_on__isnull=True), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(interview=self.interview, **kwargs)

    def save(self, form):
        data = form.cleaned_data
        services.interview_record(employee=self.employee, interview=self.interview, held_on=data["held_on"],
                                  outcome=data["outcome"], notes=data["notes"], revised_goals=data["revised_goals"],
                                  by=self.request.user)
        return self.back_url()


class ExitOpenView(EmployeeFormView):
    form_class = ExitOpenForm
    heading = gettext_lazy("Open the exit")

    def perform(self, form):
        data = form.cleaned_data
        exit = services.exit_open(employee=self.employee, exit_on=data["exit_on"], voluntary=data["voluntary"],
                                  reason=data["reason"], destination=data["destination"],
                                  interview_notes=data["interview_notes"], by=self.request.user)
        clients = selectors.open_book_size(self.request.user, self.employee)
        if clients:
            messages.warning(self.request, ngettext(
                "The exit is open. Hand over the %(count)d client first; then complete the exit.",
                "The exit is open. Hand over the %(count)d clients first; then complete the exit.",
                clients) % {"count": clients})
        else:
            messages.success(self.request, _("The exit is open and can be completed from its date on."))
        return redirect("careers:exit-detail", pk=exit.pk)


# --- promotion eligibility ------------------------------------------------------------------

class EligibilityView(ActionRequiredMixin, TemplateView):
    """Every active RM of the scope against the requirements of their level; the RMs eligible
    for six months or more without promotion, and the promotion candidates of the appraisal rules."""

    required_action = ("browse", LevelChange)
    template_name = "careers/eligibility.html"

    def get_context_data(self, **kwargs):
        user, as_of = self.request.user, timezone.localdate()
        base = selectors.career_employees(user)
        filterset = CareerFilterSet(self.request.GET or None, queryset=base, request=self.request)
        employees = _filtered(filterset, base)
        rows = selectors.promotion_eligibility(user, as_of=as_of, employees=employees)
        show = self.request.GET.get("show", "all")
        listed = [row for row in rows if row.eligible] if show == "eligible" else rows
        without_level = employees.filter(status=Employee.Status.ACTIVE, level__isnull=True).count()
        return super().get_context_data(
            filterset=filterset, as_of=as_of, show=show, without_level=without_level,
            eligible_count=sum(1 for row in rows if row.eligible),
            long_waiting=selectors.eligible_not_promoted(rows),
            candidates=[row for row in rows if row.candidate_signals],
            page_obj=_page(self.request, listed), page_query=_page_query(self.request),
            months=selectors.NOT_PROMOTED_MONTHS,
            may_promote=scoping.may(user, CHANGE, LevelChange), **kwargs)


# --- career interviews ------------------------------------------------------------------------

class InterviewListView(ActionRequiredMixin, TemplateView):
    """When each RM's next career interview is due, the overdue ones first, with a count per branch."""

    required_action = ("browse", CareerInterview)
    template_name = "careers/interview_list.html"

    def get_context_data(self, **kwargs):
        user, as_of = self.request.user, timezone.localdate()
        base = selectors.career_employees(user)
        filterset = CareerFilterSet(self.request.GET or None, queryset=base, request=self.request)
        employees = _filtered(filterset, base)
        rows = selectors.interviews_due(user, as_of=as_of, employees=employees)
        overdue_only = self.request.GET.get("overdue") == "1"
        listed = [row for row in rows if row.overdue] if overdue_only else rows
        # ?due=N: only the interviews falling due within the next N days (not yet overdue).
        due_days = self.request.GET.get("due", "")
        due_days = int(due_days) if due_days.isdigit() and int(due_days) <= 366 else None
        if due_days is not None:
            until = as_of + dt.timedelta(days=due_days)
            listed = [row for row in listed if row.due_on is not None and as_of <= row.due_on <= until]
        return super().get_context_data(
            filterset=filterset, as_of=as_of, overdue_only=overdue_only, due_days=due_days,
            overdue_count=sum(1 for row in rows if row.overdue),
            by_branch=selectors.overdue_by_branch(rows),
            page_obj=_page(self.request, listed), page_query=_page_query(self.request),
            may_change=scoping.may(user, CHANGE, LevelChange), **kwargs)


# --- exits ------------------------------------------------------------------------------------

class ExitListView(ActionRequiredMixin, TemplateView):
    """Exits of the scope with what became of the handed-over clients against the bank's churn."""

    required_action = ("browse", Exit)
    template_name = "careers/exit_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        base = selectors.exits_for(user)
        filterset = ExitFilterSet(self.request.GET or None, queryset=base, request=self.request)
        exits = _filtered(filterset, base)
        # Valuing every handed-over client's contribution is the dashboards' heaviest read: kept
        # until the data changes, per scope and filter (the SQL of the restricted exits).
        outflow = dashboard_cached("exits:outflow", (
            scoping.role_of(user), exits, timezone.localdate(), translation.get_language()),
            lambda: selectors.exit_outflow(user, exits=exits)).value
        return super().get_context_data(
            filterset=filterset, total=outflow["total"], count=len(outflow["rows"]),
            page_obj=_page(self.request, outflow["rows"]), page_query=_page_query(self.request), **kwargs)


class ExitDetailView(RestrictedMixin, DetailView):
    """One exit: reasons and notes, the handover, the figures after it; HR completes it here."""

    model = Exit
    template_name = "careers/exit_detail.html"
    context_object_name = "exit"

    def get_queryset(self):
        return selectors.exits_for(self.request.user)

    def get_context_data(self, details_form=None, complete_error=None, **kwargs):
        user, exit = self.request.user, self.object
        may_change = scoping.may(user, CHANGE, Exit)
        book_size = selectors.open_book_size(user, exit.employee)
        open_exit = exit.status == Exit.Status.OPEN
        outflow = selectors.exit_outflow(user, exits=Exit.objects.filter(pk=exit.pk))["rows"]
        if details_form is None and may_change:
            details_form = ExitDetailsForm(prefix="details", initial={
                "voluntary": exit.voluntary, "reason": exit.reason, "destination": exit.destination,
                "interview_notes": exit.interview_notes})
        return super().get_context_data(
            handovers=selectors.exit_handovers(user, exit), outflow=outflow[0] if outflow else None,
            book_size=book_size, may_complete=may_change and open_exit, complete_error=complete_error,
            may_hand_over=open_exit and book_size > 0 and scoping.may(user, REASSIGN, Employee),
            details_form=details_form, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        if not scoping.may(request.user, CHANGE, Exit):
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "complete":
            try:
                services.exit_complete(exit=self.object, by=request.user)
            except ApplicationError as exc:
                return self.render_to_response(self.get_context_data(complete_error=exc.message))
            messages.success(request, _("The exit is completed; %(employee)s is recorded as having left.")
                             % {"employee": self.object.employee})
            return redirect("careers:exit-detail", pk=self.object.pk)
        if action == "details":
            form = ExitDetailsForm(request.POST, prefix="details")
            if form.is_valid():
                try:
                    services.exit_update(exit=self.object, voluntary=form.cleaned_data["voluntary"],
                                         reason=form.cleaned_data["reason"],
                                         destination=form.cleaned_data["destination"],
                                         interview_notes=form.cleaned_data["interview_notes"], by=request.user)
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(request, _("The exit record was saved."))
                    return redirect("careers:exit-detail", pk=self.object.pk)
            return self.render_to_response(self.get_context_data(details_form=form))
        return HttpResponseBadRequest()
