"""Pull the memory figures out of vLLM's startup log, whatever the vLLM version.

The blog's core lesson is the GPU memory budget, and the reader's own pod prints it while
it starts: weights, CUDA graphs, KV cache, tokens, concurrency. vLLM has phrased these lines
differently in almost every release since 0.3, so the parser does not match whole lines.
Each figure has a few *phrasings* (label before the number, number before the label,
``key=value``, a table cell), searched anywhere in a line, so prefixes such as
``(EngineCore pid=1)`` or ``INFO 02-05 16:35:45 [gpu_worker.py:123]`` do not matter.

>>> figures = parse_startup_log("INFO: GPU KV cache size: 123,472 tokens")
>>> figures.kv_cache_tokens
123472
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

# A number as vLLM prints it: optional sign, thousands separators (V1), decimals.
_NUM = r"(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?)"
_GIB = r"\s*(?:GiB|GB)\b"
_SECONDS = r"\s*(?:seconds|secs?|s)\b"
# Between a label and its number: separators, brackets and a few filler words.
_FILLER = "is|are|was|in|use|take|takes|took|of|used|uses|memory|size|space|from"
_GAP = r"(?:\s|[:=|(\[]|\b(?:" + _FILLER + r")\b)*"

# Reported alongside each figure in ``to_frame``.
UNITS: dict[str, str] = {
    "weights_gib": "GiB",
    "weights_load_seconds": "s",
    "model_load_seconds": "s",
    "cuda_graph_gib": "GiB",
    "cuda_graph_estimate_gib": "GiB",
    "cuda_graph_seconds": "s",
    "activation_peak_gib": "GiB",
    "non_torch_gib": "GiB",
    "kv_cache_gib": "GiB",
    "kv_cache_tokens": "tokens",
    "max_concurrency": "x",
    "max_concurrency_tokens": "tokens/request",
    "gpu_blocks": "blocks",
    "cpu_blocks": "blocks",
    "total_gpu_memory_gib": "GiB",
    "gpu_memory_utilization": "fraction",
    "max_model_len": "tokens",
    "max_num_seqs": "requests",
    "max_num_batched_tokens": "tokens",
}

_INTEGER_FIGURES = {
    "kv_cache_tokens",
    "max_concurrency_tokens",
    "gpu_blocks",
    "cpu_blocks",
    "max_model_len",
    "max_num_seqs",
    "max_num_batched_tokens",
}


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Each entry: a compiled phrasing and the figure that each of its groups fills, in order.
# Order matters only within one figure: the first phrasing that matches a line wins.
_PHRASINGS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    # "Model loading took 3.96 GiB memory and 60.55 seconds" (V1), "... GiB and 60.55 seconds"
    (
        _p(r"model loading took\s+" + _NUM + _GIB + r"(?:\s+memory)?\s+and\s+" + _NUM + _SECONDS),
        ("weights_gib", "model_load_seconds"),
    ),
    # "Loading model weights took 3.8814 GB" (V0; the unit is really GiB)
    (_p(r"(?:loading model weights|model loading) took\s+" + _NUM + _GIB), ("weights_gib",)),
    # "model weights take 3.88GiB", "weights_memory=3.96GiB", "| Model weights | 3.96 GiB |"
    (_p(r"\b(?:model[ _])?weights?(?:[ _]memory)?" + _GAP + _NUM + _GIB), ("weights_gib",)),
    # "Actual usage is 3.96 GiB for weight, ..."
    (_p(_NUM + _GIB + r"\s+(?:for|of)\s+(?:model\s+)?weights?\b"), ("weights_gib",)),
    # "Loading weights took 19.18 seconds"
    (_p(r"loading weights took\s+" + _NUM + _SECONDS), ("weights_load_seconds",)),
    # "Graph capturing finished in 26 secs, took 1.13 GiB" (the GiB part is newer)
    (
        _p(
            r"graph capturing finished in\s+"
            + _NUM
            + _SECONDS
            + r"(?:[,;]?\s*took\s+"
            + _NUM
            + _GIB
            + r")?"
        ),
        ("cuda_graph_seconds", "cuda_graph_gib"),
    ),
    # The estimate that vLLM 0.18+ counts into the budget before the capture (V1 model runner):
    # "Estimated CUDA graph memory: 0.49 GiB total", and after the capture
    # "CUDA graph pool memory: 0.54 GiB (actual), 0.49 GiB (estimated), difference: ..."
    (
        _p(r"cuda graph pool memory:\s*" + _NUM + _GIB + r"\s*\(actual\),\s*" + _NUM + _GIB),
        ("cuda_graph_gib", "cuda_graph_estimate_gib"),
    ),
    (_p(r"estimated cuda graph memory:\s*" + _NUM + _GIB), ("cuda_graph_estimate_gib",)),
    # "1.13 GiB for CUDAGraph memory", "cuda_graph_memory=1.13GiB", "| CUDA graphs | 1.13 GiB |"
    (_p(_NUM + _GIB + r"\s+(?:for|of)\s+cuda\s*graphs?"), ("cuda_graph_gib",)),
    (
        _p(r"(?<!estimated )\bcuda[ _]?graphs?(?:[ _]memory)?" + _GAP + _NUM + _GIB),
        ("cuda_graph_gib",),
    ),
    # "Actual usage is ... 0.28 GiB for peak activation, 0.22 GiB for non-torch memory, ..."
    (_p(_NUM + _GIB + r"\s+for\s+peak\s+activation"), ("activation_peak_gib",)),
    (_p(_NUM + _GIB + r"\s+for\s+non-torch"), ("non_torch_gib",)),
    # "Available KV cache memory: 15.07 GiB", "available_kv_cache_memory    53.29GiB" (V0's
    # table), "kv_cache_size=59.95GiB",
    # "the rest of the memory reserved for KV Cache is 16.00GiB",
    # "... larger than the available KV cache memory (2.50 GiB)" (an error when it does not fit)
    (_p(r"available[ _]kv[ _]?cache[ _]memory" + _GAP + _NUM + _GIB), ("kv_cache_gib",)),
    (_p(r"reserved for kv[ _]?cache" + _GAP + _NUM + _GIB), ("kv_cache_gib",)),
    # The CPU backend: "Explicitly set (1.0/12.46) GiB for KV cache on node 0."
    (
        _p(r"\(\s*" + _NUM + r"\s*/\s*" + _NUM + r"\s*\)" + _GIB + r"\s+for kv[ _]?cache"),
        ("kv_cache_gib", ""),
    ),
    (_p(r"\bkv[ _]?cache(?:[ _](?:memory|size|space))?" + _GAP + _NUM + _GIB), ("kv_cache_gib",)),
    (
        _p(_NUM + _GIB + r"\s+(?:for|of)\s+(?:the\s+)?kv[ _]?cache\b(?!\s+is needed)"),
        ("kv_cache_gib",),
    ),
    # "GPU KV cache size: 123,472 tokens", "CPU KV cache size: 46,592 tokens"
    (_p(r"\bkv cache size:\s*" + _NUM + r"\s*tokens"), ("kv_cache_tokens",)),
    # "... the maximum number of tokens that can be stored in KV cache (24896)" (an error)
    (
        _p(r"maximum number of tokens that can be stored in kv cache\s*\(\s*" + _NUM),
        ("kv_cache_tokens",),
    ),
    # "Maximum concurrency for 4,096 tokens per request: 30.03x"
    (
        _p(r"maximum concurrency for\s+" + _NUM + r"\s+tokens per request:?\s*" + _NUM + r"\s*x"),
        ("max_concurrency_tokens", "max_concurrency"),
    ),
    # "# GPU blocks: 7449, # CPU blocks: 2048", "# cuda blocks: 8192", "num_gpu_blocks=7717"
    (_p(r"(?:#\s*|\b)(?:gpu|cuda|npu|xpu|hpu|tpu) blocks:\s*" + _NUM), ("gpu_blocks",)),
    (_p(r"\bnum_gpu_blocks\s*(?:=|:|is:?)\s*" + _NUM), ("gpu_blocks",)),
    (_p(r"#\s*cpu blocks:\s*" + _NUM), ("cpu_blocks",)),
    # "total_gpu_memory (23.58GiB) x gpu_memory_utilization (0.90)", "total_gpu_memory=79.15GiB"
    (_p(r"total[ _]gpu[ _]memory" + _GAP + _NUM + _GIB), ("total_gpu_memory_gib",)),
    # "Free memory on device (21.9/22.05 GiB) on startup"
    (
        _p(r"memory on device\s*\(\s*" + _NUM + r"\s*/\s*" + _NUM + _GIB),
        ("", "total_gpu_memory_gib"),
    ),
    # The settings vLLM states only in its "non-default args: {'max_model_len': 4096, ...}"
    (_p(r"'gpu_memory_utilization':\s*" + _NUM), ("gpu_memory_utilization",)),
    (_p(r"'max_model_len':\s*" + _NUM), ("max_model_len",)),
    (_p(r"'max_num_seqs':\s*" + _NUM), ("max_num_seqs",)),
    (_p(r"'max_num_batched_tokens':\s*" + _NUM), ("max_num_batched_tokens",)),
    # "gpu_memory_utilization (0.90)", "gpu_memory_utilization=0.90",
    # "Desired GPU memory utilization is (0.9, 19.85 GiB)", and since vLLM 0.18's CUDA-graph
    # estimate "The current --gpu-memory-utilization=0.8200 is equivalent to ...",
    # "increase --gpu-memory-utilization from 0.7000 to 0.7021"
    (
        _p(r"gpu[ _-]memory[ _-]utilization" + _GAP + r"(?<![\d.])" + _NUM + r"(?!\s*(?:GiB|GB))"),
        ("gpu_memory_utilization",),
    ),
]


#: The lines with which vLLM refuses to start for lack of KV cache, and what to tell the reader.
_FIX = "Lower --max-model-len, raise --gpu-memory-utilization or use a bigger GPU."
_REFUSALS: list[tuple[re.Pattern[str], str]] = [
    # V0: "The model's max seq len (29000) is larger than the maximum number of tokens that
    # can be stored in KV cache (23648)."
    (
        _p(
            r"max seq len \(" + _NUM + r"\) is larger than the maximum number of tokens that "
            r"can be stored in kv cache \(" + _NUM + r"\)"
        ),
        "vLLM refused to start: --max-model-len {0} is more than the {1} tokens its KV cache "
        "holds. " + _FIX,
    ),
    # V1: "To serve at least one request with the models's max seq len (40960), (4.38 GiB KV
    # cache is needed, which is larger than the available KV cache memory (4.00 GiB)."
    (
        _p(
            r"max seq len \(" + _NUM + r"\), \(" + _NUM + _GIB + r" kv cache is needed, which "
            r"is larger than the available kv cache memory \(" + _NUM + _GIB
        ),
        "vLLM refused to start: one request of --max-model-len {0} tokens needs {1} GiB of "
        "KV cache, and {2} GiB is available. " + _FIX,
    ),
]


def _to_number(text: str, integer: bool) -> int | float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return int(value) if integer and value.is_integer() else value


@dataclass
class StartupFigures:
    """The memory figures a vLLM startup log states; ``None`` where it does not state them.

    Values are as printed (GiB, seconds, tokens). ``sources`` keeps the line each figure
    came from; ``notes`` says when a figure repeated (one line per GPU rank, the first is
    kept) and ``warnings`` when a figure means trouble (negative KV cache: no room).
    """

    weights_gib: float | None = None
    weights_load_seconds: float | None = None
    model_load_seconds: float | None = None
    cuda_graph_gib: float | None = None
    cuda_graph_estimate_gib: float | None = None
    cuda_graph_seconds: float | None = None
    activation_peak_gib: float | None = None
    non_torch_gib: float | None = None
    kv_cache_gib: float | None = None
    kv_cache_tokens: int | None = None
    max_concurrency: float | None = None
    max_concurrency_tokens: int | None = None
    gpu_blocks: int | None = None
    cpu_blocks: int | None = None
    total_gpu_memory_gib: float | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    sources: dict[str, str] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list, repr=False)
    warnings: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def names(cls) -> list[str]:
        """The figure attributes, in reading order."""
        return [f.name for f in fields(cls) if f.name in UNITS]

    def found(self) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in self.names() if getattr(self, name) is not None
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per figure found: value, unit and the log line it came from."""
        rows = [
            {
                "figure": name,
                "value": value,
                "unit": UNITS[name],
                "source": self.sources.get(name, ""),
            }
            for name, value in self.found().items()
        ]
        # dtype=object: token counts stay integers beside GiB figures.
        return pd.DataFrame(rows, columns=["figure", "value", "unit", "source"], dtype=object)

    def _repr_html_(self) -> str:
        html = self.to_frame().to_html(index=False)
        extra = "".join(f"<p>Warning: {w}</p>" for w in self.warnings)
        extra += "".join(f"<p>Note: {n}</p>" for n in self.notes)
        return html + extra


