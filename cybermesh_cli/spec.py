"""Experiment specs: YAML -> yamale schema -> an immutable, validated :class:`Spec`.

Every problem is reported as one :class:`InputError` line naming the file, the key and, where
the YAML parser knows it, the line.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
import yamale

from cybermesh_cli.errors import InputError
from cybermesh_cli.paths import SCHEMAS_DIR

EXPERIMENT_SCHEMA = SCHEMAS_DIR / "experiment.yaml"


@dataclass(frozen=True)
class Spec:
    """A validated experiment spec, with the overrides already applied."""

    path: Path
    data: Mapping[str, Any]
    overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.data["name"])

    @property
    def phase(self) -> int:
        """The policy phase (0-7) whose driver runs this spec."""
        return int(self.data["phase"])

    @property
    def seed(self) -> int:
        """The one seed every random choice derives from."""
        return int(self.data["seed"])

    def block(self, key: str) -> Mapping[str, Any]:
        """Return a sub-mapping of the spec, or an empty mapping if absent."""
        value = self.data.get(key)
        return value if isinstance(value, Mapping) else {}

    def to_yaml(self) -> str:
        """Serialise the resolved spec (what the run actually used)."""
        return yaml.safe_dump(dict(self.data), sort_keys=False)


@cache
def _schema(path: Path) -> yamale.schema.Schema:
    return yamale.make_schema(str(path))


def _key_lines(text: str) -> dict[str, int]:
    """Map each dotted key path in a YAML document to its 1-based line."""
    lines: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                dotted = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                lines[dotted] = key_node.start_mark.line + 1
                walk(value_node, dotted)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[f"{prefix}.{index}"] = item.start_mark.line + 1
                walk(item, f"{prefix}.{index}")

    if root is not None:
        walk(root, "")
    return lines


MAX_YAML_BYTES = 1 << 20  # a spec or config is a few kB
MAX_CORPUS_BYTES = 1 << 23  # the 4,096-topic corpus is 1.6 MB
MAX_YAML_DEPTH = 32


def check_yaml_shape(text: str, path: Path | str) -> None:
    """Refuse aliases and deep nesting before building anything.

    A 600-byte file of nested aliases ("billion laughs") expands to gigabytes when walked, and
    deep nesting overflows the stack; scanning the parser's events is linear in the file.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise InputError(f"{path}: line {line}: YAML aliases (*{event.anchor}) are not "
                                 "allowed in this file; write the value out")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else "?"
                    raise InputError(f"{path}: line {line}: nested deeper than "
                                     f"{MAX_YAML_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None


def _yaml_error(path: Path | str, exc: yaml.YAMLError) -> InputError:
    """One line for a YAML error, with the line and column where the parser knows them."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        return InputError(f"{path}: YAML syntax error at {where}: {exc.problem}")
    return InputError(f"{path}: YAML error: {' '.join(str(exc).split())}")  # one line


def _read_mapping(path: Path, max_bytes: int = MAX_YAML_BYTES) -> tuple[dict[str, Any], str]:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        if path.stat().st_size > max_bytes:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes; a file of its kind may "
                             f"hold at most {max_bytes:,}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    check_yaml_shape(text, path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if data is None:
        raise InputError(f"{path}: file is empty")
    if not isinstance(data, dict):
        raise InputError(f"{path}: top level must be a mapping of keys, not {type(data).__name__}")
    return data, text


def validate_mapping(
    data: Mapping[str, Any],
    schema_path: Path,
    source: Path,
    text: str = "",
    overrides: Sequence[str] = (),
) -> None:
    """Validate ``data`` against a yamale schema; raise one line on the first problem."""
    result = _schema(schema_path).validate(data, str(source), True)
    if result.isValid():
        return
    first = sorted(result.errors)[0]
    key, _, message = first.partition(": ")
    where = f"{source}: {key}"
    line = _key_lines(text).get(key) or _key_lines(text).get(key.rsplit(".", 1)[0])
    if line:
        where += f" (line {line})"
    culprit = next((o for o in overrides if key.startswith(o.split("=", 1)[0])), None)
    if culprit:
        where += f" (set by --set {culprit})"
    more = f" [+{len(result.errors) - 1} more]" if len(result.errors) > 1 else ""
    raise InputError(f"{where}: {message}{more}")


def parse_value(raw: str, where: str) -> Any:
    """Parse one value given on the command line as YAML, bounded as spec files are."""
    check_yaml_shape(raw, where)
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _yaml_error(where, exc) from None


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``a.b=value`` applied; values parse as YAML scalars."""
    result = copy.deepcopy(dict(data))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise InputError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. duration.ticks=100")
        value = parse_value(raw, f"--set {key}") if raw else ""
        node: dict[str, Any] = result
        parts = key.split(".")
        if len(parts) > MAX_YAML_DEPTH:
            raise InputError(f"--set {key[:60]}...: nested deeper than {MAX_YAML_DEPTH} levels")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                path = ".".join(parts[: depth + 1])
                kind = type(child).__name__
                raise InputError(f"--set {item!r}: {path} is not a mapping (it holds {kind})")
            node = child
        node[parts[-1]] = value
    return result


def check_phase_block(data: Mapping[str, Any], source: Path) -> None:
    """Check that a phase N spec carries the ``phaseN`` block its driver reads, and no other."""
    block = f"phase{data['phase']}"
    if block not in data:
        raise InputError(f"{source}: {block}: missing; a phase {data['phase']} spec needs it")
    extra = [k for k in data if k.startswith("phase") and k not in ("phase", block)]
    if extra:
        raise InputError(f"{source}: {extra[0]}: does not belong in a phase {data['phase']} spec")


def load_spec(path: Path, overrides: Sequence[str] = (), seed: int | None = None) -> Spec:
    """Load, validate, apply overrides (``--set`` and ``--seed``) and validate again."""
    data, text = _read_mapping(path)
    validate_mapping(data, EXPERIMENT_SCHEMA, path, text)
    resolved = apply_overrides(data, overrides)
    if seed is not None:
        resolved["seed"] = seed
    validate_mapping(resolved, EXPERIMENT_SCHEMA, path, text, overrides)
    check_phase_block(resolved, path)
    return Spec(path=path, data=resolved, overrides=tuple(overrides))


def load_yaml_file(path: Path, schema_path: Path,
                   max_bytes: int = MAX_YAML_BYTES) -> dict[str, Any]:
    """Load any project YAML file (thresholds, configs) and validate it against its schema."""
    data, text = _read_mapping(path, max_bytes)
    validate_mapping(data, schema_path, path, text)
    return data
