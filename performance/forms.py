"""Forms of the performance pages. They check input types only; the rules (score ranges, required
comments, deadlines, pool balance) live in performance.workflow and performance.bonus."""
from django import forms
from django.utils.translation import gettext_lazy as _

from performance.models import Appraisal, PoolEntry
from rmportal.forms import AsciiDigitsMixin, text_field
from rmportal.validators import validate_period

TEXT = forms.Textarea(attrs={"rows": 3})


class AppraisalRunForm(AsciiDigitsMixin, forms.Form):
    period = forms.CharField(label=_("Period"), max_length=7, help_text=_("YYYY-MM, YYYY-Qn or YYYY"),
                             validators=[validate_period])
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, to_field_name="code", required=False,
                                    empty_label=_("All branches"))

    def __init__(self, *args, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


class ManualScoreForm(AsciiDigitsMixin, forms.Form):
    """One score field per manual indicator of the appraisal, filled with what is stored."""

    reason = forms.CharField(label=_("Why (kept in the history)"), max_length=200, required=False)

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = [line for line in lines if line.indicator.method == "manual"]
        fields = {}
        for line in self.lines:
            fields[self.field_name(line)] = forms.DecimalField(
                label=line.indicator.name, required=False, initial=line.manual_score,
                help_text=_("0 to %(weight)s points") % {"weight": line.indicator.weight},
                widget=forms.NumberInput(attrs={"step": "0.01"}))
        # The scores first, the reason last.
        self.fields = {**fields, "reason": self.fields["reason"]}

    @staticmethod
    def field_name(line) -> str:
        return f"score_{line.indicator.code}"

    def changes(self) -> list[tuple[str, object, str]]:
        """(indicator code, score, field name) for every score entered that differs from the stored one."""
        found = []
        for line in self.lines:
            name = self.field_name(line)
            score = self.cleaned_data.get(name)
            if score is not None and score != line.manual_score:
                found.append((line.indicator.code, score, name))
        return found


class CommentForm(AsciiDigitsMixin, forms.Form):
    comment = text_field(Appraisal, "comment", label=_("Comment"), required=False, widget=TEXT)


class DecisionForm(AsciiDigitsMixin, forms.Form):
    """Pass on or send back; the two submit buttons carry the decision."""

    PASS, RETURN = "pass", "return"

    decision = forms.ChoiceField(choices=[(PASS, _("Pass on")), (RETURN, _("Send back"))])
    comment = text_field(Appraisal, "comment", label=_("Comment"), required=False, widget=TEXT,
                              help_text=_("Required when you send the appraisal back."))


class ReasonForm(AsciiDigitsMixin, forms.Form):
    reason = text_field(Appraisal, "comment", label=_("Reason"), required=False, widget=TEXT)


class AppealForm(AsciiDigitsMixin, forms.Form):
    comment = text_field(Appraisal, "comment", label=_("What is wrong"), required=False, widget=TEXT)


class PeriodApproveForm(AsciiDigitsMixin, forms.Form):
    branch = forms.CharField(max_length=20)
    period = forms.CharField(max_length=7)


class PoolAllocationForm(AsciiDigitsMixin, forms.Form):
    employee = forms.ModelChoiceField(label=_("RM"), queryset=None, to_field_name="employee_no")
    amount = forms.DecimalField(label=_("Amount (元)"), widget=forms.NumberInput(attrs={"step": "0.01"}))
    reason = forms.ChoiceField(label=_("Reason"), choices=PoolEntry.Reason.choices, widget=forms.RadioSelect,
                               help_text=_("Special circumstances: results dipped for environment, cycle or "
                                           "other special factors. Diligence: worked hard and capably, but "
                                           "the results are still poor."))
    justification = text_field(PoolEntry, "justification", label=_("Justification"), required=True, widget=TEXT)
    period = forms.CharField(label=_("Period"), max_length=7, help_text=_("YYYY-MM, YYYY-Qn or YYYY"),
                             validators=[validate_period])

    def __init__(self, *args, rms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employee"].queryset = rms


class PoolReversalForm(AsciiDigitsMixin, forms.Form):
    entry = forms.IntegerField(widget=forms.HiddenInput)
    justification = text_field(PoolEntry, "justification", label=_("Why is it reversed"), required=False,
                               widget=TEXT)


class SchemeCopyForm(AsciiDigitsMixin, forms.Form):
    template = forms.ModelChoiceField(label=_("Head-office template"), queryset=None, to_field_name="code")
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, to_field_name="code")
    code = forms.CharField(label=_("Code of the branch's scheme"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)

    def __init__(self, *args, templates, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        self.fields["branch"].queryset = branches
