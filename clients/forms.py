"""Forms of the client pages. They check input types only; the rules live in clients.services."""
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.models import Assignment, Complaint, Interaction, StatementFlag, StatementLine
from clients.statements import GROUPS, SECTIONS
from rmportal.forms import AsciiDigitsMixin, text_field
from rmportal.validators import validate_past_date, validate_period, validate_upload_size

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _now_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


class _HandoverTermsForm(AsciiDigitsMixin, forms.Form):
    on = forms.DateField(label=_("Effective date"), widget=DATE, initial=timezone.localdate,
                         validators=[validate_past_date])
    reason = forms.ChoiceField(label=_("Reason"), choices=Assignment.Reason.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ClientReassignForm(_HandoverTermsForm):
    """One client of a book to another RM of the branch."""

    client = forms.ModelChoiceField(label=_("Client"), queryset=None, to_field_name="client_no")
    to_rm = forms.ModelChoiceField(label=_("New RM"), queryset=None, to_field_name="employee_no")

    field_order = ["client", "to_rm", "on", "reason", "note"]

    def __init__(self, *args, clients, rms, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("reason", Assignment.Reason.REBALANCING)
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients
        self.fields["to_rm"].queryset = rms


class BookHandoverForm(_HandoverTermsForm):
    """The whole book: who takes over; the balanced plan is previewed before it is applied."""

    targets = forms.ModelMultipleChoiceField(label=_("RMs taking over"), queryset=None,
                                             to_field_name="employee_no",
                                             widget=forms.CheckboxSelectMultiple)

    field_order = ["targets", "on", "reason", "note"]

    def __init__(self, *args, rms, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("reason", Assignment.Reason.EXIT_HANDOVER)
        super().__init__(*args, **kwargs)
        self.fields["targets"].queryset = rms


KEEP = ""


class HandoverConfirmForm(_HandoverTermsForm):
    """The previewed plan, one choice per client: any active RM of the branch, or kept."""

    def __init__(self, *args, clients, rms, **kwargs):
        super().__init__(*args, **kwargs)
        self.clients = list(clients)
        self.rms = list(rms)
        choices = [(KEEP, _("— keep —"))] + [(rm.employee_no, str(rm)) for rm in self.rms]
        for client in self.clients:
            self.fields[self.plan_field(client)] = forms.ChoiceField(
                label=str(client), choices=choices, required=False)

    @staticmethod
    def plan_field(client) -> str:
        return f"plan_{client.client_no}"

    def plan_rows(self):
        """(client, bound field) pairs in the order of the book, for the preview table."""
        return [(client, self[self.plan_field(client)]) for client in self.clients]

    def mapping(self) -> dict:
        """The client → RM mapping chosen, leaving out the clients kept with their RM."""
        rms = {rm.employee_no: rm for rm in self.rms}
        chosen = {}
        for client in self.clients:
            employee_no = self.cleaned_data.get(self.plan_field(client))
            if employee_no:
                chosen[client] = rms[employee_no]
        return chosen


class EmployeeLeftForm(AsciiDigitsMixin, forms.Form):
    on = forms.DateField(label=_("Exit date"), widget=DATE, initial=timezone.localdate,
                         validators=[validate_past_date])


class ClientLostForm(AsciiDigitsMixin, forms.Form):
    on = forms.DateField(label=_("Lost on"), widget=DATE, initial=timezone.localdate,
                         validators=[validate_past_date])
    reason = forms.CharField(label=_("Reason for loss"), max_length=200)


class InteractionForm(AsciiDigitsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Interaction.Kind.choices)
    on = forms.DateField(label=_("Date"), widget=DATE, initial=timezone.localdate,
                         validators=[validate_past_date])
    score = forms.TypedChoiceField(
        label=_("Satisfaction score (call-backs)"), coerce=int, empty_value=None, required=False,
        choices=[("", "—")] + [(n, str(n)) for n in range(1, 6)],
        help_text=_("1 = very dissatisfied, 5 = very satisfied. Only for call-backs."))
    channel = forms.CharField(label=_("Channel"), max_length=30, required=False)
    comment = text_field(Interaction, "comment", label=_("Comment"), required=False,
                         widget=forms.Textarea(attrs={"rows": 3}))


class ComplaintOpenForm(AsciiDigitsMixin, forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = text_field(Complaint, "description", label=_("Description"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    opened_at = forms.DateTimeField(label=_("Received at"), widget=DATETIME, initial=_now_minute)


class ComplaintResolveForm(AsciiDigitsMixin, forms.Form):
    resolved_at = forms.DateTimeField(label=_("Resolved at"), widget=DATETIME, initial=_now_minute)
    resolution = text_field(Complaint, "resolution", label=_("Resolution"), required=True,
                            widget=forms.Textarea(attrs={"rows": 3}))


class StatementForm(AsciiDigitsMixin, forms.Form):
    """One period's statement: the period and an optional amount per line of the chart, grouped
    as the statements are (DOMAIN 2.3). A line left blank is not reported."""

    period = forms.CharField(label=_("Period"), max_length=7,
                             help_text=_("YYYY for a year, YYYY-Qn for a quarter (e.g. 2025 or 2025-Q3)."),
                             validators=[validate_period])

    def __init__(self, *args, period_fixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].disabled = period_fixed
        for line in StatementLine:
            self.fields[line.value] = forms.DecimalField(
                label=line.label, required=False, max_digits=20, decimal_places=2,
                widget=forms.NumberInput(attrs={"step": "0.01", "class": "num"}))

    def groups(self):
        """Per group of the chart, in the chart's order: its statement, label and bound fields."""
        sections = dict(SECTIONS)
        return [{"section": sections[section], "label": label, "own_heading": label != sections[section],
                 "fields": [self[line.value] for line in lines]} for _code, section, label, lines in GROUPS]

    def amounts(self) -> dict:
        return {line: self.cleaned_data[line] for line in StatementLine.values
                if self.cleaned_data.get(line) is not None}


class StatementFlagExplainForm(AsciiDigitsMixin, forms.Form):
    status = forms.ChoiceField(label=_("Decision"), choices=[
        (StatementFlag.Status.EXPLAINED, _("Explained: the client's reason and evidence hold")),
        (StatementFlag.Status.ACCEPTED, _("Accepted: the figures stand as reported")),
        (StatementFlag.Status.ESCALATED, _("Escalated: refer to credit risk for review")),
    ])
    explanation = text_field(StatementFlag, "explanation", label=_("Explanation"), required=True,
                             widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("What the client said or showed, and what you checked."))


class StatementUploadForm(AsciiDigitsMixin, forms.Form):
    file = forms.FileField(label=_("File"), help_text=_(
        "CSV (UTF-8) or XLSX with the columns client_no, period, line, amount; one row per line item."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx", ".xlsm")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        validate_upload_size(upload, limit=settings.UPLOAD_MAX_BYTES)
        return upload
