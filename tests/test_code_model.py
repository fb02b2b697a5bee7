"""The code model (model/code/, docs/code-map.md): selected by default, named in every output,
its options validated, and its C-grain rules each able to fail."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pgcheck.checker.run.check import run_check
from pgcheck.model import load, make_config

from pgcheck.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_explore_checks_the_code_model_by_default_and_names_it() -> None:
    code, out, err = run("explore", "--carriers=1", "--sessions=1", "--engine=python", "-q")
    assert code == 0, out + err
    assert "explore: model code (the C scheduler at c2c6ec31), mode pooled, 1 carriers x 1 sessions" in out
    assert "sticky_idle_ms=10" in out
    code, out, _ = run("explore", "--model=design", "--carriers=1", "--sessions=1", "--engine=python", "-q")
    assert code == 0
    assert "explore: model design (scheduler-digest.md), mode pooled" in out


def test_list_names_the_model_and_its_gucs() -> None:
    code, out, _ = run("list", "--carriers=1", "--sessions=1")
    assert code == 0
    assert "model: code (the C scheduler of samwillis/multithreaded-postgres at c2c6ec31" in out
    assert "GUCs of the C code" in out and "sticky_idle_ms" in out and "fix_poller_ownership" in out
    assert "PollRecheckGuard(c: carrier)" in out and "K1 " in out
    code, out, _ = run("list", "--model=design", "--carriers=1", "--sessions=1")
    assert code == 0 and "model: design" in out and "sticky_idle_ms" not in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--option", "sticky_idle=true"], "option sticky_idle belongs to the design model; the code model uses sticky_idle_ms"),
        (["--model=design", "--option", "sticky_idle_ms=0"], "option sticky_idle_ms belongs to the code model"),
        (["--option", "hibernate_after_ms=-2"], "option hibernate_after_ms must be within -1..100000"),
        (["--option", "ssl_sessions=3", "--sessions=2"], "option ssl_sessions must be at most --sessions (2)"),
        (["--model=code", "--mutation", "lost-wake"], "is seeded into the design model; add --model design"),
    ],
)
def test_bad_code_model_input_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    code, out, err = run("explore", *args)
    assert code == 2
    text = out + err
    assert fragment in text and "Traceback" not in text


def _run(**options: object) -> str:
    cfg = make_config("pooled", 2, 1, dict(options), model="code")
    r = run_check(load(cfg), engine="python", default_trace_dir=None)
    if r.verdict == "ok":
        return "ok"
    assert r.result.violation is not None
    return r.result.violation.property_id


def test_lifetime_rule_fails_on_the_code_and_holds_with_the_fix() -> None:
    assert _run(client_close=True, messages=0) == "K1"
    assert _run(client_close=True, messages=0, fix_poller_ownership=True) == "ok"


def test_the_first_connection_starts_two_carriers_when_the_limit_allows() -> None:
    """Item 5 of issue 15: the start is decided at arrival (postmaster_pooled_protocol_launch), and the
    first carrier is not yet registered then, so a pool of 2 starts both at once; with a limit of 1, one."""
    from pgcheck.checker.lang.compile import compile_model

    for limit, started in ((2, 2), (1, 1)):
        model = load(make_config("pooled", limit, 2, {}, model="code")).trace()
        cm = compile_model(model)
        arrive = model.binding_by_label()["ConnectionArrives(b=0)"]
        after = cm.binding_step[arrive.index](model.init)
        assert after is not None
        locs = [after[model.slot_of[("carrier", c, "loc")]] for c in range(limit)]
        assert sum(1 for x in locs if x == model.kinds["carrier"].fields["loc"].index("starting")) == started
