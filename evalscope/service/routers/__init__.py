"""The service's routes, one module per resource; each holds a module-level ``router``.

``health`` (/health), ``seed`` (the seed's blocking /api/v1/eval and /api/v1/perf), ``jobs`` (the job
API), ``files`` (a job's files), ``metrics`` (/metrics), ``compat`` (EvalScope 1.14's routes) and
``workers`` (Celery executor only: a worker's upload, distributed perf). The app includes them in
:data:`evalscope.service.app` order: a fixed path (``/api/v1/jobs/perf_distributed``) before the
job API's ``/api/v1/jobs/{kind}``, which would match it too.
"""