class StartupLogParser:
    """Incremental parser: ``feed`` lines as ``kubectl logs -f`` streams them.

    >>> parser = StartupLogParser()
    >>> parser.feed("Available KV cache memory: 15.07 GiB")
    ['kv_cache_gib']
    >>> parser.figures.kv_cache_gib
    15.07
    """

    def __init__(self) -> None:
        self.figures = StartupFigures()
        self._repeats: dict[str, int] = {}

    def feed(self, line: str) -> list[str]:
        """Parse one line; return the names of figures it stated for the first time."""
        if not isinstance(line, str) or not line.strip():
            return []
        line = line.rstrip("\r\n")
        new: list[str] = []
        claimed: set[str] = set()
        for pattern, names in _PHRASINGS:
            if claimed.issuperset(n for n in names if n):
                continue
            match = pattern.search(line)
            if match is None:
                continue
            for name, text in zip(names, match.groups(), strict=True):
                if not name or text is None or name in claimed:
                    continue
                claimed.add(name)
                value = _to_number(text, name in _INTEGER_FIGURES)
                if value is not None and self._record(name, value, line):
                    new.append(name)
        for pattern, message in _REFUSALS:
            if match := pattern.search(line):
                warning = message.format(*match.groups())
                if warning not in self.figures.warnings:
                    self.figures.warnings.append(warning)
        return new

    def feed_lines(self, lines: Iterable[str]) -> StartupFigures:
        for line in lines:
            self.feed(line)
        return self.figures

    def _record(self, name: str, value: float, line: str) -> bool:
        figures = self.figures
        if getattr(figures, name) is not None:
            self._repeats[name] = self._repeats.get(name, 1) + 1
            note = (
                f"{name} is stated {self._repeats[name]} times (one line per GPU rank or "
                "worker); the first value is used."
            )
            figures.notes[:] = [n for n in figures.notes if not n.startswith(f"{name} is stated")]
            figures.notes.append(note)
            return False
        setattr(figures, name, value)
        figures.sources[name] = line.strip()
        if name == "kv_cache_gib" and value < 0:
            figures.warnings.append(f"The KV cache has {value} GiB: the model does not fit. {_FIX}")
        return True


