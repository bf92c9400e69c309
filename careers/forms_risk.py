"""Forms of the retention-risk pages. They check input types only; the rules live in careers.risk."""
from django import forms
from django.utils.translation import gettext_lazy as _

from careers.forms import DATE, TEXT
from careers.models import RiskAlert
from careers.risk import FACTOR_LABELS, FACTORS
from rmportal.forms import AsciiDigitsMixin, text_field


def _points(label, help_text=""):
    return forms.DecimalField(label=label, max_digits=5, decimal_places=2, min_value=0, max_value=100,
                              help_text=help_text)


class RiskSettingsForm(AsciiDigitsMixin, forms.Form):
    """HR's weights (adding up to 100) and thresholds of the score (DOMAIN 5)."""

    medium_from = _points(_("Medium band from"), _("A score at or above this is medium."))
    high_from = _points(_("High band from"), _("A score at or above this is high and opens an alert."))
    rise_alert = _points(_("Alert on a monthly rise of"), _("Points gained since the month before that open an "
                                                            "alert."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        weights = {f"weight_{name}": _points(FACTOR_LABELS[name]) for name in FACTORS}
        # The weights come first, in the order of the factors.
        self.fields = {**weights, **self.fields}

    @staticmethod
    def initial_for(settings) -> dict:
        names = [f"weight_{name}" for name in FACTORS] + ["medium_from", "high_from", "rise_alert"]
        return {name: getattr(settings, name) for name in names}


class AlertSnoozeForm(AsciiDigitsMixin, forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=DATE)


class AlertResolveForm(AsciiDigitsMixin, forms.Form):
    note = text_field(RiskAlert, "action_note", label=_("What was done"), widget=TEXT, required=True)
