from django.core.management.base import BaseCommand, CommandError

from performance.appraisals import appraisal_run
from rmportal.errors import ApplicationError


class Command(BaseCommand):
    help = "Compute (or recompute) the appraisals of a period: YYYY-MM, YYYY-Qn or YYYY."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True)
        parser.add_argument("--branch", help="branch code; all branches when omitted")

    def handle(self, *args, period, branch=None, **options):
        try:
            result = appraisal_run(period=period, branch_code=branch)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            f"{result.period}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.frozen} approved and kept ({', '.join(result.schemes)})")
