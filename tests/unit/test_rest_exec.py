"""The exec protocol's pure parts (apiserver/rest/exec.py): frames, exit Status, the line terminal."""

from __future__ import annotations

import json

from apiserver.rest import exec as execproto


def test_exit_status_carries_the_code_kubectl_exits_with():
    assert json.loads(execproto.exit_status(0, ["true"])) == {"metadata": {}, "status": "Success"}
    failed = json.loads(execproto.exit_status(3, ["sh", "-c", "exit 3"]))
    assert (failed["reason"], failed["details"]["causes"]) == ("NonZeroExitCode",
                                                              [{"reason": "ExitCode", "message": "3"}])
    assert execproto.frame(execproto.STDOUT, b"hi") == b"\x01hi"


def test_line_shell_echoes_edits_runs_lines_and_exits():
    shell = execproto.LineShell()
    actions = shell.feed(b"ecx\x7fho hi\r")
    assert [a for a in actions if a[0] == "run"] == [("run", b"echo hi")]
    assert b"".join(d for kind, d in actions if kind == "echo") == b"ecx\b \bho hi\r\n"
    assert shell.feed(b"\r") == [("echo", b"\r\n"), ("echo", execproto.PROMPT)]
    assert shell.feed(b"par\x03")[-1] == ("echo", b"^C\r\n# ") and shell.line == bytearray()
    shell.feed(b"exit 4\r")
    assert shell.exit_code == 4
    ended = execproto.LineShell()
    ended.feed(b"\x04")
    assert ended.exit_code == -1
    assert execproto.is_interactive_shell({"tty": "true", "stdin": "true"}, ["sh"])
    assert not execproto.is_interactive_shell({"tty": "true", "stdin": "true"}, ["sh", "-c", "ls"])
    assert execproto.terminal_text(b"a\nb\r\n") == b"a\r\nb\r\n"
