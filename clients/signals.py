"""Signals other apps listen to; sent by the services and imports that change business data.

``business_data_changed`` (months: list of first days) is sent after the transaction that changed
a month's business data, parameters or call-backs has committed, so that appraisals not yet
approved are recomputed with the late data (DOMAIN 3.3).
"""
from django.db import transaction
from django.dispatch import Signal

business_data_changed = Signal()


def announce_business_data_changed(months) -> None:
    months = sorted(set(months))
    if months:
        transaction.on_commit(lambda: business_data_changed.send(sender=None, months=months))
