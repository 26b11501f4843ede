"""Bench-only URLconf (bench/sharing_settings.py): the portal's URLs plus the minimal baselines of bench/sharing.py.

- /bench/baseline/lookup/<key>/ — a minimal DRF endpoint: no auth, one indexed lookup (blind index), one audit
  insert, the stored JSON returned as is (the online-query baseline);
- /bench/baseline/pull/?after=<id>&limit=n — a minimal raw-SQL JSON endpoint: keyset query + serialisation of
  the projected clear items, no auth, no audit (the pull baseline). `id > after` beside the row comparison makes
  (dataset_id, after) the index scan's start key (with `dataset_id = d` alone as the first column's key, the scan
  starts at the dataset's first entry and its cost grows with the depth).
"""

import json
import os

from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aggregation.models import Record
from portal import audit
from security import crypto

DATASET_ID = int(os.environ.get("BENCH_DATASET_ID", "0") or 0)
PULL_FIELDS = [f for f in os.environ.get("BENCH_PULL_FIELDS", "").split(",") if f]


class Lookup(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request, key):
        row = Record.objects.filter(dataset_id=DATASET_ID, key_hash=crypto.blind_index(key)).values_list(
            "id", "data").first()
        audit.record(actor=None, actor_label="bench", action="bench.lookup", object_type="aggregation.record",
                     object_id=row[0] if row else "", data={"found": row is not None})
        return Response(row[1] if row else {})


def pull(request):
    after = int(request.GET.get("after", "0"))
    limit = int(request.GET.get("limit", "1000"))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, data, updated_at FROM aggregation_record WHERE dataset_id = %s AND deleted_at IS NULL"
            " AND id > %s AND (dataset_id, id) > (%s, %s) ORDER BY dataset_id, id LIMIT %s",
            [DATASET_ID, after, DATASET_ID, after, limit])
        rows = cur.fetchall()
    results = []
    for _rid, data, updated_at in rows:
        data = json.loads(data) if isinstance(data, str) else data
        row = {n: data.get(n) for n in PULL_FIELDS}
        row["updated_at"] = updated_at.isoformat()
        results.append(row)
    body = json.dumps({"results": results, "next": rows[-1][0] if rows else None}, ensure_ascii=False)
    return HttpResponse(body.encode(), content_type="application/json")


urlpatterns = [
    path("bench/baseline/lookup/<str:key>/", Lookup.as_view()),
    path("bench/baseline/pull/", pull),
    path("", include("config.urls")),
]
