"""`index.html` of the review bundle: one page that links every file of it.

Static HTML without a script (nothing to run, nothing fetched: a Content-Security-Policy that
allows only inline styles); every text is escaped. Opened from disk, it is the way into the
bundle: tables, diagrams, the witness pages and a counterexample page per seeded bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"
CSS = """
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 14px; color: #1f2328; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #d8dee4; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #d8dee4; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
a { color: #0969da; }
.bad { color: #cf222e; font-weight: 600; }
.muted { color: #656d76; }
"""


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Table:
    title: str
    note: str
    header: list[str]
    rows: list[list[str | Link]]


def _cell(value: str | Link) -> str:
    if isinstance(value, Link):
        return f'<a href="{escape(value.href)}">{escape(value.text)}</a>'
    cls = ' class="bad"' if value.startswith(("NOT", "caught by")) else ""
    return f"<span{cls}>{escape(value)}</span>"


def index_html(title: str, intro: list[str], pages: list[Link], tables: list[Table]) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{escape(title)}</title>",
        '<link rel="icon" href="data:,">',
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        *(f'<p class="muted">{escape(line)}</p>' for line in intro),
        "<h2>Tables</h2>",
        "<ul>",
        *(f"<li>{_cell(link)}</li>" for link in pages),
        "</ul>",
    ]
    for table in tables:
        out += [f"<h2>{escape(table.title)}</h2>", f'<p class="muted">{escape(table.note)}</p>', "<table>",
                "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.header) + "</tr>"]
        out += ["<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in table.rows]
        out.append("</table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
