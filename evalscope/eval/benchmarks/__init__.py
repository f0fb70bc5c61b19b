"""Built-in benchmarks: importing this package registers each one (one small file per benchmark)."""

from evalscope.eval.benchmarks import (  # noqa: F401  (importing registers each benchmark)
    aime,
    arc,
    bbh,
    ceval,
    cmmlu,
    general_mcq,
    general_qa,
    gpqa,
    gsm8k,
    hellaswag,
    humaneval,
    ifeval,
    iquiz,
    math_500,
    mbpp,
    mgsm,
    mmlu,
    mmlu_pro,
    mmlu_redux,
    simple_qa,
    trivia_qa,
    truthful_qa,
    winogrande,
)
from evalscope.eval.benchmarks.base import Benchmark, Sample, get_benchmark, list_benchmarks, register

__all__ = ["Benchmark", "Sample", "get_benchmark", "list_benchmarks", "register"]
