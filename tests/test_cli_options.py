"""The CLI's choices come from the registries, so a new engine, sink or method shows up in
``lprr ... --help`` and is accepted without touching the commands."""
from __future__ import annotations

import argparse

import pytest

from lprr.app.cli import build_parser
from lprr.engine.backends import BACKEND_NAMES
from lprr.engine.methods import METHODS
from lprr.engine.sinks import DEFAULT_PORTS, PROTOCOLS


def _command(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _option(cmd: str, flag: str) -> argparse.Action:
    return next(a for a in _command(cmd)._actions if flag in a.option_strings)


@pytest.mark.parametrize("cmd", ["run", "demo", "eval"])
def test_backend_choices_are_the_registered_engines(cmd):
    assert _option(cmd, "--backend").choices == ["auto", *BACKEND_NAMES]


@pytest.mark.parametrize("cmd", ["run", "demo"])
def test_protocol_choices_are_the_registered_sinks(cmd):
    opt = _option(cmd, "--protocol")
    assert opt.choices == list(PROTOCOLS) and opt.default in PROTOCOLS
    for name in PROTOCOLS:
        assert f"{name} {DEFAULT_PORTS[name]}" in opt.help


@pytest.mark.parametrize("cmd", ["run", "demo"])
def test_method_help_names_every_registered_method(cmd):
    text = _option(cmd, "--method").help
    assert all(f"{name} (" in text for name in METHODS), text


def test_an_unknown_backend_or_protocol_is_refused_by_the_parser(capsys):
    for argv in (["run", "--backend", "nope"], ["demo", "--protocol", "midi"]):
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(argv)
        assert e.value.code == 2
        assert "invalid choice" in capsys.readouterr().err


def test_default_method_is_the_best_on_real_footage():
    """`lprr run`, `demo` and `gui` default to the method with the best mean detection AUC
    on the committed real-footage benchmark (docs/accuracy.json, no neutral given)."""
    import json

    from lprr.app.cli import build_parser
    from lprr.engine.methods import DEFAULT_METHOD
    from lprr.engine.paths import DOCS
    from lprr.engine.session import SessionSpec

    summary = json.loads((DOCS / "accuracy.json").read_text())["real"]["summary"]["none"]
    # METHOD@LANDMARKER rows are a method on another front end: the method's best counts
    scored: dict[str, float] = {}
    for row, s in summary.items():
        if row != "all zeros":
            m = row.partition("@")[0]
            scored[m] = max(scored.get(m, 0.0), s["mean_auc"])
    assert DEFAULT_METHOD == max(scored, key=scored.get)
    parser = build_parser()
    for cmd in (["run"], ["demo"]):
        assert parser.parse_args(cmd).method == DEFAULT_METHOD
    assert SessionSpec(source="x").method == DEFAULT_METHOD
