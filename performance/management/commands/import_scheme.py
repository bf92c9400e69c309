from django.core.management.base import BaseCommand, CommandError

from performance.schemes import scheme_import_file
from rmportal.errors import ApplicationError


class Command(BaseCommand):
    help = "Load an appraisal scheme from a JSON file (replaces the scheme with the same code)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            scheme = scheme_import_file(path=file)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stdout.write(f"{scheme.code}: {scheme.indicators.count()} indicators")
