"""OpenAPI schema generation: every operation documents the one error shape (STYLE 9)."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("What went wrong, in a sentence."))
    errors = serializers.DictField(
        help_text=_("Particulars: invalid fields and their messages, the data of a broken rule, or for a "
                    "rejected import {\"rows\": [{\"row\", \"column\", \"reason\"}], \"truncated\"}."))

    class Meta:
        ref_name = "Error"


ERROR_RESPONSES = {
    "400": _("Invalid input, such as a filter value, or a broken business rule."),
    "401": _("No credentials, or credentials that are not valid."),
    "403": _("The user's role may not do this, or the account may only read."),
    "404": _("No such object among those the user may see."),
    "429": _("Too many requests for this token; retry after the time in Retry-After."),
}


class AutoSchema(openapi.AutoSchema):
    """Adds the error responses to every operation; 403 only where a role or a read-only
    account can be refused, that is for the methods that change data."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in ERROR_RESPONSES.items():
            if code == "403" and self.method in SAFE_METHODS:
                continue
            responses.setdefault(code, self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=str(description)), code, direction=direction))
        return responses


def read_only_docs(*, tag: str, list_summary, retrieve_summary, description="", lookup=None, examples=()):
    """``extend_schema_view`` for a read-only viewset: summaries of its list and retrieve operations,
    a tag grouping them, and how the object is looked up."""
    retrieve_parameters = []
    if lookup is not None:
        name, text = lookup
        retrieve_parameters.append(OpenApiParameter(name, str, OpenApiParameter.PATH, description=text))
    return extend_schema_view(
        list=extend_schema(summary=list_summary, description=description, tags=[tag]),
        retrieve=extend_schema(summary=retrieve_summary, description=description, tags=[tag],
                               parameters=retrieve_parameters, examples=list(examples)),
    )
