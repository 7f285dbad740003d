"""`nnx datasets`: the built-in datasets."""

from nnx.cli.common import JsonOpt, exit_codes, print_json


def datasets(json_: JsonOpt = False):
    """List the built-in datasets (use one with `data: {dataset: NAME}`)."""
    with exit_codes():
        from nnx.data import describe_datasets

        rows = describe_datasets()
        if json_:
            print_json(rows)
            return
        from nnx.report.tables import datasets_table, print_sections

        print_sections([datasets_table(rows)])
