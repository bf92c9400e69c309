"""Pages of corporate credit clients' financial statements and their red flags (DOMAIN 2.3).

Entering a statement, uploading a file of statements, explaining a flag, and the list of clients
with open flags. Reads go through clients.selectors, writes through clients.services; who may do
what is decided by ``restrict`` and the models' scope actions alone.
"""
from __future__ import annotations

from functools import cached_property

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView

from clients import selectors, services
from clients.filtersets import StatementFlagClientFilterSet
from clients.forms import StatementFlagExplainForm, StatementForm, StatementUploadForm
from clients.models import Client, FinancialStatement, StatementFlag
from clients.statements import GROUPS, RULES, flag_message, rule_label
from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.exports import FORMATS, export_response
from rmportal.importing import ImportRejected, importer_for, run_import
from rmportal.views import ActionRequiredMixin

CHANGE, EXPLAIN = "change", "explain"
STATEMENTS = "statements"


def display_user(user) -> str:
    if user is None:
        return _("system")
    employee = getattr(user, "employee", None)
    return employee.name if employee is not None else user.get_username()


def flag_history_rows(history) -> list[dict]:
    """The audit rows of flags as changes: who, when, why, status before → after, the note."""
    rows, previous = [], None
    for record in history:
        same_flag = previous is not None and previous.id == record.id
        before = previous.status if same_flag else None
        rows.append({
            "flag_id": record.id, "when": record.history_date, "who": display_user(record.history_user),
            "reason": record.history_change_reason or "", "type": record.history_type,
            "status_before": StatementFlag.Status(before).label if before else "",
            "status_after": StatementFlag.Status(record.status).label,
            "explanation": record.explanation if not same_flag or previous.explanation != record.explanation else "",
            "rule": rule_label(record.rule), "subject": record.subject,
        })
        previous = record
    return sorted(rows, key=lambda row: row["when"], reverse=True)


def statement_section(*, user, client: Client) -> dict:
    """What the client page shows of the client's statements: only for corporate clients."""
    if client.client_type != Client.Type.CORPORATE:
        return {"show_statements": False}
    explainable = set(selectors.client_statement_flags(user=user, client=client, action=EXPLAIN)
                      .values_list("pk", flat=True))
    flags = list(selectors.client_statement_flags(user=user, client=client))
    for flag in flags:
        flag.message = flag_message(flag.rule, flag.figures)
        flag.rule_label = rule_label(flag.rule)
        flag.explain_form = (StatementFlagExplainForm(prefix=f"flag-{flag.pk}",
                                                      initial=_explain_initial(flag))
                             if flag.pk in explainable else None)
    history = flag_history_rows(selectors.statement_flag_history(user=user, client=client))
    flag_names = {flag.pk: f"{flag.statement.period} · {flag.rule_label}" for flag in flags}
    for row in history:
        row["flag"] = flag_names.get(row["flag_id"], row["rule"])
    return {
        "show_statements": True,
        "statements": list(selectors.client_statements(user=user, client=client)),
        "statement_flags": flags,
        "open_statement_flags": sum(1 for flag in flags if flag.status == StatementFlag.Status.OPEN),
        "flag_history": history,
        "may_enter_statements": selectors.statement_clients(user=user).filter(pk=client.pk).exists(),
    }


def _explain_initial(flag: StatementFlag) -> dict:
    if flag.status == StatementFlag.Status.OPEN:
        return {}
    return {"status": flag.status, "explanation": flag.explanation}


def client_page_url(client: Client, anchor: str = "statements") -> str:
    return reverse("clients:client-detail", kwargs={"client_no": client.client_no}) + f"#{anchor}"


class StatementEditView(ActionRequiredMixin, FormView):
    """Enter a new period's statement, or edit one, line by line; the checks run on saving."""

    required_action = (CHANGE, FinancialStatement)
    template_name = "clients/statement_form.html"
    form_class = StatementForm

    @cached_property
    def client(self) -> Client:
        return get_object_or_404(selectors.statement_clients(user=self.request.user),
                                 client_no=self.kwargs["client_no"])

    @cached_property
    def statement(self) -> FinancialStatement | None:
        period = self.kwargs.get("period")
        if period is None:
            return None
        return get_object_or_404(FinancialStatement.objects.restrict(self.request.user, CHANGE),
                                 client=self.client, period=period)

    def get_form_kwargs(self):
        self.client  # noqa: B018 (404 before anything else)
        return {**super().get_form_kwargs(), "period_fixed": self.statement is not None}

    def get_initial(self):
        if self.statement is None:
            return {}
        return {"period": self.statement.period,
                **selectors.statement_lines(user=self.request.user, statement=self.statement)}

    def get_context_data(self, **kwargs):
        heading = (_("Statement %(period)s") % {"period": self.statement.period} if self.statement
                   else _("Enter a financial statement"))
        return super().get_context_data(client=self.client, statement=self.statement, heading=heading, **kwargs)

    def form_valid(self, form):
        period = self.statement.period if self.statement else form.cleaned_data["period"].strip().upper()
        if self.statement is None and FinancialStatement.objects.filter(client=self.client, period=period).exists():
            form.add_error("period", _("A statement for %(period)s exists already; edit it instead.")
                           % {"period": period})
            return self.form_invalid(form)
        try:
            services.statement_save(client=self.client, period=period, amounts=form.amounts(), by=self.request.user)
        except ApplicationError as exc:
            problems = exc.extra.get("problems") or {"": exc.message}
            for field, message in problems.items():
                form.add_error(field if field in form.fields else None, message)
            return self.form_invalid(form)
        messages.success(self.request, _("The statement for %(period)s was saved and checked.") % {"period": period})
        return redirect(client_page_url(self.client))


