"""Application settings: one config object, mirrored by CLI flags and FRBIO_* environment variables."""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dirs() -> list[str]:
    candidates = [PROJECT_ROOT / "data", PROJECT_ROOT.parent / "shared" / "data"]
    return [str(p) for p in candidates]


class Settings(BaseModel):
    """Where FrBio Studio keeps its registry and artefacts, where it finds data, and where it listens."""

    host: str = Field("127.0.0.1", description="Address to bind. Anything beyond 127.0.0.1 requires authentication.")
    port: int = Field(7860, ge=1, le=65535, description="Port to listen on.")
    auth: bool = Field(False, description="Ask for a login (accounts: `python -m backend users add`) even on 127.0.0.1; "
                       "always on when the app binds to another address.")
    insecure_no_auth_on_public_address: bool = Field(
        False, description="DANGEROUS: serve on a non-local address WITHOUT any login (anyone who reaches the port can "
        "launch, cancel and read everything). Only behind a reverse proxy that does its own authentication.")
    language: Literal["auto", "fr", "en"] = Field(
        "auto", description="Interface language: 'auto' follows the browser; 'fr' for the clinician demo. Each person "
        "can switch with the FR/EN links at the top (remembered by their browser).")
    max_upload_mb: int = Field(512, ge=1, le=100_000, description="Largest file one upload may hold, in MB.")
    allow_server_hub_token: bool = Field(False, description=(
        "Let every logged-in user publish to the Hub with the server's own token ($HF_TOKEN or `hf auth login`) "
        "when they give none. Off: each person gives their own token."))
    import_roots: list[str] = Field(default_factory=list, description=(
        "Folders of this server under which an admin may register a model folder from the web page (none: that "
        "import is off; the command line run by the operator can import any folder)."))
    generate_memory_mb: int = Field(4096, ge=64, le=10_000_000, description=(
        "Memory for the models the Generate and Arena tabs keep loaded, shared by everyone (MB); beyond it the least "
        "recently used are unloaded."))
    generate_threads: int = Field(1, ge=0, le=1024, description=(
        "CPU threads each generation worker uses (0: torch's default, every core). 1 keeps generation fast when "
        "other work shares the CPU (bench/README.md)."))
    user_max_running_jobs: int = Field(0, ge=0, le=10_000, description=(
        "Jobs one account may have running at once; its next ones wait in the queue while others go ahead (0: no "
        "limit; the operator's command-line jobs are never limited)."))
    user_gpu_hours_per_day: float = Field(0.0, ge=0, le=1_000_000, description=(
        "GPU-hours (GPUs × hours) one account may use over any 24 hours; beyond it its GPU jobs are refused at "
        "submission and queued ones wait (0: no limit)."))
    session_idle_minutes: int = Field(480, ge=1, le=100_000, description=(
        "A logged-in session unused this long is over (the next request asks for a login again)."))
    job_slots: str | None = Field(None, description="Jobs at once per device, e.g. 'cpu=2,cuda:0=1' or '2' for every "
                                  "device (default: one per device).")
    home: str = Field(str(PROJECT_ROOT / "frbio_home"), description="Folder holding the SQLite registry and every artefact.")
    registry: str | None = Field(None, description=(
        "The SQLite registry file (default <home>/frbio.db). Workers never open it: with home on a cluster's shared "
        "file system, keep it on the app host's local disk."))
    data: list[str] = Field(default_factory=_default_data_dirs,
                            description="Data folders scanned for corpus sources (corpus/ and general/ inside each).")
    import_default_model: bool = Field(True, description="Convert the offline default model (SmolLM2-135M) on first start.")
    slurm: bool = Field(False, description="Submit jobs to a Slurm cluster with sbatch instead of running them on this "
                        "machine (frbio_home, the project and its venv must be visible at the same paths on the nodes).")
    slurm_partition: str | None = Field(None, description="Slurm partition for submitted jobs (sbatch --partition).")
    slurm_account: str | None = Field(None, description="Slurm account charged for submitted jobs (sbatch --account).")
    slurm_time: str | None = Field(None, description="Wall-clock limit of every submitted job (sbatch --time); "
                                   "empty: each kind's default (training 24:00:00, the others less).")
    slurm_cpus_per_task: int | None = Field(None, ge=1, description="CPU cores of every submitted job "
                                            "(sbatch --cpus-per-task); empty: each kind's default, capped at the "
                                            "partition's nodes.")
    slurm_mem: str | None = Field(None, description="Memory of every submitted job (sbatch --mem, e.g. 64G); empty: "
                                  "each kind's default, capped at the partition's nodes.")
    slurm_extra_args: list[str] = Field(default_factory=list,
                                        description="More #SBATCH options for every submitted job, e.g. --qos=normal.")
    slurm_poll_s: float = Field(30.0, ge=0, description="Seconds between two squeue/sacct checks of one Slurm job.")
    default_trackers: list[Literal["tensorboard", "mlflow", "wandb", "trackio"]] = Field(
        default_factory=list, description=(
            "Experiment trackers for every training run that names none beyond TensorBoard (always written): "
            "mlflow, wandb (offline unless wandb_mode says otherwise), trackio."))
    mlflow_tracking_uri: str | None = Field(None, description=(
        "MLflow tracking URI of the 'mlflow' tracker (default: the local file store <home>/mlruns; e.g. "
        "http://host:5000 or sqlite:///path/mlflow.db)."))
    wandb_mode: Literal["auto", "offline", "online"] = Field("auto", description=(
        "Weights & Biases mode of the 'wandb' tracker: 'auto' is online only when WANDB_API_KEY is set, else offline "
        "(nothing sent; the run folder is kept in the job folder for `wandb sync`)."))

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser().resolve()

    @property
    def data_paths(self) -> list[Path]:
        return [Path(p).expanduser().resolve() for p in self.data]

    @property
    def db_path(self) -> Path:
        return Path(self.registry).expanduser().resolve() if self.registry else self.home_path / "frbio.db"

    def folder(self, name: str) -> Path:
        """An artefact folder under home (snapshots, models, jobs, evals, uploads, cache), created on demand."""
        path = self.home_path / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def load_settings(**overrides) -> Settings:
    """Settings from FRBIO_<FIELD> environment variables, then explicit overrides (e.g. parsed flags)."""
    from frbio_core.config import from_env

    values = from_env(Settings, prefix="FRBIO_")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def is_loopback(host: str) -> bool:
    """Whether binding `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    host = (host or "").strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_auth(settings: Settings) -> bool:
    """Logins are required beyond the loopback address (unless the loudly named insecure flag says otherwise), and
    on it when asked for (--auth)."""
    if settings.auth:
        return True
    return not is_loopback(settings.host) and not settings.insecure_no_auth_on_public_address


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
