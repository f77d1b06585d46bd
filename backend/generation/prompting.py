"""How a prompt reaches a model: raw completion (base and DAPT models, as the paper evaluates them) or the
tokenizer's chat template (instruct models), and the check that it fits the model's context."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlite_utils

from backend.generation.config import GenerationError
from backend.models.registry import ModelError, get_model

INSTRUCT_NAME = re.compile(r"instruct|chat|(^|[-_.\s])it($|[-_.\s])", re.I)


def registered_instruct(db: sqlite_utils.Database | None, row: dict, _seen: frozenset = frozenset()) -> bool:
    """Whether the registry presents this model as instruction-tuned: a base model named '...-Instruct' / '-chat'
    / '-it', or a merge with such a parent. A DAPT model never is: continued pre-training on raw text makes it a
    completion model, whatever its base was (a checkpoint kept along the run too)."""
    if row.get("kind") in ("dapt", "checkpoint"):
        return False
    if INSTRUCT_NAME.search(row.get("id") or "") or INSTRUCT_NAME.search(row.get("name") or ""):
        return True
    if row.get("kind") == "merged" and db is not None:
        for parent in row.get("parents") or []:
            if parent in _seen:
                continue
            try:
                if registered_instruct(db, get_model(db, parent), _seen | {row["id"]}):
                    return True
            except ModelError:
                continue
    return False


def choose_format(requested: str, tokenizer, instruct: bool) -> str:
    """'chat' or 'raw' for one model, from the run's choice (auto/raw/chat)."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if requested == "raw" or not has_template:
        return "raw"
    if requested == "chat":
        return "chat"
    return "chat" if instruct else "raw"


@dataclass
class EncodedPrompt:
    input_ids: list[int]
    format: str                 # 'chat' or 'raw'
    max_new_tokens: int         # the run's, cut to what the context leaves
    context: int | None
    note: str = ""              # shown in the pane when the answer length was cut


def encode_prompt(tokenizer, prompt: str, fmt: str, max_new_tokens: int, context: int | None) -> EncodedPrompt:
    if not prompt or not prompt.strip():
        raise GenerationError("the prompt is empty: type a question or pick a preset")
    if fmt == "chat":
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    else:
        ids = tokenizer(prompt)["input_ids"]
    if context and len(ids) >= context:
        raise GenerationError(f"the prompt is {len(ids):,} tokens long ({fmt} format), longer than this model's "
                              f"context of {context:,} tokens: shorten it")
    note = ""
    if context and len(ids) + max_new_tokens > context:
        note = (f"answer limited to {context - len(ids):,} tokens: the prompt ({len(ids):,} tokens) and "
                f"{max_new_tokens:,} new tokens exceed the context of {context:,}")
        max_new_tokens = context - len(ids)
    return EncodedPrompt(ids, fmt, max_new_tokens, context, note)


def model_context(model, row: dict) -> int | None:
    config = getattr(model, "config", None)
    value = getattr(config, "max_position_embeddings", None) if config is not None else None
    return int(value or row.get("context_length") or 0) or None
