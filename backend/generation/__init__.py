"""Free-text generation: several registered models answering one prompt side by side, streamed together, with
shared sampling settings (GenerateConfig), prompt formatting (raw completion or chat template), an LRU cache of
loaded models under a memory budget, and a stop switch. CPU only in the app process (see stream.py)."""
