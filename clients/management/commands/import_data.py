"""``python manage.py import_data KIND FILE`` (DOMAIN 6): all rows of the file or none.

The file upserts by the kind's business key; ``--replace`` also deletes what the file lacks in
its branches (and months); ``--dry-run`` prints the preview and stores nothing; a replace that
deletes more than 5 % of a branch-month's rows needs ``--confirm-delete``; ``--undo BATCH``
undoes a recorded import batch.
"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from rmportal.errors import ApplicationError
from rmportal.import_batches import import_batch_undo
from rmportal.importing import (DELETE_CONFIRM_SHARE, DeletionNotConfirmed, ImportRejected, ImportResult,
                                importer_kinds, run_import)
from rmportal.validators import upload_too_large_message


class Command(BaseCommand):
    help = ("Import a CSV (UTF-8) or XLSX file of the given kind, adding and updating rows by their key; "
            "a bad row rejects the whole file. --replace also deletes what the file lacks in its branches "
            "and months; --dry-run only previews; --undo BATCH undoes an import.")

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=sorted(importer_kinds()), help="what the file holds")
        parser.add_argument("file", nargs="?", type=Path, help="the CSV or XLSX file")
        parser.add_argument("--replace", action="store_true",
                            help="also delete the stored rows of the file's branches (and months) that the file lacks")
        parser.add_argument("--dry-run", action="store_true",
                            help="print what the import would create, update and delete, and store nothing")
        parser.add_argument("--confirm-delete", action="store_true",
                            help="go ahead with a replace that deletes more than 5 %% of a branch-month's rows")
        parser.add_argument("--undo", type=int, metavar="BATCH", help="undo the import batch with this number")

    def handle(self, *args, kind: str | None, file: Path | None, replace: bool, dry_run: bool,
               confirm_delete: bool, undo: int | None, **options):
        if undo is not None:
            if kind or file:
                raise CommandError(_("--undo takes no kind and no file."))
            try:
                batch = import_batch_undo(batch_id=undo)
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
            except Exception as exc:  # ImportBatch.DoesNotExist
                if exc.__class__.__name__ == "DoesNotExist":
                    raise CommandError(_("There is no import batch %(batch)d.") % {"batch": undo}) from None
                raise
            self.stdout.write(_("Batch %(batch)d undone (recorded as batch %(undo)d): %(created)d rows restored, "
                                "%(updated)d rows put back, %(deleted)d rows removed.") % {
                "batch": undo, "undo": batch.pk, "created": batch.created, "updated": batch.updated,
                "deleted": batch.deleted})
            return
        if not kind or not file:
            raise CommandError(_("Give the kind and the file, or --undo BATCH."))
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
                result = run_import(kind, handle, filename=file.name, replace=replace, dry_run=dry_run,
                                    confirm_delete=confirm_delete)
            except ImportRejected as exc:
                for error in exc.errors:
                    self.stderr.write(str(error))
                if exc.truncated:
                    self.stderr.write(_("… and more errors not listed."))
                raise CommandError(exc.message) from None
            except DeletionNotConfirmed as exc:
                self._preview(exc.result)
                raise CommandError(exc.message + " " + _("Run again with --confirm-delete.")) from None
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
        if dry_run:
            self.stdout.write(_("Dry run: nothing was stored."))
            self._preview(result)
            if result.risky_groups:
                self.stdout.write(_("Storing it would need --confirm-delete: more than %(share)d %% of some "
                                    "branch-month's rows would be deleted.") % {
                    "share": int(DELETE_CONFIRM_SHARE * 100)})
            return
        for line in result.lines():
            self.stdout.write(line)
        self.stdout.write(_("Recorded as batch %(batch)d; undo it with import_data --undo %(batch)d.")
                          % {"batch": result.batch_id})

    def _preview(self, result: ImportResult) -> None:
        """The figures per branch and month, as a table."""
        heads = [_("branch"), _("month"), _("create"), _("update"), _("unchanged"), _("delete"), _("stored")]
        rows = [[group["branch"] or "—", group["month"] or "—", *(str(group[name]) for name in (
            "created", "updated", "unchanged", "deleted", "stored"))] for group in result.groups]
        rows.append([_("total"), "", str(result.created), str(result.updated), str(result.unchanged),
                     str(result.deleted), ""])
        widths = [max(len(row[at]) for row in [heads, *rows]) for at in range(len(heads))]
        for row in [heads, *rows]:
            self.stdout.write("  ".join(cell.ljust(width) if at < 2 else cell.rjust(width)
                                        for at, (cell, width) in enumerate(zip(row, widths))).rstrip())
