"""Request parsing: JSON numbers with a fraction become Decimal, never float (STYLE 6); a body
over DATA_UPLOAD_MAX_MEMORY_SIZE is refused with 413 before it is parsed."""
import codecs
import json
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from rmportal.validators import upload_too_large_message


class RequestTooLarge(APIException):
    """A request body or file over its limit: 413."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class DecimalJSONParser(JSONParser):
    """JSON whose numbers with a fraction are read as Decimal, so that amounts keep their digits;
    NaN and Infinity are refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        # DRF reads the request stream itself, which Django's limit on bodies does not cover.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise RequestTooLarge(upload_too_large_message(len(body), limit))
        try:
            return json.loads(codecs.decode(body, encoding), parse_float=Decimal,
                              parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(_("JSON parse error: %(error)s") % {"error": exc}) from None


def _refuse_constant(name):
    raise ValueError(_("%(name)s is not a number") % {"name": name})