#: The blog's startup log lines (Mistral-7B-AWQ on an L4, vLLM 0.14.1), as it printed them.
BLOG_L4_LOG = Path(__file__).resolve().parents[1] / "blog" / "startup-l4-v0.14.log"


def blog_l4_figures() -> StartupFigures:
    """The figures of the blog's L4 deployment, to set beside the local ones."""
    return parse_startup_log(BLOG_L4_LOG.read_text())


def side_by_side(
    columns: dict[str, StartupFigures], missing: str = "not in its log"
) -> pd.DataFrame:
    """The figures of several startups in one table for people, each with its unit.

    Token counts stay integers beside GiB figures, and a figure one log does not state says
    so (``missing``, e.g. "not on CPU") instead of a NaN.
    """
    found = {title: figures.found() for title, figures in columns.items()}
    names = [name for name in StartupFigures.names() if any(name in f for f in found.values())]
    table = {
        title: [figures.get(name, missing) for name in names] for title, figures in found.items()
    }
    frame = pd.DataFrame(table, index=pd.Index(names, name="figure"), dtype=object)
    frame.insert(0, "unit", [UNITS[name] for name in names])
    return frame


def parse_startup_log(text: str | Iterable[str]) -> StartupFigures:
    """Parse a whole log (a string or lines); never raises on garbage or truncated input."""
    lines = text.splitlines() if isinstance(text, str) else text
    return StartupLogParser().feed_lines(lines)
