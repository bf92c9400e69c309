"""Pages of branches, RMs' books and clients (DOMAIN 1, 2). Reads go through clients.selectors,
writes through clients.services; who sees what is decided by ``restrict`` alone."""
from collections import Counter
from decimal import Decimal
from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Value, When
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import DetailView, FormView, ListView, TemplateView

from clients import selectors, services
from clients.contribution import LINES, ContributionMethod, contribution_components
from clients.filtersets import ClientFilterSet
from clients.forms import (BookHandoverForm, ClientLostForm, ClientReassignForm, ComplaintOpenForm,
                           ComplaintResolveForm, EmployeeLeftForm, HandoverConfirmForm, InteractionForm)
from clients.models import Branch, Client, Employee
from clients.views_statements import statement_section
from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.views import ActionRequiredMixin, ApplicationErrorFormMixin, RestrictedMixin

INTERACT, REASSIGN, CHANGE = "interact", "reassign", "change"
BRANCH_RMS_PAGE_SIZE = 25

SEGMENT_RANK = Case(When(segment=Client.Segment.PRIVATE, then=Value(3)),
                    When(segment=Client.Segment.AFFLUENT, then=Value(2)),
                    default=Value(1), output_field=IntegerField())
BOOK_SORTS = {
    "client_no": F("client_no"),
    "name": F("name"),
    "segment": SEGMENT_RANK,
    "aum": F("aum"),
    "contribution": F("contribution_12m"),
}

COMPONENT_LABELS = {
    "loan": gettext_lazy("Loans"),
    "deposit": gettext_lazy("Deposits"),
    "wm": gettext_lazy("Wealth management"),
    "card": gettext_lazy("Cards"),
}


class BranchListView(LoginRequiredMixin, ListView):
    template_name = "clients/branch_list.html"
    context_object_name = "branches"

    def get_queryset(self):
        return selectors.branch_list(user=self.request.user)


class BranchDetailView(RestrictedMixin, DetailView):
    model = Branch
    slug_field = slug_url_kwarg = "code"
    template_name = "clients/branch_detail.html"
    context_object_name = "branch"

    def get_queryset(self):
        return super().get_queryset().select_related("region")

    def get_context_data(self, **kwargs):
        user = self.request.user
        month = selectors.latest_month()
        # Paged, and the book figures computed for the page's RMs only: each RM's figures read the
        # book's client-months, hundreds of thousands of rows for a branch of hundreds of RMs.
        page = Paginator(selectors.active_rms(user=user, branch_id=self.object.pk),
                         BRANCH_RMS_PAGE_SIZE).get_page(self.request.GET.get("page"))
        return super().get_context_data(
            month=month, rms=selectors.rms_with_book_figures(rms=page.object_list, month=month), page_obj=page,
            may_reassign=scoping.may(user, REASSIGN, Employee),
            **kwargs)


class RMBookView(LoginRequiredMixin, ListView):
    """An RM's clients, filtered with ClientFilterSet, sortable and paginated. With htmx, only the
    results are sent back, so filtering and paging do not reload the page."""

    template_name = "clients/rm_book.html"
    results_template_name = "clients/_book_results.html"
    context_object_name = "clients"
    paginate_by = 25

    def get_queryset(self):
        user = self.request.user
        self.rm = get_object_or_404(Employee.objects.restrict(user).select_related("branch"),
                                    employee_no=self.kwargs["employee_no"])
        self.month = selectors.latest_month()
        clients = selectors.book_clients(user=user, rm=self.rm, month=self.month)
        self.filterset = ClientFilterSet(self.request.GET or None, queryset=clients, request=self.request)
        self.sort, self.descending = self._sort()
        order = BOOK_SORTS[self.sort]
        return self.filterset.qs.order_by(order.desc() if self.descending else order.asc(), "client_no")

    def _sort(self) -> tuple[str, bool]:
        requested = self.request.GET.get("sort", "client_no")
        key = requested.removeprefix("-")
        if key not in BOOK_SORTS:
            return "client_no", False
        return key, requested.startswith("-")

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.history_restore_request:
            return [self.results_template_name]
        return [self.template_name]

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def get_context_data(self, **kwargs):
        params = self.request.GET.copy()
        params.pop("page", None)
        sort_headers = {}
        for key in BOOK_SORTS:
            active = key == self.sort
            # A second click on the sorted column reverses it.
            params["sort"] = f"-{key}" if active and not self.descending else key
            sort_headers[key] = {"query": params.urlencode(),
                                 "aria": ("descending" if self.descending else "ascending") if active else ""}
        params["sort"] = f"-{self.sort}" if self.descending else self.sort
        return super().get_context_data(
            rm=self.rm, month=self.month, filterset=self.filterset, sort=self.sort,
            descending=self.descending, sort_headers=sort_headers, page_query=params.urlencode(),
            may_reassign=scoping.may(self.request.user, REASSIGN, Employee),
            **kwargs)


