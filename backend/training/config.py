"""The train config: one pydantic object (help text and bounds on every field) from which the Train tab's form,
the `python -m backend train` flags, saved presets and the job's config.json are all generated.

Defaults are the paper's (Mannion et al., LREC 2026: continued pre-training of Qwen3-Base with the HF Trainer):
full-parameter training, lr 2e-5, cosine schedule, no warmup, weight decay 0.05, bf16 where the device supports it,
packed blocks without padding. Only the block size differs: 256 tokens for the CPU demo (the paper packs 2048).
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from frbio_core.config import labels, load_config_file, parse_config, required_text
from backend.errors import TrainError

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainConfig(BaseModel):
    """Domain-adaptive pre-training (causal LM) of a registered model on a corpus snapshot."""

    model_config = ConfigDict(extra="forbid")
    # the sections of the form and of `--help` that fields name with `group=`, in order; the fields most people
    # change first have none. `when`: shown only while another field has that value.
    GROUPS: ClassVar[dict] = {
        "lora": {"label": "LoRA settings", "label_fr": "Réglages LoRA", "when": {"method": "lora"}},
        "optimisation": {"label": "Optimisation", "label_fr": "Optimisation"},
        "evaluation": {"label": "Evaluation and checkpoints", "label_fr": "Évaluation et points de contrôle"},
        "speed": {"label": "Precision and speed", "label_fr": "Précision et vitesse"},
        "distributed": {"label": "Several GPUs", "label_fr": "Plusieurs GPU"},
    }

    base_model: str = Field("smollm2-135m-instruct", description=(
        "Registered model to continue pre-training (its id in the model registry; the offline default is "
        "SmolLM2-135M-Instruct)."), json_schema_extra=labels("Base model", "Modèle de base",
            description_fr=("Modèle enregistré dont on poursuit le pré-entraînement (son identifiant dans le registre des "
            "modèles ; par défaut, hors ligne : SmolLM2-135M-Instruct).")))
    snapshot: str = Field("", validate_default=True, description=(
        "Corpus snapshot id (snap-…) whose train split is the training text; its validation split and the "
        "general-domain validation set are evaluated as perplexity. Required."),
            json_schema_extra=labels("Corpus snapshot", "Instantané du corpus",
            description_fr=("Identifiant de l'instantané du corpus (snap-…) dont la partie d'entraînement fournit le texte ; "
            "sa partie de validation et le jeu de validation du domaine général servent à mesurer la "
            "perplexité. Obligatoire.")))
    output_name: str = Field("", max_length=80, description=(
        "Id of the trained model under frbio_home/models (empty: '<base model>-dapt-<job id>')."),
            json_schema_extra=labels("Name of the trained model", "Nom du modèle entraîné",
            description_fr=("Identifiant du modèle entraîné sous frbio_home/models (vide : « <modèle de "
            "base>-dapt-<identifiant de la tâche> »).")))
    method: Literal["full", "lora"] = Field("full", description=(
        "'full': every parameter is trained (the paper). 'lora': low-rank adapters through peft (cheaper; the "
        "adapter is merged into the base for the saved model and also kept on its own)."),
            json_schema_extra=labels("Method (full or LoRA)", "Méthode (complète ou LoRA)",
            description_fr=("« full » : tous les paramètres sont entraînés (l'article). « lora » : des adaptateurs de rang "
            "faible avec peft (moins coûteux ; l'adaptateur est fusionné dans le modèle de base pour le "
            "modèle enregistré et gardé aussi à part).")))
    lora_r: int = Field(16, ge=1, le=1024, description="LoRA rank (method 'lora' only).",
        json_schema_extra=labels("LoRA rank", "Rang LoRA", group="lora",
            description_fr="Rang LoRA (méthode « lora » seulement)."))
    lora_alpha: int = Field(32, ge=1, le=4096, description="LoRA scaling alpha; the update is scaled by alpha / r.",
        json_schema_extra=labels("LoRA alpha", "Alpha LoRA", group="lora",
            description_fr="Facteur d'échelle alpha de LoRA ; la mise à jour est multipliée par alpha / r."))
    lora_dropout: float = Field(0.05, ge=0.0, le=0.9,
        json_schema_extra={**labels("LoRA dropout", "Dropout LoRA", group="lora",
            description_fr="Dropout sur la branche LoRA pendant l'entraînement."), "step": 0.01},
                                description="Dropout on the LoRA branch during training.")
    lora_target_modules: list[str] = Field(default_factory=lambda: list(LORA_TARGETS), description=(
        "Module names that get adapters (Llama/Qwen projections by default; ['all-linear'] for every linear "
        "layer but the output head)."), json_schema_extra=labels("LoRA target modules", "Modules ciblés par LoRA", group="lora",
            description_fr=("Noms des modules qui reçoivent des adaptateurs (par défaut les projections Llama/Qwen ; "
            "['all-linear'] pour toutes les couches linéaires sauf la tête de sortie).")))
    learning_rate: float = Field(2e-5, gt=0.0, le=1.0,
        json_schema_extra={**labels("Learning rate", "Taux d'apprentissage",
            description_fr="Taux d'apprentissage maximal (l'article : 2e-5)."), "ui": "number", "step": 1e-6},
                                 description="Peak learning rate (the paper: 2e-5).")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description=(
        "Decay of the learning rate after warm-up, down to 0 at max_steps ('constant' keeps it)."),
            json_schema_extra=labels("Learning rate schedule", "Évolution du taux d'apprentissage", group="optimisation",
            description_fr=("Décroissance du taux d'apprentissage après l'échauffement, jusqu'à 0 au dernier pas (« constant "
            "» le garde).")))
    warmup_steps: int = Field(0, ge=0, le=10_000_000, description="Linear warm-up steps from 0 (the paper: none).",
        json_schema_extra=labels("Warm-up steps", "Pas d'échauffement", group="optimisation",
            description_fr="Pas d'échauffement linéaire depuis 0 (l'article : aucun)."))
    weight_decay: float = Field(0.05, ge=0.0, le=1.0,
        json_schema_extra={**labels("Weight decay", "Décroissance des poids", group="optimisation",
            description_fr=("Décroissance des poids découplée d'AdamW (sauf biais et poids de normalisation) ; l'article : "
            "0,05.")), "step": 0.01}, description=(
        "AdamW decoupled weight decay (not applied to biases and norm weights), the paper's 0.05."))
    max_grad_norm: float = Field(1.0, ge=0.0, le=1e6, description="Gradient clipping by global norm (0 = none).",
        json_schema_extra=labels("Gradient clipping (max norm)", "Écrêtage du gradient (norme max.)", group="optimisation",
            description_fr="Écrêtage du gradient par sa norme globale (0 = aucun)."))
    max_steps: int = Field(100, ge=1, le=10_000_000, description=(
        "Optimizer steps to run. Tokens per step = micro_batch_size × grad_accum × block_size (× GPUs)."),
            json_schema_extra=labels("Training steps", "Pas d'entraînement",
            description_fr=("Pas d'optimisation à faire. Tokens par pas = taille du micro-lot × accumulation × taille des "
            "blocs (× nombre de GPU).")))
    micro_batch_size: int = Field(8, ge=1, le=1024, description="Blocks per forward/backward pass (per device).",
        json_schema_extra=labels("Micro-batch size", "Taille du micro-lot",
            description_fr="Blocs par passe avant/arrière (par processeur)."))
    grad_accum: int = Field(1, ge=1, le=4096, description="Micro-batches accumulated into one optimizer step.",
        json_schema_extra=labels("Gradient accumulation", "Accumulation de gradients", group="optimisation",
            description_fr="Micro-lots cumulés en un pas d'optimisation."))
    block_size: int = Field(256, ge=16, le=131_072, description=(
        "Tokens per packed training block (documents joined with EOS, no padding). 256 for the CPU demo; the paper "
        "uses 2048. At most the model's context length."),
            json_schema_extra=labels("Block size (tokens)", "Taille des blocs (tokens)",
            description_fr=("Tokens par bloc d'entraînement (documents joints par EOS, sans remplissage). 256 pour la "
            "démonstration sur CPU ; l'article prend 2048. Au plus la longueur de contexte du modèle.")))
    precision: Literal["auto", "bf16", "fp32"] = Field("auto", description=(
        "'auto': bf16 autocast where the device supports it (a CUDA GPU with bf16, a CPU with AVX512-BF16/AMX: "
        "about 1.4× faster there), else fp32. Weights and optimizer states stay fp32 either way."),
            json_schema_extra=labels("Precision", "Précision numérique", group="speed",
            description_fr=("« auto » : autocast bf16 là où le processeur le permet (un GPU CUDA avec bf16, un CPU avec "
            "AVX512-BF16/AMX : environ 1,4 × plus rapide), sinon fp32. Les poids et les états de l'optimiseur"
            " restent en fp32 dans tous les cas.")))
    gradient_checkpointing: bool = Field(False, description=(
        "Recompute activations in the backward pass: far less activation memory, about 30 % more compute."),
            json_schema_extra=labels("Gradient checkpointing", "Recalcul des activations (gradient checkpointing)", group="speed",
            description_fr=("Recalculer les activations pendant la passe arrière : bien moins de mémoire d'activations, "
            "environ 30 % de calcul en plus.")))
    compile: Literal["auto", "on", "off"] = Field("auto", description=(
        "torch.compile the model for training (inductor): on this 2-core CPU 1.5× the tokens/s of eager with bf16 "
        "(bench/README.md), after a compile of about a minute at the first step. 'auto': on for models of 50M+ "
        "parameters trained for 60+ steps (where it pays back), off otherwise. Falls back to eager if compiling "
        "fails."), json_schema_extra=labels("Compile the model (torch.compile)", "Compiler le modèle (torch.compile)", group="speed",
            description_fr=("Compiler le modèle pour l'entraînement (torch.compile, inductor) : sur ce CPU à 2 cœurs, 1,5 × "
            "les tokens/s du mode eager en bf16 (bench/README.md), après une compilation d'environ une minute"
            " au premier pas. « auto » : activé pour les modèles de 50 M paramètres et plus entraînés 60 pas "
            "ou plus (là où c'est rentable), désactivé sinon. Repli sur le mode eager si la compilation "
            "échoue.")))
    attention: Literal["auto", "sdpa", "eager"] = Field("auto", description=(
        "Attention kernel. 'auto': 'eager' (scores materialised, fused by torch.compile: fastest on a CPU for blocks "
        "up to 512 tokens) when compiling on a CPU, else 'sdpa' (PyTorch's fused attention; the choice for GPUs and "
        "long blocks)."), json_schema_extra=labels("Attention kernel", "Noyau d'attention", group="speed",
            description_fr=("Noyau d'attention. « auto » : « eager » (scores matérialisés, fusionnés par torch.compile : le "
            "plus rapide sur CPU pour des blocs jusqu'à 512 tokens) quand on compile sur CPU, sinon « sdpa » "
            "(l'attention fusionnée de PyTorch ; le choix pour les GPU et les longs blocs).")))
    eval_every: int = Field(25, ge=0, le=10_000_000, description=(
        "Evaluate domain and general-domain perplexity every N steps (also before the first step and after the "
        "last; 0 = only then)."),
            json_schema_extra=labels("Evaluate perplexity every N steps", "Mesurer la perplexité tous les N pas", group="evaluation",
            description_fr=("Mesurer la perplexité du domaine et du domaine général tous les N pas (aussi avant le premier "
            "pas et après le dernier ; 0 = seulement alors).")))
    eval_batches: int = Field(8, ge=1, le=100_000, description=(
        "At most this many micro-batches of each validation set per evaluation (the same blocks every time)."),
            json_schema_extra=labels("Evaluation batches", "Lots d'évaluation", group="evaluation",
            description_fr=("Au plus ce nombre de micro-lots de chaque jeu de validation par évaluation (les mêmes blocs à "
            "chaque fois).")))
    save_every: int = Field(25, ge=0, le=10_000_000, description=(
        "Write a resumable checkpoint every N steps (0 = none: a stopped job restarts from step 0)."),
            json_schema_extra=labels("Checkpoint every N steps", "Point de contrôle tous les N pas", group="evaluation",
            description_fr=("Écrire un point de contrôle de reprise tous les N pas (0 = aucun : une tâche arrêtée repart du "
            "pas 0).")))
    keep_last: int = Field(2, ge=1, le=1000, description="Checkpoints kept (older ones are deleted).",
        json_schema_extra=labels("Checkpoints kept", "Points de contrôle conservés", group="evaluation",
            description_fr="Points de contrôle conservés (les plus anciens sont supprimés)."))
    keep_every: int = Field(0, ge=0, le=10_000_000, description=(
        "Keep a checkpoint for good every N steps, as a model of its own (kind 'checkpoint': evaluated, merged, "
        "compared like any model); 0 = none. Apart from the resumable checkpoints above."),
            json_schema_extra=labels("Keep a checkpoint as a model every N steps",
                                     "Garder un point de contrôle comme modèle tous les N pas", group="evaluation",
            description_fr=("Garder pour de bon un point de contrôle tous les N pas, comme un modèle à part entière (type « "
            "checkpoint » : évalué, fusionné, comparé comme tout modèle) ; 0 = aucun. En plus des points de "
            "contrôle de reprise ci-dessus.")))
    keep_steps: list[int] = Field(default_factory=list, description=(
        "Also keep these steps as models (e.g. 500 1000 1440); comma-separated on the command line."),
            json_schema_extra=labels("Keep these steps as models", "Garder ces pas comme modèles", group="evaluation",
            description_fr=("Garder aussi ces pas comme modèles (par ex. 500 1000 1440) ; séparés par des virgules en ligne "
            "de commande.")))
    seed: int = Field(42, ge=0, le=2**32 - 1, description=(
        "Seed for the block order, LoRA initialisation and dropout: same seed and data, same run."),
            json_schema_extra=labels("Random seed", "Graine aléatoire", group="optimisation",
            description_fr=("Graine de l'ordre des blocs, de l'initialisation LoRA et du dropout : même graine et mêmes "
            "données, même entraînement.")))
    num_threads: int = Field(0, ge=0, le=1024, description="CPU threads for torch (0 = one per core).",
        json_schema_extra=labels("CPU threads", "Fils d'exécution CPU", group="speed",
            description_fr="Fils d'exécution CPU pour torch (0 = un par cœur)."))
    num_gpus: int = Field(1, ge=1, le=64, description=(
        "GPUs for one job: more than one launches it through `accelerate launch` (see strategy)."),
            json_schema_extra=labels("GPUs", "Nombre de GPU", group="distributed",
            description_fr="GPU pour une tâche : plus d'un la lance avec « accelerate launch » (voir la stratégie)."))
    strategy: Literal["ddp", "fsdp"] = Field("ddp", description=(
        "Multi-GPU strategy: DDP (a full copy per GPU) or FSDP full shard (the paper); ignored on one device."),
            json_schema_extra=labels("Multi-GPU strategy", "Stratégie multi-GPU", group="distributed",
            description_fr=("Stratégie multi-GPU : DDP (une copie complète par GPU) ou FSDP en partitionnement complet "
            "(l'article) ; ignorée sur un seul processeur.")))
    trackers: list[Literal["tensorboard", "mlflow", "wandb", "trackio"]] = Field(
        default_factory=lambda: ["tensorboard"], description=(
            "Experiment trackers: TensorBoard is always written (job folder/tensorboard); add mlflow (local store "
            "unless the server's settings name one), wandb (offline unless set online), trackio (local). None beyond "
            "TensorBoard: the server's default trackers."),
            json_schema_extra=labels("Experiment trackers", "Suivi des expériences", group="evaluation",
            description_fr=("Suivi des expériences : TensorBoard est toujours écrit (dossier de la tâche/tensorboard) ; "
            "ajoutez mlflow (stockage local sauf si les réglages du serveur en nomment un), wandb (hors ligne"
            " sauf réglage en ligne), trackio (local). Aucun en plus de TensorBoard : le suivi par défaut du "
            "serveur.")))

    _snapshot_given = required_text("snapshot", hint="the id of a built corpus snapshot (snap-…)")

    @model_validator(mode="after")
    def _warmup_within_run(self):
        if self.warmup_steps > self.max_steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) is more than max_steps ({self.max_steps}): the "
                             "learning rate would never reach its peak; lower the warm-up or train longer")
        return self

    @field_validator("keep_steps", mode="before")
    @classmethod
    def _steps(cls, value):
        if isinstance(value, (str, int)):
            value = [value]
        return [int(p) for v in value or [] for p in str(v).replace(",", " ").split()]

    @model_validator(mode="after")
    def _kept_within_run(self):
        outside = [s for s in self.keep_steps if not 1 <= s <= self.max_steps]
        if outside:
            raise ValueError(f"keep_steps {outside[0]} is outside the run (steps 1 to max_steps = {self.max_steps})")
        return self

    @property
    def kept_steps(self) -> list[int]:
        """The steps kept as models, in order; the last step is the trained model itself, not a checkpoint."""
        every = set(range(self.keep_every, self.max_steps, self.keep_every)) if self.keep_every else set()
        return sorted((every | set(self.keep_steps)) - {self.max_steps})

    @property
    def tokens_per_step(self) -> int:
        return self.micro_batch_size * self.grad_accum * self.block_size * self.num_gpus


def parse_train_config(data: dict) -> TrainConfig:
    return parse_config(TrainConfig, data, "train config", TrainError)


def load_train_config(path: Path | str) -> dict:
    """The fields of a YAML or JSON train config file (validated later, with any CLI overrides)."""
    return load_config_file(path, "train config", TrainError)
