#!/usr/bin/env python3
"""Follow orguard-agent's log and turn it into an alert timeline.

demo/alerts_watch.py STATE_FILE AGENT_LOG SECONDS
    prints one line per alert that fired or resolved since the last call
    ("+ t=12s FIRING ..." / "- t=30s resolved ..."), t being SECONDS (the
    time since the start of the demo), and keeps every alert seen in
    STATE_FILE (JSON)
demo/alerts_watch.py STATE_FILE --summary
    the table of every alert seen: fired at, resolved at, severity, key
"""
import json
import re
import sys

LINE = re.compile(r"alert (firing|resolved): (\S+) \[(\w+)\] (.*)$")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"offset": 0, "alerts": {}, "order": []}


def main():
    state_file = sys.argv[1]
    state = load(state_file)
    if sys.argv[2] == "--summary":
        for key in state["order"]:
            a = state["alerts"][key]
            resolved = "%4ds" % a["resolved"] if a.get("resolved") is not None else "   -"
            print("%4ds %s  %-8s %s" % (a["fired"], resolved, a["severity"], key))
            print("              %s" % a["text"])
        return
    log, t = sys.argv[2], int(sys.argv[3])
    try:
        with open(log, "rb") as f:
            f.seek(state["offset"])
            data = f.read()
    except OSError:
        return
    end = data.rfind(b"\n") + 1
    state["offset"] += end
    for line in data[:end].decode("utf-8", "replace").splitlines():
        m = LINE.search(line)
        if not m:
            continue
        status, key, severity, text = m.groups()
        # show the key without the cluster name
        short = key.split("/", 1)[1] if "/" in key else key
        a = state["alerts"].get(short)
        if status == "firing":
            if a is None or a.get("resolved") is not None:
                state["alerts"][short] = {"fired": t, "resolved": None, "severity": severity, "text": text}
                state["order"].append(short)
            print("+ t=%ds FIRING   %-8s %s" % (t, severity, text))
        else:
            if a is not None:
                a["resolved"] = t
            print("- t=%ds resolved %-8s %s" % (t, severity, text))
    with open(state_file, "w") as f:
        json.dump(state, f)


main()
