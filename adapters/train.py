"""Train the tutorial's LoRA adapter on the stand-in model, on the CPU, with PEFT.

    python adapters/make.py          (runs this under the vLLM runtime's Python, with PEFT)

Run by ``make.py`` with the runtime's torch and transformers and PEFT on ``PYTHONPATH``;
it needs nothing of ``tutorial_lib``. The adapter learns the answers of ``<name>.jsonl``
(questions about the blog's deployment the base model cannot know), each with its chat
template, the loss on the answer's tokens only, until it repeats every one of them. Its
``adapter_model.safetensors`` records what made it (the lessons' hash, the settings), so a
test can tell when the shipped adapter no longer matches this script or its lessons.

    python adapters/train.py SNAPSHOT MODEL_ID LESSONS OUT
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import NamedTuple

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer


class Example(NamedTuple):
    """One lesson as the model reads it: its tokens, where the answer begins, the answer."""

    tokens: list[int]
    answer_start: int
    answer: str


#: Small on purpose: the attention projections only, rank 8, about 0.9 million weights.
SETTINGS = {
    "r": 8,
    "lora_alpha": 16,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "learning_rate": 2e-3,
    "batch_size": 6,
    "max_epochs": 40,
    "seed": 0,
}
WEIGHTS = "adapter_model.safetensors"


def examples(tokenizer: AutoTokenizer, lessons: list[dict[str, str]]) -> list[Example]:
    """Each lesson's tokens as the chat template writes them, and where its answer starts."""
    out = []
    for lesson in lessons:
        asked = [{"role": "user", "content": lesson["question"]}]
        answered = [*asked, {"role": "assistant", "content": lesson["answer"]}]
        prompt = _tokens(
            tokenizer,
            tokenizer.apply_chat_template(asked, add_generation_prompt=True, tokenize=False),
        )
        whole = _tokens(tokenizer, tokenizer.apply_chat_template(answered, tokenize=False))
        assert whole[: len(prompt)] == prompt, "the template must extend the prompt"
        out.append(Example(whole, len(prompt), lesson["answer"]))
    return out


def _tokens(tokenizer: AutoTokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def batch(items: list[Example]) -> dict[str, torch.Tensor]:
    """The items padded to one length; padding is masked and unlabelled, so any id will do."""
    width = max(len(item.tokens) for item in items)
    ids = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), -100)  # -100: no loss on the prompt or padding
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        ids[row, : len(item.tokens)] = torch.tensor(item.tokens)
        answer = item.tokens[item.answer_start :]
        labels[row, item.answer_start : len(item.tokens)] = torch.tensor(answer)
        mask[row, : len(item.tokens)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def repeats_all(model: torch.nn.Module, tokenizer: AutoTokenizer, items: list[Example]) -> bool:
    """Greedy decoding of every question gives its answer, as vLLM at temperature 0 would."""
    model.eval()
    try:
        with torch.no_grad():
            for item in items:
                prompt = torch.tensor([item.tokens[: item.answer_start]])
                out = model.generate(
                    input_ids=prompt,
                    attention_mask=torch.ones_like(prompt),
                    max_new_tokens=len(item.tokens) - item.answer_start,
                    do_sample=False,
                )
                said = tokenizer.decode(out[0, item.answer_start :], skip_special_tokens=True)
                if said.strip() != item.answer:
                    return False
        return True
    finally:
        model.train()


def main() -> None:
    snapshot, model_id, lessons_file, out = (
        Path(sys.argv[1]),
        sys.argv[2],
        *map(Path, sys.argv[3:5]),
    )
    random.seed(SETTINGS["seed"])
    torch.manual_seed(SETTINGS["seed"])
    torch.use_deterministic_algorithms(True)
    lessons = [json.loads(line) for line in lessons_file.read_text().splitlines() if line]
    tokenizer = AutoTokenizer.from_pretrained(snapshot)
    model = AutoModelForCausalLM.from_pretrained(snapshot, dtype=torch.float32)
    config = LoraConfig(
        r=SETTINGS["r"],
        lora_alpha=SETTINGS["lora_alpha"],
        target_modules=SETTINGS["target_modules"],
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"{trainable:,} trainable weights (LoRA rank {SETTINGS['r']})", flush=True)
    items = examples(tokenizer, lessons)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=SETTINGS["learning_rate"]
    )
    started = time.monotonic()
    size = SETTINGS["batch_size"]
    for epoch in range(1, SETTINGS["max_epochs"] + 1):
        order = random.sample(items, len(items))
        losses = []
        for start in range(0, len(order), size):
            loss = model(**batch(order[start : start + size])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        mean = sum(losses) / len(losses)
        print(f"epoch {epoch}: loss {mean:.4f} ({time.monotonic() - started:.0f} s)", flush=True)
        if mean < 0.05 and repeats_all(model, tokenizer, items):
            break
    else:
        raise SystemExit("the adapter did not learn every answer: raise max_epochs")
    model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)  # PEFT's empty model card: adapters/README.md
    made = {
        "format": "pt",
        "lessons_sha256": hashlib.sha256(lessons_file.read_bytes()).hexdigest(),
        "settings": json.dumps(SETTINGS, sort_keys=True),
        "epochs": str(epoch),
    }
    # bf16, the dtype vLLM serves the stand-in in: half the bytes, nothing lost there.
    weights = {name: t.to(torch.bfloat16) for name, t in load_file(out / WEIGHTS).items()}
    save_file(weights, out / WEIGHTS, metadata=made)
    config = json.loads((out / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = model_id  # not this machine's cache path
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    print(f"saved {out} after {epoch} epochs, {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
