"""manage.py pool_move [--dataset ID] [--verify]: move datasets' records into their resource tables (issue 18), or
verify a move (aggregation.storage.moving). Each dataset in its own transaction; a refused dataset is reported and
the others go on; the exit status is 1 when any was refused or differs."""

from django.core.management.base import BaseCommand, CommandError

from aggregation.models import Dataset
from aggregation.storage.moving import MoveRefused, dataset_move, dataset_verify


class Command(BaseCommand):
    help = "把资源池记录迁移到资源表（pool.r<id>），或核对迁移结果"

    def add_arguments(self, parser):
        parser.add_argument("--dataset", type=int, action="append", help="dataset id (repeatable); default: all")
        parser.add_argument("--verify", action="store_true", help="only compare records and rows")
        parser.add_argument("--batch", type=int, default=None, help="records per batch")

    def handle(self, *args, dataset=None, verify=False, batch=None, **options):
        datasets = Dataset.objects.select_related("entry").order_by("pk")
        if dataset:
            datasets = datasets.filter(pk__in=dataset)
        failed = 0
        for ds in datasets:
            if verify:
                check = dataset_verify(ds)
                self.stdout.write(f"#{ds.pk} {ds.entry.name}: {check.records} records, {check.rows} rows, "
                                  f"{'clean' if check.clean else 'DIFFERENT'}")
                for line in check.differences:
                    self.stdout.write(f"  {line}")
                failed += not check.clean
                continue
            try:
                result = dataset_move(ds, **({"batch": batch} if batch else {}))
            except MoveRefused as exc:
                failed += 1
                self.stderr.write(f"#{ds.pk} {ds.entry.name}: refused\n{exc.detail}")
                continue
            if result.skipped:
                state = "already moved, " + ("clean" if not result.differences else "DIFFERENT")
                failed += bool(result.differences)
            else:
                state = (f"moved {result.moved} (deleted {result.deleted}), recomputed key_hash "
                         f"{result.key_hash_recomputed}, row_hash {result.row_hash_recomputed}, masks computed "
                         f"{result.masks_computed}")
            self.stdout.write(f"#{ds.pk} {ds.entry.name}: {state}")
            for line in result.differences:
                self.stdout.write(f"  {line}")
        if failed:
            raise CommandError(f"{failed} dataset(s) refused or different")
