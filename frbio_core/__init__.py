"""The base layer every other package may import, and which imports none of them: settings, the SQLite registry,
the config-object machinery, accounts and audit, the user-facing error type, and small file helpers.

  settings  Settings (flags, FRBIO_* environment), loopback and offline checks
  registry  the one SQLite registry: connection, migrations, retried writes
  config    config objects → CLI flags, env values, config files, one-line validation messages
  users     accounts, passwords, who may manage what, the audit log
  errors    UserError: a failure whose message is for the user as is
  files     atomic folder publish, atomic file writes
"""
