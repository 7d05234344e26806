"""Component configuration from flags, environment and a YAML file, like kube components.

Precedence: command-line flags > environment variables > the ``--config`` YAML file >
built-in defaults. Every long flag ``--some-flag`` has the environment variable
``KUBEMU_SOME_FLAG`` and the file key ``some-flag`` (or ``some_flag``). Unknown file keys
are an error naming the key, so a typo never passes silently.
"""

from __future__ import annotations

import argparse
import os
import sys

import yaml

ENV_PREFIX = "KUBEMU_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_name(flag: str) -> str:
    return ENV_PREFIX + flag.lstrip("-").upper().replace("-", "_")


def _boolean(raw, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SystemExit(f"{source}: expected true or false, got {raw!r}")


def _convert(action: argparse.Action, raw, source: str):
    """The value ``raw`` (from the environment or the file) means for ``action``'s destination.

    For ``--no-x`` (store_false) flags, ``KUBEMU_NO_X=true`` means the flag is given: False.
    """
    if isinstance(action, argparse._StoreFalseAction):
        return not _boolean(raw, source)
    if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction):
        return _boolean(raw, source)
    if action.type is None or raw is None:
        return raw if not isinstance(raw, list) else ",".join(map(str, raw))
    try:
        return action.type(raw)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"{source}: {e}") from None


def parse(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` with defaults taken from the environment and an optional config file."""
    argv = sys.argv[1:] if argv is None else argv
    if not any(a.dest == "config" for a in parser._actions):
        parser.add_argument("--config", default=os.environ.get(env_name("config"), ""),
                            help="YAML file of flag values (keys are flag names); flags and KUBEMU_* env win")
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=os.environ.get(env_name("config"), ""))
    known, _ = pre.parse_known_args(argv)
    file_values = _load_file(known.config) if known.config else {}
    by_name = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in ("help", "config"):
            by_name[longs[0][2:]] = action
    unknown = {k for k in file_values if k.replace("_", "-") not in by_name}
    if unknown:
        raise SystemExit(f"{known.config}: unknown keys: {', '.join(sorted(unknown))}")
    defaults = {}
    for name, action in by_name.items():
        for key in (name, name.replace("-", "_")):
            if key in file_values:
                defaults[action.dest] = _convert(action, file_values[key], f"{known.config}: {key}")
        env = env_name(name)
        if env in os.environ:
            defaults[action.dest] = _convert(action, os.environ[env], env)
    parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def _load_file(path: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"cannot read config file {path}: {e}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: a config file must be a mapping of flag names to values")
    return data
