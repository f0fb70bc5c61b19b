"""The service's routes, one module per resource; each holds a module-level ``router``.

``health`` (/health), ``seed`` (the seed's blocking /api/v1/eval and /api/v1/perf), ``jobs`` (the job
API), ``files`` (a job's files), ``metrics`` (/metrics), ``compat`` (EvalScope 1.14's routes) and
``workers`` (Celery executor only: a worker's upload, distributed perf). Routes get the running
service through ``evalscope.service.context`` (``ctx: Context``, ``job: ExistingJob``). Order matters
once: ``create_app`` includes ``workers`` first, because the job API's ``POST /api/v1/jobs/{kind}``
would also match ``/api/v1/jobs/perf_distributed``.
"""
