"""Built-in benchmarks: importing this package registers each one (one small file per benchmark)."""

from evalscope.eval.benchmarks import arc, ceval, general_mcq, general_qa, gsm8k, iquiz, math_500, mmlu  # noqa: F401
from evalscope.eval.benchmarks.base import Benchmark, Sample, get_benchmark, list_benchmarks, register

__all__ = ["Benchmark", "Sample", "get_benchmark", "list_benchmarks", "register"]
