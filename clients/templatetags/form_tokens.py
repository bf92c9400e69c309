"""``{% form_token %}``: the one-time token of a form that must be done once (rmportal.form_tokens)."""
from django.template import Library
from django.utils.html import format_html

from rmportal.form_tokens import FIELD, form_token_new

register = Library()


@register.simple_tag
def form_token():
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, form_token_new())