def contribution_table(rows, month) -> list[dict]:
    """The 12 months ending with ``month``, one dict of method-3 components per month; a month
    without a stored row counts 0."""
    by_month = {row.month: row for row in rows}
    table = []
    for m in selectors.contribution_months(month):
        row = by_month.get(m)
        if row is None:
            line = dict.fromkeys((*LINES, "total"), Decimal("0.00"))
        else:
            line = contribution_components(row, ContributionMethod.PROFIT)
        table.append({**line, "month": m, "has_data": row is not None})
    return table


def contribution_chart(table) -> dict:
    """What the browser needs to draw the stacked bars; labels are translated here."""
    return {
        "title": _("Profit contribution by product line, last 12 months"),
        "xaxis": _("Month"),
        "yaxis": _("Contribution (元)"),
        "months": [line["month"].strftime("%Y-%m") for line in table],
        "series": [{"name": str(COMPONENT_LABELS[key]), "values": [str(line[key]) for line in table]}
                   for key in LINES],
    }


class ClientDetailView(RestrictedMixin, DetailView):
    model = Client
    slug_field = slug_url_kwarg = "client_no"
    template_name = "clients/client_detail.html"
    context_object_name = "client"

    def get_queryset(self):
        return selectors.clients_for_view(user=self.request.user)

    def get_context_data(self, **kwargs):
        user, client = self.request.user, self.object
        month = selectors.latest_month()
        table = contribution_table(selectors.client_contributions(user=user, client=client, month=month), month)
        totals = {key: sum((line[key] for line in table), Decimal("0.00")) for key in (*LINES, "total")}
        assignments = list(selectors.client_assignments(user=user, client=client))
        may_interact = scoping.may(user, INTERACT, Client)
        return super().get_context_data(
            month=month,
            contribution_rows=table,
            contribution_totals=totals,
            has_contribution=any(line["has_data"] for line in table),
            chart=contribution_chart(table),
            assignments=assignments,
            current_assignment=next((a for a in assignments if a.ended_on is None), None),
            interactions=selectors.client_interactions(user=user, client=client),
            complaints=self._complaints(may_interact),
            may_interact=may_interact,
            may_reassign=scoping.may(user, REASSIGN, Client) and client.status != Client.Status.LOST,
            may_change=scoping.may(user, CHANGE, Client) and client.status != Client.Status.LOST,
            interaction_form=InteractionForm(prefix="interaction") if may_interact else None,
            complaint_form=ComplaintOpenForm(prefix="complaint") if may_interact else None,
            **statement_section(user=user, client=client),
            **kwargs)

    def _complaints(self, may_interact):
        now = timezone.now()
        complaints = list(selectors.client_complaints(user=self.request.user, client=self.object))
        for complaint in complaints:
            complaint.overdue = complaint.resolved_at is None and complaint.due_at < now
            if complaint.resolved_at is not None:
                minutes = int(complaint.response_time.total_seconds()) // 60
                complaint.response_hours, complaint.response_minutes = divmod(minutes, 60)
            complaint.resolve_form = (ComplaintResolveForm(prefix=f"resolve-{complaint.pk}")
                                      if may_interact and complaint.resolved_at is None else None)
        return complaints


