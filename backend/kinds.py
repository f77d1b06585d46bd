"""Every feature's job kinds, registered with the runtime (jobs.kinds) by importing the module that declares
them next to its code. A new kind: declare it in its feature's `job.py` and add the module here."""
from backend.corpus import job as corpus_job  # noqa: F401
from backend.evaluation import job as eval_job  # noqa: F401
from backend.merge import job as merge_job  # noqa: F401
from backend.models import job as models_job  # noqa: F401
from backend.study import job as study_job  # noqa: F401
from backend.training import job as training_job  # noqa: F401
