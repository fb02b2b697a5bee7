"""One check run, end to end: trace and compile a spec, explore it with the chosen engine,
check liveness, and print the summary or write the trace (`pgcheck explore`, `mutants`);
a random-walk run's trace and summary (`pgcheck simulate`).

Entry points: `check.run_check` (returns a `CheckRun`), `summary`, `simulate`.
May import: everything below it (`lang`, engines, `traces`), never `review`.
"""
