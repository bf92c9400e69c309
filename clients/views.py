from django.views.generic import DetailView, ListView

from clients.models import Branch, Employee
from rmportal.views import RestrictedMixin


class BranchListView(RestrictedMixin, ListView):
    model = Branch


class RMBookView(RestrictedMixin, DetailView):
    model = Employee
    slug_field = "employee_no"
    slug_url_kwarg = "employee_no"