class HandoverView(ActionRequiredMixin, TemplateView):
    """Branch manager and HR: move one client, or the whole book after a preview, to other RMs of
    the branch; record that the RM left once the book is empty."""

    required_action = (REASSIGN, Employee)
    template_name = "clients/handover.html"

    @cached_property
    def rm(self):
        return get_object_or_404(Employee.objects.restrict(self.request.user, REASSIGN).select_related("branch"),
                                 employee_no=self.kwargs["employee_no"])

    @cached_property
    def month(self):
        return selectors.latest_month()

    @cached_property
    def takers(self):
        """The other active RMs of the branch, with their book size."""
        return list(selectors.branch_rms(user=self.request.user, branch=self.rm.branch, month=self.month)
                    .exclude(pk=self.rm.pk))

    def book(self):
        return Client.objects.restrict(self.request.user, REASSIGN).filter(
            assignments__rm=self.rm, assignments__ended_on__isnull=True).order_by("client_no")

    def _taker_queryset(self):
        return selectors.active_rms(user=self.request.user, branch_id=self.rm.branch_id).exclude(pk=self.rm.pk)

    def forms(self, data=None, bound=None):
        """The page's forms; only the one named ``bound`` gets the posted data."""
        initial = {"client": self.request.GET.get("client")}
        return {
            "reassign_form": ClientReassignForm(data if bound == "reassign" else None, prefix="one",
                                                initial=initial, clients=self.book(),
                                                rms=self._taker_queryset()),
            "handover_form": BookHandoverForm(data if bound == "preview" else None, prefix="book",
                                              rms=self._taker_queryset()),
            "left_form": EmployeeLeftForm(data if bound == "left" else None, prefix="left"),
        }

    def get_context_data(self, **kwargs):
        context = {"rm": self.rm, "month": self.month, "takers": self.takers,
                   "book_size": self.book().count(), **self.forms()}
        context.update(kwargs)
        return super().get_context_data(**context)

    def post(self, request, *args, **kwargs):
        handlers = {"reassign": self.reassign, "preview": self.preview, "confirm": self.confirm,
                    "left": self.mark_left}
        handler = handlers.get(request.POST.get("action"))
        if handler is None:
            return HttpResponseBadRequest()
        return handler()

    def _again(self, **forms):
        return self.render_to_response(self.get_context_data(**forms))

    def reassign(self):
        form = self.forms(self.request.POST, "reassign")["reassign_form"]
        if form.is_valid():
            try:
                services.client_reassign(client=form.cleaned_data["client"], to_rm=form.cleaned_data["to_rm"],
                                         on=form.cleaned_data["on"], reason=form.cleaned_data["reason"],
                                         note=form.cleaned_data["note"], by=self.request.user)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(self.request, _("%(client)s now belongs to %(rm)s.")
                                 % {"client": form.cleaned_data["client"], "rm": form.cleaned_data["to_rm"]})
                return redirect("clients:handover", employee_no=self.rm.employee_no)
        return self._again(reassign_form=form)

    def _confirm_form(self, data=None, initial=None):
        clients = selectors.book_clients(user=self.request.user, rm=self.rm, month=self.month).order_by("client_no")
        return HandoverConfirmForm(data, prefix="plan", initial=initial, clients=clients, rms=self.takers)

    def preview(self):
        form = self.forms(self.request.POST, "preview")["handover_form"]
        if form.is_valid():
            try:
                plan = services.book_handover_preview(from_rm=self.rm, targets=list(form.cleaned_data["targets"]),
                                                      strategy=services.BALANCED)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                initial = {key: form.cleaned_data[key] for key in ("on", "reason", "note")}
                initial.update({HandoverConfirmForm.plan_field(client): rm.employee_no for client, rm in plan})
                receiving = Counter(rm.pk for _client, rm in plan)
                for taker in self.takers:
                    taker.receiving = receiving[taker.pk]
                return self._again(handover_form=form, confirm_form=self._confirm_form(initial=initial))
        return self._again(handover_form=form)

    def confirm(self):
        form = self._confirm_form(self.request.POST)
        if form.is_valid():
            mapping = form.mapping()
            try:
                plan = services.book_handover_preview(from_rm=self.rm, targets=list(set(mapping.values())),
                                                      strategy=mapping)
                services.book_handover(from_rm=self.rm, plan=plan, on=form.cleaned_data["on"],
                                       reason=form.cleaned_data["reason"], note=form.cleaned_data["note"],
                                       by=self.request.user)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                count = len(plan)
                messages.success(self.request, ngettext("%(count)d client handed over.",
                                                        "%(count)d clients handed over.", count) % {"count": count})
                return redirect("clients:handover", employee_no=self.rm.employee_no)
        return self._again(confirm_form=form)

    def mark_left(self):
        form = self.forms(self.request.POST, "left")["left_form"]
        if form.is_valid():
            try:
                services.employee_mark_left(employee=self.rm, on=form.cleaned_data["on"], by=self.request.user)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(self.request, _("%(employee)s is recorded as having left.") % {"employee": self.rm})
                return redirect("clients:branch-detail", code=self.rm.branch.code)
        return self._again(left_form=form)


