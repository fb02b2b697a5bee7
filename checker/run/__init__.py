"""One check run, end to end: trace and compile a spec, explore it with the chosen engine,
check liveness, and print the summary or write the trace (`pgcheck explore`, `mutants`).

Entry points: `check.run_check` (returns a `CheckRun`), `summary`.
May import: everything below it (`lang`, engines, `traces`), never `review`.
"""
