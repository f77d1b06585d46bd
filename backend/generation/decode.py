"""Token-by-token decoding of one pane, step by step so that several models can take turns: the same forward
calls, logits processors (in the order `generate` applies them) and token choice as `model.generate`, so a pane's
final text equals the model's non-streaming generate. Each pane samples from its own seeded torch.Generator: the
same seed gives the same answer whatever the other panes do (the global RNG `generate` uses is shared)."""
from __future__ import annotations

import time

from backend.generation.config import GenerateConfig
from backend.generation.prompting import EncodedPrompt


def logits_processors(cfg: GenerateConfig):
    from transformers import (LogitsProcessorList, RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                              TopKLogitsWarper, TopPLogitsWarper)

    procs = LogitsProcessorList()
    if cfg.repetition_penalty != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(cfg.repetition_penalty))
    if cfg.do_sample:
        if cfg.temperature != 1.0:
            procs.append(TemperatureLogitsWarper(cfg.temperature))
        if cfg.top_k:
            procs.append(TopKLogitsWarper(top_k=cfg.top_k, min_tokens_to_keep=1))
        if cfg.top_p < 1.0:
            procs.append(TopPLogitsWarper(top_p=cfg.top_p, min_tokens_to_keep=1))
    return procs


def eos_ids(model, tokenizer) -> set[int]:
    value = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if value is None:
        value = tokenizer.eos_token_id
    return set(value if isinstance(value, (list, tuple)) else [value] if value is not None else [])


def generate_kwargs(cfg: GenerateConfig, max_new_tokens: int) -> dict:
    """The `model.generate` arguments equivalent to a pane's decoding (used by tests and the bench baseline)."""
    kwargs = {"max_new_tokens": max_new_tokens, "do_sample": cfg.do_sample, "repetition_penalty":
              cfg.repetition_penalty, "num_beams": 1}
    if cfg.do_sample:
        kwargs.update(temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k)
    return kwargs


class PaneDecoder:
    """prefill on the first step, then one token per step; `done` once EOS or the length limit is reached."""

    def __init__(self, model, tokenizer, prompt: EncodedPrompt, cfg: GenerateConfig):
        import torch

        self.model, self.tokenizer = model, tokenizer
        self.ids = torch.tensor([prompt.input_ids], dtype=torch.long)
        self.max_new_tokens = prompt.max_new_tokens
        self.processors = logits_processors(cfg)
        self.do_sample = cfg.do_sample
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.eos = eos_ids(model, tokenizer)
        self.cache = None
        self.new_tokens: list[int] = []
        self.finish_reason: str | None = None   # 'eos' or 'length'
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    def step(self) -> int:
        import torch

        with torch.inference_mode():  # per step: grad mode is per thread and a generator may resume elsewhere
            mask = torch.ones_like(self.ids)
            if self.cache is None:
                out = self.model(input_ids=self.ids, attention_mask=mask, use_cache=True, logits_to_keep=1)
            else:
                out = self.model(input_ids=self.ids[:, -1:], attention_mask=mask, cache=self.cache, use_cache=True,
                                 logits_to_keep=1)
            self.cache = out.cache
            logits = out.logits[:, -1].to(dtype=torch.float32)
            scores = self.processors(self.ids, logits)
            if self.do_sample:
                probs = torch.nn.functional.softmax(scores, dim=-1)
                token = torch.multinomial(probs, num_samples=1, generator=self.generator).squeeze(1)
            else:
                token = torch.argmax(scores, dim=-1)
            self.ids = torch.cat([self.ids, token[:, None]], dim=-1)
        token_id = int(token[0])
        self.new_tokens.append(token_id)
        self.last_token_at = time.perf_counter()
        if self.first_token_at is None:
            self.first_token_at = self.last_token_at
        if token_id in self.eos:
            self.finish_reason = "eos"
        elif len(self.new_tokens) >= self.max_new_tokens:
            self.finish_reason = "length"
        return token_id

    def text(self, final: bool = False) -> str:
        text = self.tokenizer.decode(self.new_tokens, skip_special_tokens=True)
        if not final:  # hold back a character cut in the middle of its UTF-8 bytes
            text = text.rstrip("\ufffd")
        return text
