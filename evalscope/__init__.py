"""EvalScope: evaluate and load-test LLMs behind OpenAI-compatible APIs."""

__version__ = "0.1.0"
