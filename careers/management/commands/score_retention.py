from django.core.management.base import BaseCommand, CommandError

from careers.notices import risk_alert_notices_send
from careers.risk import risk_scores_compute
from rmportal.celery import job_lock
from rmportal.errors import ApplicationError


class Command(BaseCommand):
    help = "Compute (or recompute) the retention-risk scores of a month (YYYY-MM) and open the alerts they trigger."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--branch", help="branch code; all branches when omitted")

    def handle(self, *args, month, branch=None, **options):
        try:
            with job_lock(f"retention:{month}:{branch or '*'}"):
                result = risk_scores_compute(month=month, branch_code=branch)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        mailed = risk_alert_notices_send(alert_ids=result.alert_ids)
        self.stdout.write(f"{result.month}{f' {branch}' if branch else ''}: {result.scored} scored, "
                          f"{result.removed} removed, {len(result.alert_ids)} alerts opened, {mailed} e-mailed")
