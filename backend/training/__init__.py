"""Domain-adaptive pre-training (DAPT): the `train` job kind's library.

  config       TrainConfig (the one config object: form, CLI flags, config.json) and loading it from a file
  validate     resolve the base model and the snapshot; `check`, the pre-launch refusal of bad configs
  data         snapshot → token streams (cached .npy), packed blocks without padding, a resumable block order
  model        model loading (LoRA, gradient checkpointing), AdamW, the learning-rate schedule
  loop         `run_dapt(ctx)`: the training loop, evaluation (perplexity), checkpoints, exact resume
  checkpoint   atomic checkpoint folders, keep-last-K, newest readable one on resume
  output       the final Hugging Face folder, model card, registration with lineage
  estimate     memory per device (fits / does not fit) and time (FLOPs model, measured warm-up)
  precision    'auto' → bf16 where the device computes it natively
  distributed  DDP / FSDP ranks under accelerate launch (no-ops in one process)

No gradio here; torch and transformers are imported inside functions.
"""