class ClientFormView(ActionRequiredMixin, ApplicationErrorFormMixin, FormView):
    """A form about one client, on a page of its own (and embedded in the client page)."""

    template_name = "clients/client_form.html"
    restrict_action = INTERACT
    heading = ""
    success_message = ""

    @cached_property
    def client(self):
        return get_object_or_404(selectors.clients_for_view(user=self.request.user, action=self.restrict_action),
                                 client_no=self.kwargs["client_no"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(client=self.client, heading=self.heading, **kwargs)

    def get_success_url(self):
        return reverse("clients:client-detail", kwargs={"client_no": self.client.client_no})

    def perform(self, form):
        self.save(form)
        messages.success(self.request, self.success_message)
        return redirect(self.get_success_url())


class InteractionCreateView(ClientFormView):
    required_action = (INTERACT, Client)
    form_class = InteractionForm
    prefix = "interaction"
    heading = gettext_lazy("Record an interaction")
    success_message = gettext_lazy("The interaction was recorded.")

    def save(self, form):
        services.interaction_record(client=self.client, kind=form.cleaned_data["kind"], on=form.cleaned_data["on"],
                                    score=form.cleaned_data["score"], channel=form.cleaned_data["channel"],
                                    comment=form.cleaned_data["comment"], by=self.request.user)


class ComplaintOpenView(ClientFormView):
    required_action = (INTERACT, Client)
    form_class = ComplaintOpenForm
    prefix = "complaint"
    heading = gettext_lazy("Open a complaint")
    success_message = gettext_lazy("The complaint was opened.")

    def save(self, form):
        services.complaint_open(client=self.client, subject=form.cleaned_data["subject"],
                                description=form.cleaned_data["description"],
                                opened_at=form.cleaned_data["opened_at"], by=self.request.user)


class ComplaintResolveView(ClientFormView):
    required_action = (INTERACT, Client)
    form_class = ComplaintResolveForm
    heading = gettext_lazy("Resolve a complaint")
    success_message = gettext_lazy("The complaint was resolved.")

    @cached_property
    def complaint(self):
        return get_object_or_404(selectors.client_complaints(user=self.request.user, client=self.client),
                                 pk=self.kwargs["pk"])

    def get_prefix(self):
        return f"resolve-{self.complaint.pk}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(complaint=self.complaint, **kwargs)

    def save(self, form):
        services.complaint_resolve(complaint=self.complaint, resolved_at=form.cleaned_data["resolved_at"],
                                   resolution=form.cleaned_data["resolution"], by=self.request.user)


class ClientLostView(ClientFormView):
    required_action = (CHANGE, Client)
    restrict_action = CHANGE
    form_class = ClientLostForm
    prefix = "lost"
    heading = gettext_lazy("Mark the client as lost")
    success_message = gettext_lazy("The client is recorded as lost.")

    def save(self, form):
        services.client_mark_lost(client=self.client, on=form.cleaned_data["on"],
                                  reason=form.cleaned_data["reason"], by=self.request.user)
