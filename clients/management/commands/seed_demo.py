"""``python manage.py seed_demo``: seed an empty database with the demo bank (clients/demo.py)."""
import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from clients import demo
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(_("“%(value)s” is not a month: use YYYY-MM.") % {"value": value}) from None


class Command(BaseCommand):
    help = ("Seed an empty database with a deterministic demo bank: two regions, six branches, their RMs "
            "and clients, monthly business, interactions and contributions, career histories with exits "
            "and hires, and the appraisal history with bonus and performance pool.")

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=demo.DEFAULT_CLIENTS,
                            help="Number of clients (default %(default)s).")
        parser.add_argument("--months", type=int, default=demo.DEFAULT_MONTHS,
                            help="Months of business data (default %(default)s).")
        parser.add_argument("--end-month", type=_month, default=None,
                            help="Last month of data, YYYY-MM (default: last month).")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                            help="Random seed (default %(default)s).")
        parser.add_argument("--password", default=demo.DEFAULT_PASSWORD,
                            help="Password of every demo log-in (default %(default)s).")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the database already holds a branch.")

    def handle(self, *args, **options):
        if options["if_empty"] and not demo.demo_database_is_empty():
            self.stdout.write(_("The database already holds data; nothing seeded."))
            return
        started = time.monotonic()
        try:
            bank = demo.demo_seed(clients=options["clients"], months=options["months"], seed=options["seed"],
                                  end_month=options["end_month"], password=options["password"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        dashboard_data_changed()
        counts = bank.counts
        self.stdout.write(self.style.SUCCESS(
            _("Seeded %(employees)s employees, %(clients)s clients, %(monthly)s monthly rows, "
              "%(interactions)s interactions and %(complaints)s complaints for %(first)s – %(last)s "
              "in %(seconds).1f s.") % {**counts, "first": f"{bank.months[0]:%Y-%m}",
                                        "last": f"{bank.months[-1]:%Y-%m}",
                                        "seconds": time.monotonic() - started}))
        if "appraisals" in counts:
            self.stdout.write(
                _("Careers: %(exits)s exits, %(hires)s hires, %(interviews)s career interviews. Performance: "
                  "%(appraisals)s appraisals, %(bonus_statements)s bonus statements, %(pool_entries)s pool "
                  "entries.") % counts)
        self.stdout.write(_("Demo log-ins:"))
        header = (_("Role"), _("User name"), _("Password"), _("Branch"))
        rows = [header] + [(login.role, login.username, login.password, login.branch) for login in bank.logins]
        widths = [max(_display_width(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            self.stdout.write("  ".join(_pad(cell, width) for cell, width in zip(row, widths)).rstrip())


def _display_width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in str(text))


def _pad(text: str, width: int) -> str:
    return str(text) + " " * (width - _display_width(text))
