"""API over regions, branches, employees, clients and their stored contributions (DOMAIN 1, 2)."""
from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from careers.filtersets import EmployeeFilterSet
from clients import selectors
from clients.api import serializers
from clients.contribution import contribution_components
from clients.filtersets import BranchFilterSet, ClientFilterSet
from clients.models import Assignment, Branch, ClientContribution, Employee, Region
from rmportal.api.schema import read_only_docs
from rmportal.api.viewsets import BusinessKeyLookupMixin, RestrictedReadOnlyViewSet

ORGANISATION = "organisation"
CLIENTS = "clients"


@read_only_docs(tag=ORGANISATION, list_summary=_("List regions"), retrieve_summary=_("Get a region"),
                description=_("The regions whose branches the user may see."),
                lookup=("code", _("Region code (or the region's id).")))
class RegionViewSet(BusinessKeyLookupMixin, RestrictedReadOnlyViewSet):
    queryset = Region.objects.order_by("code")
    serializer_class = serializers.RegionSerializer
    lookup_field = "code"


@read_only_docs(tag=ORGANISATION, list_summary=_("List branches"), retrieve_summary=_("Get a branch"),
                description=_("The branches the user may see. Filter by region (code)."),
                lookup=("code", _("Branch code (or the branch's id).")))
class BranchViewSet(BusinessKeyLookupMixin, RestrictedReadOnlyViewSet):
    queryset = Branch.objects.select_related("region").order_by("code")
    serializer_class = serializers.BranchSerializer
    filterset_class = BranchFilterSet
    lookup_field = "code"


@read_only_docs(tag=ORGANISATION, list_summary=_("List employees"), retrieve_summary=_("Get an employee"),
                description=_("Employees the user may see (an RM: only themselves), with role, status and level. "
                              "Filter by q (number or name), branch, region, role, job sequence and status."),
                lookup=("employee_no", _("Employee number (or the employee's id).")))
class EmployeeViewSet(BusinessKeyLookupMixin, RestrictedReadOnlyViewSet):
    queryset = Employee.objects.select_related("branch", "level__sequence").order_by("employee_no")
    serializer_class = serializers.EmployeeSerializer
    filterset_class = EmployeeFilterSet
    lookup_field = "employee_no"


CONTRIBUTION_EXAMPLES = [
    OpenApiExample("method-3", summary=_("Method 3, profit contribution"), response_only=True, value={
        "client_no": "C0000001", "month": "2026-01", "method": 3, "loan": "1130.00", "deposit": "523.33",
        "wm": "798.00", "card": "205.00", "total": "2656.33"}),
    OpenApiExample("method-4", summary=_("Method 4, EVA"), response_only=True, value={
        "client_no": "C0000001", "month": "2026-01", "method": 4, "loan": "80.00", "deposit": "523.33",
        "wm": "798.00", "card": "205.00", "total": "1606.33", "capital_charge": "1050.00"}),
]


@extend_schema_view(
    list=extend_schema(
        summary=_("List clients"), tags=[CLIENTS],
        description=_("Clients the user may see (an RM: their book), each with the RM responsible now and the "
                      "history of assignments. Filter by q (number or name), segment, client_type, status, "
                      "branch and rm (employee number of the RM responsible now).")),
    retrieve=extend_schema(
        summary=_("Get a client"), tags=[CLIENTS],
        description=_("One client with the history of who was responsible for it."),
        parameters=[OpenApiParameter("client_no", str, OpenApiParameter.PATH,
                                     description=_("Client number (or the client's id)."))]),
    contribution=extend_schema(
        summary=_("Get a client's contribution of a month"), tags=[CLIENTS],
        description=_("The stored contribution of the client in a month under one valuation method (DOMAIN "
                      "2.2), by product line, as decimal strings; method 4 adds the capital charge. The figures "
                      "are those the client page shows. 404 when nothing is stored for that month."),
        parameters=[serializers.ContributionQuerySerializer,
                    OpenApiParameter("client_no", str, OpenApiParameter.PATH,
                                     description=_("Client number (or the client's id)."))],
        responses={200: serializers.ContributionSerializer}, examples=CONTRIBUTION_EXAMPLES),
)
class ClientViewSet(BusinessKeyLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ClientSerializer
    filterset_class = ClientFilterSet
    lookup_field = "client_no"

    def get_queryset(self):
        user = self.request.user
        assignments = Assignment.objects.restrict(user).select_related("rm").order_by("started_on", "id")
        return (selectors.clients_for_view(user=user).order_by("client_no")
                .prefetch_related(Prefetch("assignments", queryset=assignments)))

    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def contribution(self, request, client_no=None):
        client = self.get_object()
        query = serializers.ContributionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        month, method = query.validated_data["month"], query.validated_data["method"]
        row = ClientContribution.objects.restrict(request.user).filter(client=client, month=month).first()
        if row is None:
            raise Http404
        figures = contribution_components(row, method)
        return Response(serializers.ContributionSerializer(
            {"client_no": client.client_no, "month": month, "method": method, **figures}).data)
