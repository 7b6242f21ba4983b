"""gunicorn's settings in production: `gunicorn` in the project folder reads this file, and
command-line options override it (`manage.py serve` and the benchmarks pass their own).

A door's match request spends about a tenth of a second waiting for its match worker. Threads
serve many such waits per process; gunicorn's default, one synchronous worker, would queue
every store's doors behind one another.
"""

import os

wsgi_app = "portal.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
# Entrance devices keep their connection open between probes (stores/client.py reconnects
# when the server has closed it); gthread's default of 2 seconds would close it between shoppers.
keepalive = int(os.environ.get("WEB_KEEPALIVE_SECONDS", "20"))
graceful_timeout = 10
