"""`nnx schema [SECTION]`: every key an experiment file may hold, with its type, default and
allowed values (`nnx.config.reference`, read from what validation reads)."""

from typing import Annotated

import typer

from nnx.cli.common import JsonOpt, console, exit_codes, print_json


def schema(
    section: Annotated[str | None, typer.Argument(
        metavar="SECTION", show_default=False,
        help="A section (data, model, train, search, ...) or any dotted prefix "
             "(train.optimizer, search.space). Without one: the top-level keys.")] = None,
    json_: JsonOpt = False,
):
    """List the keys of an experiment file: type, default, allowed values, what each does.

    Generated from the tables and registries that validate files, so it lists what `nnx
    validate` accepts. `nnx schema search` shows the search-space syntax.
    """
    with exit_codes():
        from nnx.config.reference import section_fields

        chosen = section_fields(section)
        if json_:
            print_json([f.to_json() for f in chosen])
            return
        _print(section, chosen)


def _print(section, chosen):
    """Each plain key on a line (type, default) with what it does below it; then the keys of
    each layer, loss, optimizer, schedule or dataset, one line per type."""
    from rich.text import Text

    from nnx.config import reference

    out = console()
    plain = [f for f in chosen if f.variant in (None, reference.GRAPH)]
    variants = {}  # the owner (`train.optimizer`) -> {type: [its fields]}
    for f in chosen:
        if f.variant not in (None, reference.GRAPH):
            variants.setdefault(f.path.rsplit(".", 1)[0], {}).setdefault(f.variant, []).append(f)
    for f in plain:
        line = Text(f.path, style="bold")
        line.append(f"  {f.kind}", style="cyan")
        line.append("  required" if f.required else f"  default {_value(f.default)}",
                    style="green")
        out.print(line)
        listed = f.allowed and f.key != "type" or f.path.rsplit(".", 1)[0] not in variants
        allowed = f"; one of: {', '.join(f.allowed)}" if f.allowed and listed else ""
        out.print(_indented(f.doc + allowed, 4, out.width))
    for owner, types in variants.items():
        kind = "dataset" if owner == "data" else "type"
        out.print(Text(f"\n{owner}: the keys of each {kind} (required first, then "
                       "key=default)", style="bold"))
        names = next((f.allowed for f in chosen if f.path == f"{owner}.type"), tuple(types))
        registry_aliases = _aliases(owner)
        width = max(map(len, names)) + 2
        for name in names:
            keys = types.get(name, [])
            text = (f"the same as {registry_aliases[name]}" if name in registry_aliases else
                    ", ".join([f.key for f in keys if f.required]
                              + [f"{f.key}={_value(f.default)}" for f in keys
                                 if not f.required]) or "no arguments")
            line = Text(f"  {name:<{width}}", style="cyan")
            line.append(text)
            out.print(line)
        valued = {}
        for keys in types.values():
            for f in keys:
                if f.allowed:
                    valued.setdefault(f.allowed, {})[f.key] = None
        for allowed, keys in valued.items():
            out.print(_indented(f"{', '.join(keys)}: {', '.join(allowed)}", 2, out.width),
                      style="dim")
    if section in ("search", "search.space"):
        out.print(Text("\nA search space maps experiment paths (as --set writes them) to "
                       "parameters, for example:", style="bold"))
        out.print(Text(reference.SPACE_EXAMPLE.rstrip()), soft_wrap=True)
    if not section:
        out.print(Text("\n`nnx schema SECTION` lists the keys of a section (data, model, "
                       "train, search), with the arguments of each layer, loss, optimizer "
                       "and schedule.", style="dim"))


def _aliases(owner):
    from nnx.config.reference import REGISTRIES, aliases

    return aliases(REGISTRIES[owner]) if owner in REGISTRIES else {}


def _indented(text, indent, width):
    """`text` wrapped to `width`, every line indented (rich would pad the lines with spaces)."""
    import textwrap

    from rich.text import Text

    margin = " " * indent
    return Text(textwrap.fill(text, width=max(width, 40), initial_indent=margin,
                              subsequent_indent=margin, break_on_hyphens=False))


def _value(value):
    from nnx.format import fmt_param

    return "null" if value is None else fmt_param(value)
