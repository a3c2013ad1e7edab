"""Long waits say what they wait for: a spinner on a terminal, one plain line when piped."""

import io

from rich.console import Console

from cybermesh_cli.progress import waiting


def test_a_piped_wait_prints_one_plain_line_and_a_terminal_gets_a_spinner():
    piped = io.StringIO()
    with waiting(Console(file=piped, force_terminal=False), "loading [the] model ...") as status:
        assert status is None
    assert piped.getvalue() == "loading [the] model ...\n"  # printed once, markup left alone
    shown = io.StringIO()
    with waiting(Console(file=shown, force_terminal=True), "loading ...") as status:
        assert status is not None
        status.update("loading: half way")
    assert "loading" in shown.getvalue()
