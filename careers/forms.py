"""Forms of the career pages. They check input types only; the rules live in careers.services."""
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careers.models import CareerGoal, CareerInterview, CertificateType, Exit, Level, LevelChange
from rmportal.forms import AsciiDigitsMixin, text_field
from rmportal.validators import validate_past_date, validate_plausible_date

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})


class LevelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.sequence.name} · {obj.rank} {obj.name}"


class JobSequenceForm(AsciiDigitsMixin, forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30,
                           help_text=_("The code the levels import uses; it cannot change later."))
    name = forms.CharField(label=_("Name"), max_length=100)
    interview_interval_months = forms.IntegerField(label=_("Career interview every (months)"), min_value=1,
                                                   max_value=60, initial=6)
    norm_months_at_level = forms.IntegerField(label=_("Usual months at a level"), min_value=0, max_value=600,
                                              initial=36)
    norm_book_size = forms.IntegerField(label=_("Usual book size (clients)"), min_value=0, initial=150)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True


class LevelForm(AsciiDigitsMixin, forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30,
                           help_text=_("The code the levels import uses; it cannot change later."))
    name = forms.CharField(label=_("Name"), max_length=100)
    rank = forms.IntegerField(label=_("Rank"), min_value=1, max_value=32766,
                              help_text=_("Higher ranks are higher levels; unique within the sequence."))
    bonus_coefficient = forms.DecimalField(label=_("Bonus coefficient"), max_digits=6, decimal_places=3,
                                           initial="1.000")
    min_months_at_level = forms.IntegerField(label=_("Months at the level"), min_value=0, max_value=600,
                                             initial=24)
    good_grades_required = forms.IntegerField(label=_("Good-or-better annual grades"), min_value=0,
                                              max_value=20, initial=2)
    good_grades_window = forms.IntegerField(label=_("Within the last N years"), min_value=0, max_value=20,
                                            initial=3)
    required_certificates = forms.ModelMultipleChoiceField(
        label=_("Required certificates"), queryset=CertificateType.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple)
    training_hours_per_year = forms.IntegerField(label=_("Training hours per year"), min_value=0,
                                                 max_value=2000, initial=40)
    min_book_size = forms.IntegerField(label=_("Book size (clients)"), min_value=0, initial=0)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True

    @staticmethod
    def initial_for(level: Level) -> dict:
        return {name: getattr(level, name) for name in (
            "code", "name", "rank", "bonus_coefficient", "min_months_at_level", "good_grades_required",
            "good_grades_window", "training_hours_per_year", "min_book_size")} | {
            "required_certificates": list(level.required_certificates.all())}


class CertificateTypeForm(AsciiDigitsMixin, forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)


class CertificateForm(AsciiDigitsMixin, forms.Form):
    certificate_type = forms.ModelChoiceField(label=_("Certificate"), queryset=CertificateType.objects.all())
    obtained_on = forms.DateField(label=_("Obtained on"), widget=DATE, validators=[validate_past_date])
    expires_on = forms.DateField(label=_("Expires on"), widget=DATE, required=False,
                                 help_text=_("Leave empty if it does not expire."))
    number = forms.CharField(label=_("Certificate number"), max_length=60, required=False)


class TrainingForm(AsciiDigitsMixin, forms.Form):
    title = forms.CharField(label=_("Course"), max_length=200)
    completed_on = forms.DateField(label=_("Completed on"), widget=DATE, initial=timezone.localdate,
                                   validators=[validate_past_date])
    hours = forms.DecimalField(label=_("Hours"), max_digits=6, decimal_places=1)


class CommendationForm(AsciiDigitsMixin, forms.Form):
    title = forms.CharField(label=_("Commendation"), max_length=200)
    awarded_on = forms.DateField(label=_("Awarded on"), widget=DATE, initial=timezone.localdate,
                                 validators=[validate_past_date])
    awarded_by = forms.CharField(label=_("Awarded by"), max_length=100, required=False)


class CareerGoalForm(AsciiDigitsMixin, forms.Form):
    target_level = LevelChoiceField(label=_("Target level"), queryset=None)
    target_date = forms.DateField(label=_("Target date"), widget=DATE, validators=[validate_plausible_date])
    actions = text_field(CareerGoal, "actions", label=_("Actions"), widget=TEXT, required=False,
                              help_text=_("What the employee and the bank will do to get there."))

    def __init__(self, *args, levels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_level"].queryset = levels


class GoalStatusForm(AsciiDigitsMixin, forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=CareerGoal.Status.choices)


class LevelChangeForm(AsciiDigitsMixin, forms.Form):
    KINDS = [(k, label) for k, label in LevelChange.Kind.choices if k != LevelChange.Kind.EXIT]

    kind = forms.ChoiceField(label=_("Change"), choices=KINDS)
    to_level = LevelChoiceField(label=_("New level"), queryset=None, required=False,
                                help_text=_("For a transfer within the same sequence, leave empty."))
    to_branch = forms.ModelChoiceField(label=_("New branch (transfer)"), queryset=None, required=False,
                                       to_field_name="code")
    effective_on = forms.DateField(label=_("Effective on"), widget=DATE, initial=timezone.localdate,
                                   validators=[validate_past_date],
                                   help_text=_("The new level's bonus coefficient applies from this day."))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, levels, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_level"].queryset = levels
        self.fields["to_branch"].queryset = branches


class InterviewScheduleForm(AsciiDigitsMixin, forms.Form):
    scheduled_on = forms.DateField(label=_("Interview date"), widget=DATE, validators=[validate_plausible_date])


class InterviewRecordForm(AsciiDigitsMixin, forms.Form):
    held_on = forms.DateField(label=_("Held on"), widget=DATE, initial=timezone.localdate,
                              validators=[validate_past_date])
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—")] + CareerInterview.Outcome.choices)
    notes = text_field(CareerInterview, "notes", label=_("Notes"), widget=TEXT, required=False)
    revised_goals = text_field(CareerInterview, "revised_goals", label=_("Revised goals"), widget=TEXT,
                               required=False)


class ExitDetailsForm(AsciiDigitsMixin, forms.Form):
    voluntary = forms.BooleanField(label=_("Left voluntarily"), required=False, initial=True)
    reason = forms.ChoiceField(label=_("Main reason"), choices=[("", "—")] + Exit.Reason.choices)
    destination = forms.CharField(label=_("Destination"), max_length=200, required=False,
                                  help_text=_("Where the employee goes, e.g. another bank."))
    interview_notes = text_field(Exit, "interview_notes", label=_("Exit-interview notes"), widget=TEXT,
                                 required=False)


class ExitOpenForm(ExitDetailsForm):
    exit_on = forms.DateField(label=_("Exit date"), widget=DATE, validators=[validate_plausible_date],
                              help_text=_("The last working day; the exit is completed from that day on."))

    field_order = ["exit_on", "voluntary", "reason", "destination", "interview_notes"]
