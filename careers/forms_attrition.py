"""The attrition dashboard's filters. The choices offered are those the user may see (``restrict``);
the rules live in careers.attrition."""
from django import forms
from django.utils.translation import gettext_lazy as _

from careers.models import JobSequence
from clients.models import Branch, Region


class CodeChoiceField(forms.ModelChoiceField):
    """A choice by code, shown as "code name"."""

    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class AttritionFilterForm(forms.Form):
    period = forms.DateField(
        label=_("Period"), required=False, input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"}, format="%Y-%m"),
        help_text=_("YYYY-MM: the last of the 24 months shown (by default the last full month)."))
    region = CodeChoiceField(label=_("Region"), queryset=Region.objects.none(), to_field_name="code",
                             required=False, empty_label=_("All"))
    branch = CodeChoiceField(label=_("Branch"), queryset=Branch.objects.none(), to_field_name="code",
                             required=False, empty_label=_("All"))
    sequence = forms.ModelChoiceField(label=_("Job sequence"), queryset=JobSequence.objects.all(),
                                      to_field_name="code", required=False, empty_label=_("All"))

    # Fields whose refused value means "not yours to see": answered with 404, not a form error.
    SCOPED = ("region", "branch")

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels read exactly "Branch", "Region" …
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.restrict(user).distinct()
        self.fields["branch"].queryset = Branch.objects.restrict(user).select_related("region")

    def clean(self):
        data = super().clean()
        region, branch = data.get("region"), data.get("branch")
        if region is not None and branch is not None and branch.region_id != region.pk:
            self.add_error("branch", _("Branch %(branch)s is not in region %(region)s.")
                           % {"branch": branch.code, "region": region.code})
        return data

    def out_of_scope(self) -> bool:
        """A region or branch was asked for that the user may not see (or that does not exist)."""
        return any(name in self.errors and self.data.get(name)
                   and not self.fields[name].queryset.filter(code=self.data[name]).exists() for name in self.SCOPED)
