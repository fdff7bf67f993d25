"""Tables from a py-spy raw profile: where the samples fall, by line, by function, and under one frame.

py-spy (pip install py-spy, into your venv) samples a running command without slowing it much and
keeps line numbers:

    py-spy record -r 100 -f raw -o match.spy -- python -m reconcile match ...
    python bench/spy_tables.py match.spy [--under _match] [--top 25]

prints, as shares of all samples (each sample is 1/rate seconds of wall time):
  - the phase table: the frames directly under `run_match` (or --phase-of FUNC), one per call line,
    i.e. reading, matching, building the plan, writing the plan, the workbook;
  - self time by line (the leaf frame: the line that was running);
  - inclusive time by function (a function counted once per sample however deep it recurs);
  - with --under FUNC, the lines of FUNC itself that the samples were under (inclusive), which is how
    a long function such as match._match is split into its steps.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?):(?P<line>\d+)\)$")


def parse(path: str):
    """Yield (frames, count): frames outermost first, each (func, file, line)."""
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            raw = raw.rstrip("\n")
            if not raw:
                continue
            stack, _, count = raw.rpartition(" ")
            frames = []
            for part in stack.split(";"):
                m = _FRAME.match(part)
                frames.append((m["func"], m["file"], int(m["line"])) if m else (part, "", 0))
            yield frames, int(count)


def short(file: str) -> str:
    for marker in ("reconcile/", "site-packages/", "lib/python3"):
        i = file.find(marker)
        if i >= 0:
            return file[i:]
    return file


def tables(path: str, *, under: str | None, phase_of: str, top: int) -> str:
    total = 0
    phases: Counter = Counter()
    self_line: Counter = Counter()
    incl_func: Counter = Counter()
    under_line: Counter = Counter()
    for frames, n in parse(path):
        total += n
        for i, (func, file, line) in enumerate(frames):
            if func == phase_of and i + 1 < len(frames):
                nxt = frames[i + 1]
                phases[f"{short(file)}:{line} -> {nxt[0]}"] += n
                break
        else:
            phases["(outside " + phase_of + ")"] += n
        leaf = frames[-1]
        self_line[f"{leaf[0]} ({short(leaf[1])}:{leaf[2]})"] += n
        for func in {f"{f} ({short(fl)})" for f, fl, _ in frames}:
            incl_func[func] += n
        if under:
            for func, file, line in frames:
                if func == under:
                    under_line[f"{short(file)}:{line}"] += n
                    break
    out = [f"{path}: {total} samples"]

    def block(title: str, counter: Counter, limit: int, sort_by_key: bool = False) -> None:
        out.append("")
        out.append(title)
        items = sorted(counter.items()) if sort_by_key else counter.most_common(limit)
        for key, n in items:
            out.append(f"  {100 * n / total:5.1f}%  {n:7d}  {key}")

    block(f"phases (frames directly under {phase_of}, in call order)", phases, 0, sort_by_key=True)
    block(f"self time by line (top {top})", self_line, top)
    block(f"inclusive time by function (top {top})", incl_func, top)
    if under:
        items = sorted(under_line.items(), key=lambda kv: int(kv[0].rsplit(":", 1)[1]))
        out.append("")
        out.append(f"lines of {under} (inclusive), in source order, lines with >= 0.2% only")
        for key, n in items:
            if n / total >= 0.002:
                out.append(f"  {100 * n / total:5.1f}%  {n:7d}  {key}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", help="py-spy raw output (-f raw)")
    ap.add_argument("--under", metavar="FUNC", help="also split FUNC's time by its own lines (e.g. _match)")
    ap.add_argument("--phase-of", metavar="FUNC", default="run_match", help="the function whose callees are the phases")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    print(tables(args.profile, under=args.under, phase_of=args.phase_of, top=args.top))


if __name__ == "__main__":
    main()
