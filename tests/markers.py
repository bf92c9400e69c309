import pytest
from django.db import connection

# Row locks and concurrency need PostgreSQL; CI always runs there (rmportal/settings/test.py
# refuses anything else in CI), SQLite only serves a zero-setup local run.
requires_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                         reason="needs PostgreSQL row locks")