class StatementFlagExplainView(ActionRequiredMixin, FormView):
    """Record the decision on a flag with a note: explained, accepted or escalated."""

    required_action = (EXPLAIN, StatementFlag)
    template_name = "clients/statement_flag_explain.html"
    form_class = StatementFlagExplainForm

    @cached_property
    def flag(self) -> StatementFlag:
        return get_object_or_404(
            StatementFlag.objects.restrict(self.request.user, EXPLAIN).select_related("client", "statement"),
            client__client_no=self.kwargs["client_no"], pk=self.kwargs["pk"])

    def get_prefix(self):
        return f"flag-{self.flag.pk}"

    def get_initial(self):
        return _explain_initial(self.flag)

    def get_context_data(self, **kwargs):
        flag = self.flag
        flag.message = flag_message(flag.rule, flag.figures)
        flag.rule_label = rule_label(flag.rule)
        return super().get_context_data(flag=flag, client=flag.client, **kwargs)

    def form_valid(self, form):
        try:
            services.statement_flag_explain(flag=self.flag, status=form.cleaned_data["status"],
                                            explanation=form.cleaned_data["explanation"], by=self.request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("The decision on the flag was recorded."))
        return redirect(client_page_url(self.flag.client, f"flag-{self.flag.pk}"))


class StatementUploadView(ActionRequiredMixin, FormView):
    """Upload a CSV or XLSX file of statements for the clients the user may change; the whole
    file is stored or nothing, then the checks run (DOMAIN 2.3, 6)."""

    required_action = (CHANGE, FinancialStatement)
    template_name = "clients/statement_upload.html"
    form_class = StatementUploadForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(importer=importer_for(STATEMENTS), groups=GROUPS, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            result = run_import(STATEMENTS, upload, filename=upload.name, user=self.request.user)
        except ImportRejected as exc:
            return self.render_to_response(self.get_context_data(form=form, rejected=exc))
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=self.form_class(), result=result))


def flag_list_header() -> list[str]:
    return [_("Client number"), _("Client"), _("Branch code"), _("RM employee number"), _("RM"),
            _("Latest period"), _("Open critical"), _("Open warnings"), _("Open info"), _("Worst severity")]


def flag_list_rows(clients):
    for c in clients.iterator(chunk_size=2000):
        yield [c.client_no, c.name, c.branch.code, c.rm_no or "", c.rm_name or "", c.latest_period or "",
               c.open_critical, c.open_warning, c.open_info, worst_severity_label(c.worst_rank)]


WORST = {3: StatementFlag.Severity.CRITICAL, 2: StatementFlag.Severity.WARNING, 1: StatementFlag.Severity.INFO}


def worst_severity_label(rank: int) -> str:
    severity = WORST.get(rank)
    return str(severity.label) if severity else ""


class StatementFlagListView(ActionRequiredMixin, ListView):
    """Credit clients with open statement flags, worst first (DOMAIN 2.3): the branch manager's
    follow-up list. Each role sees its scope (RM: own clients, branch roles: the branch, reviewer:
    the region, HR: the bank); ?format=csv|xlsx exports the filtered list."""

    template_name = "clients/statement_flags.html"
    context_object_name = "flag_clients"
    paginate_by = 50

    def get_queryset(self):
        base = selectors.statement_flag_clients(user=self.request.user)
        self.filterset = StatementFlagClientFilterSet(self.request.GET or None, queryset=base, request=self.request)
        if self.filterset.is_bound and not self.filterset.is_valid():
            return base.none()
        return self.filterset.qs.order_by("-worst_rank", "-open_critical", "-open_warning", "-open_info", "client_no")

    def query(self) -> str:
        params = self.request.GET.copy()
        for key in ("page", "format"):
            params.pop(key, None)
        return params.urlencode()

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format")
        if fmt in FORMATS:
            return export_response(fmt, "statement-flags", flag_list_header(), flag_list_rows(self.get_queryset()))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(filterset=self.filterset, page_query=self.query(),
                                           export_query=self.query(), rules=RULES, **kwargs)
        for c in context["flag_clients"]:
            c.worst_severity = WORST.get(c.worst_rank, "")
            c.worst_label = worst_severity_label(c.worst_rank)
        context["may_upload"] = scoping.may(self.request.user, CHANGE, FinancialStatement)
        return context
