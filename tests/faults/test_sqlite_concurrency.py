"""The embedded default (SQLite, `make run`: web, worker and beat on one file) never answers
"database is locked": writers take the lock when their transaction begins and wait for it.

Runs in a subprocess with DATABASE_URL pointing at a SQLite file (the suite itself runs on
PostgreSQL): several threads each read then write in one transaction, the pattern that fails at
once in SQLite's default (deferred) mode when another writer holds the lock.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

WRITERS = 6
TRANSACTIONS = 25

SCRIPT = f"""
import json, threading, time
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
call_command("migrate", "clients", verbosity=0)
from clients.models import Region
errors = []
start = threading.Barrier({WRITERS})

def writer(n):
    start.wait()
    try:
        for i in range({TRANSACTIONS}):
            with transaction.atomic():
                seen = Region.objects.count()  # a read first, then the write
                time.sleep(0.002)
                Region.objects.create(code=f"T{{n}}-{{i}}", name=str(seen))
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=writer, args=(n,)) for n in range({WRITERS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    mode = cursor.fetchone()[0]
print(json.dumps({{"errors": errors, "rows": Region.objects.count(), "journal_mode": mode,
                  "options": settings.DATABASES["default"]["OPTIONS"]}}))
"""


def test_concurrent_writers_on_the_sqlite_default_never_meet_a_locked_database(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"CI", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="rmportal.settings.base", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
               RMPORTAL_VAR_DIR=str(tmp_path / "var"), DB_CONN_MAX_AGE="0")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=Path(settings.BASE_DIR), env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == []
    assert outcome["rows"] == WRITERS * TRANSACTIONS
    assert outcome["journal_mode"] == "wal"
    assert outcome["options"]["transaction_mode"] == "IMMEDIATE"
