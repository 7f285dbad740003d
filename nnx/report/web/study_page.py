"""The page of one study: what `nnx report STUDY` shows (facts, the best trial with the
command that reproduces it, every complete trial), and Optuna's own figures
(`optuna.visualization`) drawn from the study rebuilt in memory from its JSON document
(`nnx.report.optuna_study`): the same figures for a journal or a database study, from any
host, without touching the storage.

A study of several objectives shows its Pareto front first, drawn from the front its
document holds (`nnx.report.pareto`, as the terminal report draws it), and the front's
table in place of the trials ranked by the first objective.

`STUDY_FIGURES` is the list of the page's figures, in order: a figure is a title and a
function of (document, in-memory study) that returns a Plotly figure or raises `NotDrawn`;
a figure that concerns some studies only says which (`shown`), and a drawn one may carry
a line under it (`note`).
"""

from dataclasses import dataclass

from nnx.report.importance import evaluator, importance_study, param_importances
from nnx.report.optuna_study import rebuild_study
from nnx.report.pareto import front_data
from nnx.report.study import (
    best_fields,
    objective_field,
    param_names,
    study_facts,
    trials_table,
)
from nnx.report.values import as_dict, as_text
from nnx.report.view import Fields, Note
from nnx.report.web.figures import front_figure
from nnx.report.web.html import Figure, Figures, Renderer, page

CONTOUR_PARAMS = 4  # a contour grid of more parameters is too small to read
SUBPLOT_PX = 280  # height of one row of subplots


class NotDrawn(Exception):
    """Why a figure cannot be drawn from this study (yet)."""


@dataclass(frozen=True)
class StudyFigure:
    title: str
    draw: object  # (document, study) -> plotly Figure
    wide: bool = False
    shown: object = None  # (document) -> whether the page has this figure; None: always
    note: object = None  # (document) -> a line under the drawn figure, or ""


def _complete(study, at_least):
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(trials) < at_least:
        raise NotDrawn(f"needs at least {at_least} complete trial{'s' * (at_least > 1)} "
                       f"({len(trials)} so far)")
    return trials


def _metric(document):
    return as_text(document.get("metric"), "value")


def several_objectives(document):
    return front_data(document) is not None


def pareto_front(document, study):
    data = front_data(document)
    if not any(point["front"] for point in data["points"]):
        raise NotDrawn("no complete trial on the Pareto front yet")
    return front_figure(data)


def projection_note(document):
    """What a figure of the first two objectives leaves out, for three or more."""
    objectives = front_data(document)["objectives"]
    if len(objectives) <= 2:
        return ""
    return (f"{objectives[0]['metric']} against {objectives[1]['metric']}, the first two of "
            f"{len(objectives)} objectives. No trial is as good as a front member on all "
            f"{len(objectives)} and better on one, so some members look dominated here; a "
            f"point's hover shows every objective.")


def optimization_history(document, study):
    from optuna.visualization import plot_optimization_history

    _complete(study, 1)
    return plot_optimization_history(study, target_name=_metric(document))


def parameter_importance(document, study):
    from optuna.visualization import plot_param_importances

    weighed, reason = importance_study(document)
    if weighed is None:
        raise NotDrawn(reason)
    return plot_param_importances(weighed, evaluator=evaluator(),
                                  target_name=_metric(document))


def parallel_coordinates(document, study):
    from optuna.visualization import plot_parallel_coordinate

    _complete(study, 2)
    return plot_parallel_coordinate(study, target_name=_metric(document))


def slices(document, study):
    from optuna.visualization import plot_slice

    _complete(study, 1)
    figure = plot_slice(study, target_name=_metric(document))
    figure.update_layout(height=SUBPLOT_PX + 100)
    return figure


def contours(document, study):
    """The contour of each pair of the (at most four most important) varied parameters."""
    from optuna.visualization import plot_contour

    trials = _complete(study, 2)
    varied = [name for name in param_names(document)
              if len({repr(t.params.get(name)) for t in trials if name in t.params}) > 1]
    if len(varied) < 2:
        raise NotDrawn("needs two parameters that took more than one value in complete "
                       "trials")
    importances, _ = param_importances(document)
    if importances:
        varied.sort(key=lambda name: -importances.get(name, 0.0))
    chosen = varied[:CONTOUR_PARAMS]
    figure = plot_contour(study, params=chosen, target_name=_metric(document))
    figure.update_layout(height=SUBPLOT_PX * (len(chosen) if len(chosen) > 2 else 1) + 120)
    return figure


def intermediate_values(document, study):
    from optuna.visualization import plot_intermediate_values

    if not any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        raise NotDrawn("no trial reported per-epoch values")
    return plot_intermediate_values(study)


STUDY_FIGURES = [
    StudyFigure("Pareto front", pareto_front, shown=several_objectives, note=projection_note),
    StudyFigure("optimization history", optimization_history),
    StudyFigure("parameter importance (PED-ANOVA)", parameter_importance),
    StudyFigure("parallel coordinates", parallel_coordinates, wide=True),
    StudyFigure("slices: the value against each parameter", slices, wide=True),
    StudyFigure("contours", contours, wide=True),
    StudyFigure("intermediate values (per epoch)", intermediate_values),
]


def study_figures(document):
    """The page's figures, each drawn or replaced by the reason it is not."""
    entries = [e for e in STUDY_FIGURES if e.shown is None or e.shown(document)]
    try:
        study = rebuild_study(document)
    except (KeyError, TypeError, ValueError) as err:
        reason = f"cannot read the search space ({type(err).__name__}: {err})"
        return [Figure(entry.title, note=reason) for entry in entries]
    figures = []
    for entry in entries:
        try:
            figure = entry.draw(document, study)
        except NotDrawn as why:
            figures.append(Figure(entry.title, note=str(why)))
            continue
        except (ValueError, TypeError, KeyError, ZeroDivisionError) as err:
            figures.append(Figure(entry.title, note=f"cannot draw it: {err}"))
            continue
        # Optuna's own margins and legends; the caption above is the title.
        figure.update_layout(title=None, width=None, margin_t=30)
        figure.update_xaxes(automargin=True)  # long parameter names must not be cut
        figure.update_yaxes(automargin=True)
        figures.append(Figure(entry.title, figure, wide=entry.wide,
                              note=entry.note(document) if entry.note else ""))
    return figures


def study_page(document, path, links):
    renderer = Renderer(links)
    metric = _metric(document)
    scored = [t for t in document["trials"] if t.get("state") == "complete"]
    sections = [Fields(None, study_facts(document, path))]
    if "damaged" in document:
        sections.append(Note(document["damaged"], style="red"))
    sections += [best_fields(as_dict(document.get("best")), metric),
                 Figures(None, study_figures(document)),
                 trials_table(document, front_data(document), param_names(document),
                              max(len(scored), 1))]
    body = "".join(renderer.section(s) for s in sections)
    return page(f"study {document['study']}", body, links.depth,
                subtitle=objective_field(document)[1], plotly=renderer.figures > 0)
