#!/usr/bin/env python3
"""Renders the benchmarks' results into docs/BENCHMARKS.md and its chart.

Replaces what lies between the `<!-- tokens:begin/end -->` marks with the
report of scripts/bench-tokens (--tokens), and what lies between the
`<!-- load:begin/end -->` marks with tables made from the results of
scripts/bench_load.py (--load); the prose around the marks is written by
hand. The chart (throughput and p99 latency of the ceiling and of the
protected route with the local cache off and on) goes to
docs/benchmarks-load.svg.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The targets.
PROTECTED_SHARE_OF_CEILING = 0.60
PEAK_RSS_MIB = 64.0


def verdict(ok: bool) -> str:
    return "meets" if ok else "**misses**"


def phase_row(name: str, phase: dict, ceiling_rps: float) -> str:
    share = phase["rps"] / ceiling_rps if ceiling_rps else 0
    return (f"| {name} | {phase['connections']} | {phase['rps']:,.0f} | {phase['p50_ms']:.2f} "
            f"| {phase['p99_ms']:.2f} | {share:.0%} | {phase['errors']} "
            f"| {phase['peak_rss_mib']:.1f} | {phase['redis_commands_per_request']:.2f} |")


def sent_row(name: str, calibration: dict) -> str:
    commands = ", ".join(f"{k} {v:g}" for k, v in calibration["sent_by_command"].items()) or "none"
    return (f"| {name} | {calibration['sent_per_request']:g} | {commands} "
            f"| {calibration['in_scripts_per_request']:g} |")


def render(results: dict, chart_name: str) -> str:
    phases, calibration = results["phases"], results["calibration"]
    machine, settings = results["machine"], results["settings"]
    ceiling = phases["ceiling"]["rps"]
    names = [
        ("ceiling", "`GET /healthz` (ceiling: no token, no store)"),
        ("readyz", "`GET /readyz` (no token, one store round trip)"),
        ("todo_cache_off", "`POST /todo`, Bearer, local cache off"),
        ("todo_cache_on", "`POST /todo`, Bearer, local cache on"),
        ("me_cache_off", "`GET /me`, Bearer, local cache off (the middleware alone)"),
        ("me_cache_on", "`GET /me`, Bearer, local cache on (the middleware alone)"),
        ("login", "`POST /login` (argon2id)"),
        ("refresh", "`POST /token/refresh`"),
    ]
    lines = [
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB; "
        f"Redis {machine['redis']}, standalone, on loopback; {machine['wrk']}. Each phase ran "
        f"{settings['duration_s']} s after a 3 s warm-up (none for login and refresh, whose "
        f"tokens are used up); server log level {settings['server_log']}.",
        "",
        "| phase | connections | requests/s | p50 ms | p99 ms | of ceiling | errors "
        "| peak RSS MiB | Redis commands executed / request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, label in names:
        if key in phases:
            lines.append(phase_row(label, phases[key], ceiling))
    lines += [
        "",
        "\"Redis commands executed\" counts every command Redis ran during the phase "
        "(INFO commandstats), the ones inside scripts included, divided by the requests wrk "
        "completed. The round trips the server itself makes are below.",
        "",
        f"Idle server after start: {results['idle_rss_mib']:.1f} MiB resident.",
        "",
        "**Commands the server sends per request** (MONITOR during one-at-a-time requests; "
        "each line of a script's body runs inside Redis and is not a round trip):",
        "",
        "| request | commands sent | which | commands run inside scripts |",
        "| --- | ---: | --- | ---: |",
    ]
    for key, label in [("ceiling", "`GET /healthz`"), ("todo", "`POST /todo`, cache off"),
                       ("todo_cache_on", "`POST /todo`, cache on"), ("me", "`GET /me`, cache off"),
                       ("me_cache_on", "`GET /me`, cache on"), ("login", "`POST /login`"),
                       ("refresh", "`POST /token/refresh`"), ("logout", "`POST /logout`")]:
        if key in calibration:
            lines.append(sent_row(label, calibration[key]))

    lines += ["", "**Targets**", ""]
    off = phases.get("todo_cache_off")
    on = phases.get("todo_cache_on")
    for label, phase in [("cache off", off), ("cache on", on)]:
        if phase:
            share = phase["rps"] / ceiling
            lines.append(f"- Protected route at {PROTECTED_SHARE_OF_CEILING:.0%} or more of the "
                         f"ceiling, {label}: {share:.0%}, {verdict(share >= PROTECTED_SHARE_OF_CEILING)}.")
    for label, key in [("cache off", "me_cache_off"), ("cache on", "me_cache_on")]:
        phase = phases.get(key)
        if phase:
            share = phase["rps"] / ceiling
            lines.append(f"- The middleware alone (`GET /me`: a protected route with no store "
                         f"work of its own) at {PROTECTED_SHARE_OF_CEILING:.0%} or more of the "
                         f"ceiling, {label}: {share:.0%}, "
                         f"{verdict(share >= PROTECTED_SHARE_OF_CEILING)}.")
    for label, phase in [("cache off", off), ("cache on", on)]:
        if phase:
            rss = phase["peak_rss_mib"]
            lines.append(f"- Peak RSS under {PEAK_RSS_MIB:.0f} MB at {phase['connections']} "
                         f"connections, protected route, {label}: {rss:.1f} MiB "
                         f"({rss * 1.048576:.1f} MB), {verdict(rss * 1.048576 < PEAK_RSS_MIB)}.")
    auth_off = calibration.get("todo", {}).get("sent_by_command", {}).get("exists", 0)
    auth_on = None
    if "todo_cache_on" in calibration:
        auth_on = calibration["todo_cache_on"]["sent_by_command"].get("exists", 0)
    lines.append(f"- One Redis command for the authentication of a protected request: "
                 f"{auth_off:g} (`EXISTS`) with the cache off, {verdict(auth_off <= 1)}"
                 + (f"; {auth_on:g} with the cache on." if auth_on is not None else "."))
    for key, label in [("login", "login"), ("refresh", "refresh")]:
        if key in calibration:
            sent = calibration[key]["sent_per_request"]
            lines.append(f"- At most one command per {label}: {sent:g}, {verdict(sent <= 1)}.")
    if "logout" in calibration:
        sent = calibration["logout"]["sent_per_request"]
        check = calibration["logout"]["sent_by_command"].get("exists", 0)
        lines.append(f"- At most one command per logout besides the authentication every "
                     f"protected request makes: {sent - check:g} (and {check:g} `EXISTS` to "
                     f"authenticate, as above), {verdict(sent - check <= 1)}.")
    readyz = phases.get("readyz")
    lines.append("")
    for label, phase in [("cache off", off), ("cache on", on)]:
        if phase and readyz:
            lines.append(f"- For scale, not a target: the protected route, {label}, serves "
                         f"{phase['rps'] / readyz['rps']:.0%} of `GET /readyz`, a route without "
                         "a token that also makes one store round trip.")
    lines += ["", f"![Throughput and p99 latency](./{chart_name})"]
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = results["phases"]
    keys = [k for k in ("ceiling", "readyz", "me_cache_off", "me_cache_on", "todo_cache_off",
                        "todo_cache_on") if k in phases]
    labels = {"ceiling": "ceiling\nGET /healthz", "readyz": "GET /readyz\n(1 store trip)",
              "me_cache_off": "GET /me\ncache off", "me_cache_on": "GET /me\ncache on",
              "todo_cache_off": "POST /todo\ncache off", "todo_cache_on": "POST /todo\ncache on"}
    colours = {"ceiling": "#8a8a8a", "readyz": "#b5b5b5", "me_cache_off": "#f0b27a",
               "me_cache_on": "#85b8f0", "todo_cache_off": "#d9822b", "todo_cache_on": "#2b7bd9"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2))
    names = [labels[k] for k in keys]
    for axis, field, title, fmt in [(left, "rps", "requests per second", "{:,.0f}"),
                                    (right, "p99_ms", "p99 latency (ms)", "{:.1f}")]:
        values = [phases[k][field] for k in keys]
        bars = axis.bar(names, values, color=[colours[k] for k in keys])
        axis.set_title(title)
        axis.tick_params(axis="x", labelsize=8)
        axis.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=9)
        axis.spines[["top", "right"]].set_visible(False)
        axis.margins(y=0.15)
    c = phases[keys[0]]["connections"]
    fig.suptitle(f"{c} connections, {results['machine']['cores']} cores, "
                 "wrk + server + Redis on one machine", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def tokens_block(report: str) -> str:
    """scripts/bench-tokens' report without its title, one heading level down."""
    lines = report.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("#" + line if line.startswith("## ") else line for line in lines).strip()


def replace_marked(text: str, mark: str, block: str, doc: Path) -> str:
    pattern = re.compile(rf"(<!-- {mark}:begin -->\n).*?(<!-- {mark}:end -->)", re.S)
    if not pattern.search(text):
        sys.exit(f"bench_report: {doc} has no <!-- {mark}:begin/end --> marks")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", type=Path, help="load results (scripts/bench_load.py)")
    parser.add_argument("--tokens", type=Path, help="token report (scripts/bench-tokens)")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--chart", type=Path, default=ROOT / "docs" / "benchmarks-load.svg")
    options = parser.parse_args()
    text = options.doc.read_text()
    if options.tokens:
        text = replace_marked(text, "tokens", tokens_block(options.tokens.read_text()),
                              options.doc)
    if options.load:
        results = json.loads(options.load.read_text())
        chart(results, options.chart)
        text = replace_marked(text, "load", render(results, options.chart.name), options.doc)
    options.doc.write_text(text)
    print(f"bench_report: wrote {options.doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
