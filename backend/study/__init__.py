"""The paper's question end to end (Mannion et al., LREC 2026: is biomedical DAPT worth it, and does merging with the
base recover what it costs?): a study is a registry row whose stages are real jobs — corpus snapshot → DAPT → SLERP
t-sweep → merges (t = 0.5 and the best point) → evaluations → report. config.py (budget presets), pipeline.py (the
state machine the scheduler advances), report.py (HTML + JSON), cli.py (`python -m backend reproduce`)."""
