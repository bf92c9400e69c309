"""``python manage.py import_data KIND FILE`` (DOMAIN 6): all rows of the file or none."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from rmportal.errors import ApplicationError
from rmportal.importing import ImportRejected, importer_kinds, run_import
from rmportal.validators import upload_too_large_message


class Command(BaseCommand):
    help = "Import a CSV (UTF-8) or XLSX file of the given kind; a bad row rejects the whole file."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(importer_kinds()), help="what the file holds")
        parser.add_argument("file", type=Path, help="the CSV or XLSX file")

    def handle(self, *args, kind: str, file: Path, **options):
        try:
            handle = file.open("rb")
            size = file.stat().st_size
        except OSError as exc:
            raise CommandError(_("Cannot open %(file)s: %(error)s") % {"file": file, "error": exc.strerror})
        if size > settings.IMPORT_MAX_UPLOAD_BYTES:
            handle.close()
            raise CommandError(upload_too_large_message(size, settings.IMPORT_MAX_UPLOAD_BYTES))
        with handle:
            try:
                result = run_import(kind, handle, filename=file.name)
            except ImportRejected as exc:
                for error in exc.errors:
                    self.stderr.write(str(error))
                if exc.truncated:
                    self.stderr.write(_("… and more errors not listed."))
                raise CommandError(exc.message) from None
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
        for line in result.lines():
            self.stdout.write(line)
