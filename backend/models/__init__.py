"""Model registry: base models (the offline default, local folders, Hub downloads), DAPT and merged models."""
