"""The group whose members may only read through the API (rmportal/api/permissions.py)."""
from django.db import migrations

READ_ONLY_GROUP = "api-readonly"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=READ_ONLY_GROUP)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=READ_ONLY_GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("clients", "0004_dashboards_statements_imports"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
