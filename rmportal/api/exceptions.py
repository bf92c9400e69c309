"""One JSON shape for every API error: {"detail": ..., "errors": {...}}.

``detail`` is a sentence for people; ``errors`` holds the particulars a program acts on: the
fields of invalid input, the extra data of a broken business rule, and for a rejected import
``{"rows": [{"row", "column", "reason"}, …], "truncated": bool}``. A file or body over its
size limit is answered 413.
"""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from rmportal.errors import ApplicationError, UploadTooLarge
from rmportal.importing import ImportRejected


def exception_handler(exc, context):
    if isinstance(exc, ImportRejected):
        return Response({"detail": str(exc.message),
                         "errors": {"rows": exc.extra["errors"], "truncated": exc.extra["truncated"]}},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE; the API says so in its own shape.
        return Response({"detail": _("The request body is over the %(limit)s allowed; send the rows as a file.")
                         % {"limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, "errors": {}},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, UploadTooLarge):
        return Response({"detail": str(exc.message), "errors": {"file": [str(exc.message)]}},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, ApplicationError):
        return Response({"detail": str(exc.message), "errors": exc.extra},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _("Invalid input."),
                         "errors": data if isinstance(data, dict) else {"non_field_errors": data}}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": data["detail"], "errors": {}}
    return response
