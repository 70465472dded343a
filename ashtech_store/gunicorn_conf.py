"""gunicorn settings of the production image (``gunicorn -c python:ashtech_store.gunicorn_conf``).

Threaded workers (``gthread``) so that no web worker waits on a provider:
a payment start or a return page that calls a slow provider holds one
*thread* for at most the HTTP timeout (connect 5 s + read 15 s at the start,
3 + 5 s on the return page), while the worker's other threads keep serving
pages, carts and checkouts. With ``workers × threads`` = 3 × 8 = 24
request slots per container, the shop stops answering only when 24 provider
calls are stuck at once; the payment-start rate limits (10 a minute per
address, 5 per session) mean that takes several addresses hammering a
provider that is already down (README, "Security"). Django is thread-safe;
each thread keeps its own database connection (at most 24 per container).

Any value can be changed on the command line or in ``GUNICORN_CMD_ARGS``
(e.g. ``--workers 5 --threads 16`` on a bigger machine).
"""

bind = "0.0.0.0:8000"
worker_class = "gthread"
workers = 3  # about one per core, plus one
threads = 8
timeout = 30  # a worker that stops answering its heartbeat is replaced
graceful_timeout = 30
keepalive = 5
accesslog = "-"
