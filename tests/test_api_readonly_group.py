import pytest
from django.contrib.auth.models import Group

from rmportal.api.permissions import READ_ONLY_GROUP


@pytest.mark.django_db
def test_the_read_only_api_group_exists_after_migrating():
    # Admins only add accounts to it; nobody has to remember to create it first.
    assert Group.objects.filter(name=READ_ONLY_GROUP).exists()
