"""Traces (ARCHITECTURE Decision 3): ITF written and read back (`itf`, `itf_read`), the
terminal renderer (`show`), the self-contained HTML lane viewer (`viewer`, `viewer_page`),
and counterexamples to induction as two-state traces (`cti`).

Entry points: `itf.write_trace`, `itf_read.load_trace`, `show`, `viewer.render_html`.
May import: `lang`, the engines (`explicit`, `liveness`, `symbolic`, `export`), `errors`.
"""
