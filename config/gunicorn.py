"""gunicorn's settings for the deployment (`gunicorn -c config/gunicorn.py config.wsgi:application`: the Dockerfile's
command and docker-compose.yml's web service).

Threaded workers (gthread). A sync worker is killed by the arbiter when it has not reported for `timeout` seconds
(default 30), and it cannot report while it answers one long request: a bulk download streaming a large resource,
or a ranged one making its whole file before the first byte (sharing.export.download), was cut after 30 s — the
client saw an incomplete file, every time, however often it resumed. A gthread worker's main loop keeps reporting
while its threads answer, so `timeout` again means what it is for: a worker process that hangs.
Measured in tests/faults/test_faults.py (a download slower than the timeout completes under this file's settings).

Worker processes: WEB_CONCURRENCY (docker-compose.yml sets it); threads per worker: GUNICORN_THREADS (default 4; each
thread may hold one database connection, so processes × threads stays under PostgreSQL's max_connections).
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
