"""Import batches (DOMAIN 6): what each import stored, and undoing it.

Every import that stores is recorded by ``run_import`` as an ``ImportBatch`` with, in its rows,
the before-image of each row it updated or deleted and the key of each row it created. Undoing a
batch puts those rows back exactly — deleted rows re-inserted with their values and keys, updated
rows restored, created rows deleted — recomputes what depends on them (the kind's
``after_undo``: contributions, books and the appraisals not yet approved) and is recorded as a
batch of its own, whose rows hold the state the undo replaced.

An undo is refused, with the reason, when the batch was undone already or is itself an undo,
when a later batch (not itself undone) touched the same rows, when the kind finds a row the
batch created now in use by data that did not come from it (a new client since given monthly
data, a new employee since given clients or logged in), or when an approved appraisal used the
batch's months at its branches: approved figures are frozen (DOMAIN 3.3).
"""
from __future__ import annotations

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, ProtectedError, QuerySet, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import ImportBatch, ImportBatchRow
from performance.models import Appraisal
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError
from rmportal.importing import CREATED, DELETED, UPDATED, batch_rows_record, chunks, importer_for

Action = ImportBatchRow.Action


# --- reads ------------------------------------------------------------------------------------

def import_batches(user) -> QuerySet[ImportBatch]:
    """The batches the user may see, newest first (HR: every batch, bank-wide)."""
    return (ImportBatch.objects.restrict(user).select_related("created_by", "undo_of", "job")
            .order_by("-created_at", "-pk"))


def _periods_of(keys: list[str]) -> set[str]:
    """The appraisal periods (month, quarter, year) that overlap the batch's months or periods
    ("YYYY-MM", "YYYY-Qn", "YYYY")."""
    months = set()
    for key in keys:
        year = key[:4]
        if len(key) == 4:
            months |= {f"{year}-{number:02d}" for number in range(1, 13)}
        elif key[5] == "Q":
            quarter = int(key[6])
            months |= {f"{year}-{number:02d}" for number in range(quarter * 3 - 2, quarter * 3 + 1)}
        else:
            months.add(key)
    periods = set()
    for month in months:
        year, number = month[:4], int(month[5:7])
        periods |= {month, f"{year}-Q{(number - 1) // 3 + 1}", year}
    return periods


def import_batch_undo_problem(batch: ImportBatch) -> str | None:
    """Why ``batch`` cannot be undone, or None when it can."""
    if batch.mode == ImportBatch.Mode.UNDO:
        return _("This batch is an undo; import the file again instead of undoing the undo.")
    undone = ImportBatch.objects.filter(undo_of=batch).first()
    if undone is not None:
        return _("This import was undone already (batch %(batch)d).") % {"batch": undone.pk}
    try:
        importer = importer_for(batch.kind)
    except ApplicationError:
        importer = None
    if importer is None or not importer.undoable:
        return _("Imports of %(kind)s cannot be undone; import a corrected file instead.") % {"kind": batch.kind}
    later = (ImportBatchRow.objects
             .filter(batch_id__gt=batch.pk, batch__undo_of__isnull=True, batch__undone_by__isnull=True)
             .filter(Exists(ImportBatchRow.objects.filter(batch_id=batch.pk, model=OuterRef("model"),
                                                          object_pk=OuterRef("object_pk"))))
             .values_list("batch_id", flat=True).order_by("batch_id").first())
    if later is not None:
        return _("A later import (batch %(batch)d) changed the same rows; undo that one first.") % {"batch": later}
    problem = importer.undo_problem(batch=batch)
    if problem:
        return problem
    months, branches = importer.undo_reach(batch=batch)
    if months:
        approved = Appraisal.objects.filter(period__in=_periods_of(months), state__in=Appraisal.FROZEN)
        if branches and "*" not in branches:  # "*": a bank-wide parameter, every branch
            approved = approved.filter(branch__code__in=branches)
        appraisal = approved.select_related("branch").order_by("period", "pk").first()
        if appraisal is not None:
            return _("An appraisal of %(period)s at branch %(branch)s that used these months has been approved; "
                     "its figures are frozen.") % {"period": appraisal.period, "branch": appraisal.branch.code}
    return None


# --- writes -----------------------------------------------------------------------------------

