#!/usr/bin/env python3
"""Checks ptxas's resource report for every kernel against the budget its source states.

A kernel source declares, in its header comment, one line per kernel function:
    // ptxas-budget: <name> registers=<max> smem=<max static bytes>
(<name> is a substring of the demangled function name, e.g. `my_kernel<__half, 64>`). For every architecture the CUDA library
was built for, each budgeted kernel must appear in the report (record_ptxas.sh keeps it) with at
most that many registers and bytes of static shared memory, no spill stores or loads and no
stack frame. Usage: check_ptxas.py REPORT_DIR SOURCE_DIR ARCH...   (ARCH like sm_80, sm_90a)
"""
import pathlib
import re
import subprocess
import sys

BUDGET = re.compile(r"//\s*ptxas-budget:\s*(.+?)\s+registers=(\d+)\s+smem=(\d+)")
ENTRY = re.compile(r"ptxas info\s*: Compiling entry function '(\S+)' for '(sm_\w+)'")
STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"ptxas info\s*: Used (\d+) registers(?:.*?(\d+) bytes smem)?")


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True)
    return dict(zip(names, out.stdout.splitlines())) if out.returncode == 0 else {n: n for n in names}


def parse_reports(report_dir):
    """{(mangled, arch): {registers, smem, stack, spill_stores, spill_loads}}"""
    kernels = {}
    for report in sorted(pathlib.Path(report_dir).glob("*.ptxas.txt")):
        current = None
        for line in report.read_text().splitlines():
            if m := ENTRY.search(line):
                current = (m.group(1), m.group(2))
                kernels[current] = {"report": report.name}
            elif current and (m := STACK.search(line)):
                kernels[current].update(stack=int(m.group(1)), spill_stores=int(m.group(2)),
                                        spill_loads=int(m.group(3)))
            elif current and (m := USED.search(line)):
                kernels[current].update(registers=int(m.group(1)), smem=int(m.group(2) or 0))
    return kernels


def main():
    report_dir, source_dir, archs = sys.argv[1], sys.argv[2], sys.argv[3:]
    budgets = []
    for source in sorted(pathlib.Path(source_dir).rglob("*.cu")):
        for m in BUDGET.finditer(source.read_text()):
            budgets.append((source.name, m.group(1), int(m.group(2)), int(m.group(3))))
    if not budgets:
        print("no '// ptxas-budget:' lines found under", source_dir)
        return 1
    kernels = parse_reports(report_dir)
    names = demangle(sorted({name for name, _ in kernels}))
    failures = 0
    for source, name, max_registers, max_smem in budgets:
        for arch in archs:
            found = [(names[k], v) for (k, a), v in kernels.items() if a == arch and name in names[k]]
            if not found:
                print(f"FAIL {source}: no ptxas report for {name} on {arch} "
                      f"(build rayvid_kernels_cuda; reports in {report_dir})")
                failures += 1
            for function, r in found:
                short = function.replace("(anonymous namespace)::", "").split("(")[0]
                problems = []
                if r.get("registers", 10**9) > max_registers:
                    problems.append(f"{r.get('registers')} registers > budget {max_registers}")
                if r.get("smem", 0) > max_smem:
                    problems.append(f"{r['smem']} bytes static smem > budget {max_smem}")
                if r.get("spill_stores", 1) or r.get("spill_loads", 1):
                    problems.append(f"spills ({r.get('spill_stores')} B stores, "
                                    f"{r.get('spill_loads')} B loads)")
                if r.get("stack", 1):
                    problems.append(f"{r.get('stack')} bytes stack frame (local memory)")
                status = "FAIL" if problems else "ok  "
                print(f"{status} {arch} {short}: {r.get('registers')} registers, "
                      f"{r.get('smem', 0)} B static smem, {r.get('spill_stores')} B spills"
                      + (" -- " + "; ".join(problems) if problems else ""))
                failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
