"""The interrupt watchdog: a swallowed Ctrl-C is raised again; exit 130 comes from any thread."""

import signal
import subprocess
import sys
import textwrap
import time

SWALLOWS_ONCE = textwrap.dedent("""
    import time
    from cybermesh_cli.interrupts import acknowledge, catch_interrupts, exit_interrupted
    catch_interrupts()
    try:
        try:
            print("ready", flush=True)
            time.sleep(30)
        except:  # noqa: E722 - a library's bare except around an import
            pass
        print("swallowed", flush=True)
        while True:
            sum(range(1000))
    except KeyboardInterrupt:
        acknowledge()
        print("caught again", flush=True)
        exit_interrupted()
""")

SWALLOWS_ALL = textwrap.dedent("""
    import time
    from cybermesh_cli import interrupts
    interrupts.GRACE_S = 2.0
    interrupts.catch_interrupts()
    deadline = time.monotonic() + 30
    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except:  # noqa: E722 - swallows every interrupt the watchdog raises
            pass
    print("never ended", flush=True)
""")


def _interrupted(script: str) -> tuple[int, str, float]:
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    time.sleep(0.3)  # into the sleep that swallows
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=40)
    return proc.returncode, out + err, time.monotonic() - began


def test_an_interrupt_a_library_swallowed_is_raised_again_within_a_second_or_two():
    code, output, seconds = _interrupted(SWALLOWS_ONCE)
    assert code == 130 and "swallowed" in output and "caught again" in output, output
    assert seconds < 5


def test_a_command_that_swallows_every_interrupt_still_exits_130_from_the_watchdog_thread():
    code, output, seconds = _interrupted(SWALLOWS_ALL)
    assert code == 130, output
    assert "never ended" not in output and "main thread" not in output, output
    assert 1.5 < seconds < 10
