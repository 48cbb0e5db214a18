"""An interactive GPU-memory calculator for the design-decisions notebook.

Pick a GPU, a model, ``--gpu-memory-utilization``, ``--max-model-len`` and the KV-cache
dtype; the table and the stacked bar of ``sizing.plan`` follow. ``Calculator.update`` is
what the widgets call, so the same figures can be produced (and tested) without a browser.

The table and the bar are widget values (``HTML``, ``Image``) that the kernel sets, not
outputs captured in an ``Output`` widget: an ``Output``'s contents travel from the browser
back to the kernel and return, and the browser test once saw the bar vanish after a slider
move while the table updated.
"""

from __future__ import annotations

import io
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from tutorial_lib.domain.sizing import GPUS, PRESETS, ModelSpec, Plan, plan

_SEGMENTS = [
    ("weights_gib", "weights", "#4c72b0"),
    ("activation_gib", "activations", "#dd8452"),
    ("kv_cache_gib", "KV cache", "#55a868"),
    ("cuda_graph_gib", "CUDA graphs", "#c44e52"),
]
#: Labels as wide as their text: the default width cuts "gpu-mem-util" to "gpu-mem…".
_LABEL = {"description_width": "initial"}


def _dtype_spec(spec: ModelSpec, weights: str) -> ModelSpec:
    """The model as deployed: ``awq-4bit`` quantizes the weights, ``fp16`` does not."""
    if weights == "awq-4bit":
        return replace(spec, quantization_bits=4, dtype="float16")
    return replace(spec, quantization_bits=None)


def stacked_bar(budget: Plan, ax: plt.Axes | None = None) -> plt.Axes:
    """The budget as one bar: what vLLM holds, CUDA graphs above it, the GPU's total."""
    ax = ax or plt.subplots(figsize=(7, 1.8))[1]
    left = 0.0
    for attr, label, color in _SEGMENTS:
        value = max(getattr(budget, attr), 0.0)
        ax.barh(0, value, left=left, color=color, label=f"{label} {value:.2f} GiB")
        left += value
    ax.axvline(
        budget.gpu.total_gib,
        color="black",
        linestyle="--",
        label=f"{budget.gpu.name} {budget.gpu.total_gib:.2f} GiB",
    )
    ax.axvline(budget.budget_gib, color="grey", linestyle=":", label="vLLM budget")
    ax.set_yticks([])
    ax.set_xlabel("GiB")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8)
    ax.set_title(
        f"{budget.model}: {budget.capacity.tokens:,} tokens, "
        f"{budget.capacity.max_concurrency:.2f}x at {budget.max_model_len}"
        + ("" if budget.cuda_graphs_fit else " — no room for CUDA graphs (0.14 fails at capture)")
    )
    return ax


class Calculator:
    """The widgets and their output; ``display(Calculator().widget)`` in a notebook."""

    def __init__(
        self,
        model: str = "TheBloke/Mistral-7B-v0.1-AWQ",
        gpu: str = "L4",
        utilization: float = 0.88,
        max_model_len: int = 4096,
    ) -> None:
        self.model = widgets.Dropdown(
            options=sorted(PRESETS), value=model, description="model", style=_LABEL
        )
        self.gpu = widgets.Dropdown(options=list(GPUS), value=gpu, description="GPU", style=_LABEL)
        self.weights = widgets.Dropdown(
            options=["as published", "awq-4bit", "fp16"],
            value="as published",
            description="weights",
            style=_LABEL,
        )
        self.utilization = widgets.FloatSlider(
            value=utilization,
            min=0.5,
            max=0.98,
            step=0.01,
            description="gpu-mem-util",
            style=_LABEL,
        )
        self.max_model_len = widgets.Dropdown(
            options=[1024, 2048, 4096, 8192, 16384, 32768],
            value=max_model_len,
            description="max-model-len",
            style=_LABEL,
        )
        self.kv_dtype = widgets.Dropdown(
            options=["auto", "fp8"], value="auto", description="kv-cache-dtype", style=_LABEL
        )
        self.table = widgets.HTML()
        # At its own size, not stretched to the cell's width.
        self.bar = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        controls = [
            self.model,
            self.gpu,
            self.weights,
            self.utilization,
            self.max_model_len,
            self.kv_dtype,
        ]
        for control in controls:
            control.observe(lambda _change: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox(controls[:3]), widgets.HBox(controls[3:]), self.table, self.bar]
        )
        self.refresh()

    def update(self) -> Plan:
        """The plan for the current settings."""
        spec = ModelSpec.preset(self.model.value)
        if self.weights.value != "as published":
            spec = _dtype_spec(spec, self.weights.value)
        return plan(
            spec,
            self.gpu.value,
            self.utilization.value,
            self.max_model_len.value,
            kv_cache_dtype=self.kv_dtype.value,
        )

    def refresh(self) -> None:
        """Redraw the table and the bar; ``self.plan`` keeps what is shown."""
        budget = self.plan = self.update()
        # In JupyterLab's rendered-HTML style, left-aligned, as a DataFrame in an output looks.
        table = budget.to_frame().to_html().replace("<table ", '<table style="margin: 0" ', 1)
        self.table.value = f'<div class="jp-RenderedHTMLCommon">{table}</div>'
        figure = Figure(figsize=(7, 1.8))  # not pyplot's: nothing shows up in the cell by itself
        stacked_bar(budget, figure.subplots())
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=100, bbox_inches="tight")
        self.bar.value = png.getvalue()

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object] | None:
        return self.widget._repr_mimebundle_(**kwargs)
