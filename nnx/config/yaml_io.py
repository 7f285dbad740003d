"""Reading experiment files and `--set` values as YAML, with two fixes to PyYAML's YAML 1.1.

- `1e-3` is a float (YAML 1.1 wants `1.0e-3` and would give the string '1e-3');
- a key written twice in one mapping is an error (PyYAML silently keeps the last);
- lists and mappings nest at most `MAX_DEPTH` deep (PyYAML would recurse until Python's
  stack runs out).
"""

import re

import yaml

from nnx.config.errors import ConfigError
from nnx.nesting import MAX_DEPTH


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a plain value, got {key!r}",
                    key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python reads at most 4,300 digits
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {len(node.value):,} characters is too long to read",
                node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _load(text):
    """The YAML document in `text`. Its nesting is checked first on the parser's events,
    which come without recursion; PyYAML's composer recurses once per level."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(problem=f"nested more than {MAX_DEPTH} deep",
                                           problem_mark=event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _problem(err):
    """A YAML error as one line: what and where (line, column)."""
    mark = getattr(err, "problem_mark", None)
    what = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    if context and "duplicate" not in what and "twice" not in what:
        what = f"{context}, {what}"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{what}"


def read_yaml_file(path):
    """The YAML document in `path` (any type); ConfigError for a missing or unreadable file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(None, f"experiment file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(None, f"{str(path)!r} is a folder, not an experiment file") from None
    except UnicodeDecodeError:
        raise ConfigError(None, "not a text file (an experiment file is YAML)",
                          source=str(path)) from None
    except OSError as err:
        raise ConfigError(None, f"cannot read {str(path)!r}: {err.strerror or err}") from None
    try:
        return _load(text)
    except yaml.YAMLError as err:
        raise ConfigError(None, f"not valid YAML: {_problem(err)}", source=str(path)) from None


def parse_value(text):
    """A `--set` value parsed as YAML (`5` -> 5, `1e-3` -> 0.001, `relu` -> 'relu', `` -> None)."""
    try:
        return _load(text)
    except yaml.YAMLError as err:
        raise ConfigError(None, f"the value {text!r} is not valid YAML: {_problem(err)}") from None
