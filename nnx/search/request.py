"""`SearchRequest`: the options of one `nnx search` invocation, as given. `plan_search`
checks and resolves them (`nnx.search.plan`)."""

from dataclasses import dataclass

SAVE_MODEL = ("best", "all", "none")


@dataclass(frozen=True)
class SearchRequest:
    """The `nnx search` options (None: the experiment's `search:` value, or no limit)."""

    experiment: str
    overrides: tuple = ()  # the --set PATH=VALUE texts, in order
    results_dir: object = "results"
    method: str | None = None
    n_trials: int | None = None
    max_trials: int | None = None
    timeout: float | None = None
    storage: str | None = None
    study: str | None = None
    pruner: str | None = None
    save_model: str = "best"
    export_best: str | None = None
    pick: str | None = None  # knee | an objective: the front member to export and show
    warm_start: str | None = None
    threads: int | None = None
    n_jobs: int = 1
    exclusive: bool = False

    def __post_init__(self):
        object.__setattr__(self, "overrides", tuple(self.overrides))  # a list is fine too
