.PHONY: install test lint serve mock

install:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[service,dev]'

test:
	.venv/bin/pytest -q

lint:
	.venv/bin/ruff check evalscope tests bench
	.venv/bin/ruff format --check evalscope tests bench
	.venv/bin/mypy

serve:
	.venv/bin/evalscope service --host 127.0.0.1 --port 9000

mock:
	.venv/bin/evalscope mock-server --host 127.0.0.1 --port 8801
