"""FrBio Studio backend: corpus, models, training, merging, evaluation. Never imports gradio."""
import os

# Offline-safe defaults, set before any HF library is imported by a submodule.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