@transaction.atomic
def import_batch_undo(*, batch_id: int, user=None) -> ImportBatch:
    """Undoes the import batch ``batch_id`` (DOMAIN 6): its rows come back exactly as they were
    before it, the kind recomputes what depends on them, and the undo is recorded as a batch of
    its own (returned). Raises ApplicationError with the reason when it cannot be undone."""
    batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
    problem = import_batch_undo_problem(batch)
    if problem:
        raise ApplicationError(problem)
    undo = ImportBatch.objects.create(
        kind=batch.kind, filename=batch.filename, mode=ImportBatch.Mode.UNDO, undo_of=batch,
        created_by=user if getattr(user, "pk", None) else None, months=batch.months, branches=batch.branches)
    labels = list(ImportBatchRow.objects.filter(batch=batch).values("model").distinct()
                  .order_by("model").values_list("model", flat=True))
    # Rows of several tables may depend on each other: remove created rows last table first and
    # put deleted rows back first table first (tables in the order the batch first recorded them).
    first_seen = {label: ImportBatchRow.objects.filter(batch=batch, model=label).order_by("pk")
                  .values_list("pk", flat=True).first() for label in labels}
    models = [apps.get_model(label) for label in sorted(labels, key=first_seen.get)]
    counts = dict.fromkeys((CREATED, UPDATED, DELETED), 0)
    for model in models:
        # The undo's own rows: what it is about to change, as it stands now.
        label = model._meta.label_lower
        for action, undo_action in ((CREATED, DELETED), (UPDATED, UPDATED), (DELETED, CREATED)):
            if undo_action == CREATED:
                continue  # recorded after the rows are back
            pks = ImportBatchRow.objects.filter(batch=batch, model=label, action=action).values("object_pk")
            if connection.vendor == "postgresql":
                sql, params = pks.query.sql_with_params()
                batch_rows_record(batch_id=undo.pk, model=model, action=undo_action, pk_sql=sql, params=params)
            else:
                batch_rows_record(batch_id=undo.pk, model=model, action=undo_action,
                                  pks=list(pks.values_list("object_pk", flat=True)))
    importer = importer_for(batch.kind)
    importer.undo_prepare(batch=batch)
    try:
        with transaction.atomic():
            if importer.undo_restores_first:
                for model in models:
                    counts[UPDATED] += _restore(batch, model, Action.UPDATED)
            for model in reversed(models):
                counts[DELETED] += _delete_created(batch, model)
            for model in models:
                if not importer.undo_restores_first:
                    counts[UPDATED] += _restore(batch, model, Action.UPDATED)
                counts[CREATED] += _restore(batch, model, Action.DELETED)
                label = model._meta.label_lower
                pks = ImportBatchRow.objects.filter(batch=batch, model=label, action=DELETED).values("object_pk")
                batch_rows_record(batch_id=undo.pk, model=model, action=CREATED,
                                  pks=list(pks.values_list("object_pk", flat=True)))
            if connection.vendor == "postgresql":
                # Foreign keys are checked at commit: check them here, where a clash can be told.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    except (IntegrityError, ProtectedError, RestrictedError):
        raise ApplicationError(_("The rows cannot be put back as they were: data stored since the import "
                                 "depends on them. Import a corrected file instead.")) from None
    for model in models:
        _history_write(batch, undo, model, user)
    undo.created, undo.updated, undo.deleted = counts[CREATED], counts[UPDATED], counts[DELETED]
    undo.groups = [{**group, CREATED: group[DELETED], DELETED: group[CREATED], "stored": 0}
                   for group in batch.groups]
    undo.save()

    importer.after_undo(batch=batch)
    transaction.on_commit(dashboard_data_changed)
    return undo


def _history_write(batch: ImportBatch, undo: ImportBatch, model, user) -> None:
    """Audit history (django-simple-history) of the rows the undo changed, for the models that
    keep it: the undo writes through SQL, past the ORM's history hooks."""
    manager_name = getattr(model._meta, "simple_history_manager_attribute", None)
    if manager_name is None:
        return
    History = getattr(model, manager_name).model
    label, fields = model._meta.label_lower, model._meta.concrete_fields
    reason = _("Undo of import batch %(batch)d") % {"batch": batch.pk}
    now = timezone.now()
    records = []

    def record(values: dict, history_type: str) -> None:
        records.append(History(**values, history_type=history_type, history_date=now,
                               history_user_id=getattr(user, "pk", None), history_change_reason=reason))

    for action, history_type in ((Action.UPDATED, "~"), (Action.DELETED, "+")):
        pks = ImportBatchRow.objects.filter(batch=batch, model=label, action=action).values("object_pk")
        for obj in model._base_manager.filter(pk__in=pks):
            record({f.attname: getattr(obj, f.attname) for f in fields}, history_type)
    # The rows the undo removed: their last state is the undo's own before-image.
    for before in ImportBatchRow.objects.filter(batch=undo, model=label, action=Action.DELETED).values_list(
            "before", flat=True):
        record({f.attname: f.to_python(before[f.column]) for f in fields}, "-")
    History.objects.bulk_create(records, batch_size=2000)


def _delete_created(batch: ImportBatch, model) -> int:
    created = ImportBatchRow.objects.filter(batch=batch, model=model._meta.label_lower, action=Action.CREATED)
    # Rows others point at go through the ORM, which deletes what depends on them first.
    if connection.vendor == "postgresql" and not model._meta.related_objects:
        quote = connection.ops.quote_name
        sql, params = created.values("object_pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} "
                           f"WHERE {quote(model._meta.pk.column)} IN ({sql})", params)
            return cursor.rowcount
    deleted = 0
    for chunk in chunks(created.values_list("object_pk", flat=True)):
        deleted += model._base_manager.filter(pk__in=chunk).delete()[1].get(model._meta.label, 0)
    return deleted


def _restore(batch: ImportBatch, model, action: str) -> int:
    """Puts the before-images of ``batch``'s ``action`` rows back: updates them in place
    (``updated``) or inserts them again with their keys (``deleted``)."""
    images = ImportBatchRow.objects.filter(batch=batch, model=model._meta.label_lower, action=action)
    fields = model._meta.concrete_fields
    pk = model._meta.pk
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        sql, params = images.values("before").query.sql_with_params()
        rows = f"(SELECT (jsonb_populate_record(NULL::{table}, r.before)).* FROM ({sql}) r)"
        with connection.cursor() as cursor:
            if action == Action.UPDATED:
                assignments = ", ".join(f"{quote(f.column)} = b.{quote(f.column)}" for f in fields if f is not pk)
                cursor.execute(f"UPDATE {table} t SET {assignments} FROM {rows} b "
                               f"WHERE t.{quote(pk.column)} = b.{quote(pk.column)}", params)
            else:
                names = ", ".join(quote(f.column) for f in fields)
                cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {rows} b "
                               f"ORDER BY {quote(pk.column)}", params)
            return cursor.rowcount
    objects = [model(**{f.attname: f.to_python(before[f.column]) for f in fields})
               for before in images.values_list("before", flat=True)]
    if action == Action.UPDATED:
        model._base_manager.bulk_update(objects, [f.name for f in fields if f is not pk], batch_size=2000)
    else:
        model._base_manager.bulk_create(objects, batch_size=2000)
    return len(objects)
