/**
 * The HTML report: one self-contained file (inline CSS and JS, no external resource of any
 * kind, locked down by a Content-Security-Policy) with a header (target, seed, summary), a
 * verdict matrix by requirement and role, and the list of cases, each a `<details>` that
 * holds its transcript. Every text from the report is escaped.
 *
 * @module
 */
import {
  VERDICTS,
  verdictLine,
  type CaseResult,
  type ConformanceReport,
  type PeerRole,
  type TranscriptEntry,
  type Verdict,
} from '../report.js';
import {
  formatDuration,
  isFailing,
  naturalCompare,
  requirementPairs,
  ROLES,
  terminalSafe,
  toJsonValue,
  VERDICT_SYMBOL,
  worstVerdict,
} from './common.js';

/**
 * Text escaped for HTML element content and double- or single-quoted attributes. Control
 * characters other than newline and tab, which HTML does not allow, are shown as `\xNN`.
 */
export function escapeHtml(s: string): string {
  return terminalSafe(s, true)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const e = escapeHtml;

const CSS = `
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--xfail:#8250df;--xpass:#bc4c00;--error:#82071e;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px;color:#1f2328}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{margin:0;white-space:pre-wrap;word-break:break-all}
.banner{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:700}
.banner.yes{background:var(--pass)}.banner.no{background:var(--fail)}.banner.partial{background:var(--warn)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dl.meta dt{color:#57606a}dl.meta dd{margin:0}
.counts{display:flex;gap:8px;flex-wrap:wrap;padding:0;list-style:none}
.counts li{padding:2px 8px;border-radius:10px;border:1px solid var(--line)}
.v-pass{--c:var(--pass)}.v-fail{--c:var(--fail)}.v-warn{--c:var(--warn)}.v-skip{--c:var(--skip)}.v-xfail{--c:var(--xfail)}.v-xpass{--c:var(--xpass)}.v-error{--c:var(--error)}
.badge{display:inline-block;min-width:5.5em;padding:0 6px;border-radius:4px;color:#fff;background:var(--c);font-weight:600}
.counts li.nonzero{border-color:var(--c);color:var(--c);font-weight:600}
table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
table.matrix td.cell{background:var(--c);color:#fff}table.matrix td.cell a{color:#fff}table.matrix td.none{color:#8c959f}
table.matrix .cases{font-size:11px}
.problems{border-left:4px solid var(--fail);padding:4px 12px;background:#fff5f5}
details.case{border:1px solid var(--line);border-left:6px solid var(--c);border-radius:4px;margin:6px 0;padding:4px 8px}
details.case>summary{cursor:pointer}details.case .dur,.role{color:#57606a}
details.case dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}details.case dd{margin:0}
table.transcript td{font-size:12px}table.transcript td.dir{text-align:center}
tr.d-in td{background:#f6f8fa}tr.d-note td{color:#57606a;font-style:italic}
#filters{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:8px 0}
`;

const SCRIPT = `
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[type=checkbox]'));
  var text = document.getElementById('filter-text');
  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var q = text.value.toLowerCase();
    document.querySelectorAll('details.case').forEach(function (d) {
      d.hidden = !(on[d.getAttribute('data-verdict')] && (q === '' || d.getAttribute('data-id').indexOf(q) >= 0));
    });
  }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  text.addEventListener('input', apply);
  function openTarget() {
    var el = location.hash.length > 1 ? document.getElementById(location.hash.slice(1)) : null;
    if (el && el.tagName === 'DETAILS') { el.hidden = false; el.open = true; }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
})();
`;

function badge(verdict: Verdict): string {
  return `<span class="badge v-${e(verdict)}">${e(VERDICT_SYMBOL[verdict] ?? '?')} ${e(verdict)}</span>`;
}

function anchor(index: number): string {
  return `c-${index + 1}`;
}

function header(report: ConformanceReport): string {
  const meta: Array<[string, string]> = [
    ['target', report.target],
    ['seed', String(report.seed)],
    ['spec version', report.specVersion],
    ['kkcm version', report.version],
    ['started', report.startedAt],
    ['duration', formatDuration(report.durationMs)],
    ['cases', String(report.cases.length)],
  ];
  const counts = VERDICTS.map(
    (v) => `<li class="v-${v}${report.summary[v] > 0 ? ' nonzero' : ''}">${report.summary[v]} ${v}</li>`,
  ).join('');
  return `<header>
<h1>kkcm conformance report</h1>
<p class="banner ${!report.conforming ? 'no' : report.mustNotRun.length > 0 ? 'partial' : 'yes'}">${e(verdictLine(report))}</p>
<dl class="meta">${meta.map(([k, v]) => `<dt>${e(k)}</dt><dd><code>${e(v)}</code></dd>`).join('')}</dl>
<ul class="counts">${counts}</ul>
</header>`;
}

function problems(report: ConformanceReport): string {
  if (report.problems.length === 0) return '';
  return `<section class="problems"><h2>Problems with the run</h2><ul>${report.problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul></section>`;
}

/** Rows = requirement ids, columns = roles; each cell folds the verdicts of the cases that check it. */
function matrix(report: ConformanceReport): string {
  type Checked = { readonly result: CaseResult; readonly index: number };
  const byRequirement = new Map<string, { text: string; cells: Map<PeerRole, Checked[]> }>();
  report.cases.forEach((result, index) => {
    for (const { id, text } of requirementPairs(result)) {
      let row = byRequirement.get(id);
      if (row === undefined) byRequirement.set(id, (row = { text: '', cells: new Map() }));
      if (row.text === '' && text !== '') row.text = text;
      const cell = row.cells.get(result.role) ?? [];
      cell.push({ result, index });
      row.cells.set(result.role, cell);
    }
  });
  if (byRequirement.size === 0)
    return '<section id="matrix"><h2>Requirements × roles</h2><p>No case checked a requirement.</p></section>';
  const roles = ROLES.filter((role) => report.cases.some((r) => r.role === role));
  const rows = [...byRequirement]
    .sort(([a], [b]) => naturalCompare(a, b))
    .map(([id, row]) => {
      const cells = roles
        .map((role) => {
          const checked = row.cells.get(role) ?? [];
          const verdict = worstVerdict(checked.map((c) => c.result.verdict));
          if (verdict === undefined) return '<td class="none">—</td>';
          const links = checked
            .map((c) => `<a href="#${anchor(c.index)}">${e(c.result.id)}</a> ${e(c.result.verdict)}`)
            .join('<br>');
          return `<td class="cell v-${e(verdict)}"><strong>${e(VERDICT_SYMBOL[verdict] ?? '?')} ${e(verdict)}</strong><div class="cases">${links}</div></td>`;
        })
        .join('');
      return `<tr><th scope="row" title="${e(row.text)}"><code>${e(id)}</code></th>${cells}</tr>`;
    });
  return `<section id="matrix"><h2>Requirements × roles</h2>
<table class="matrix"><thead><tr><th>requirement</th>${roles.map((r) => `<th>${r}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}

function hexGroups(hex: string): string {
  return (hex.match(/.{1,8}/g) ?? []).join(' ');
}

function transcript(entries: readonly TranscriptEntry[]): string {
  const arrow = { out: 'suite →', in: '← peer', note: 'note' } as const;
  const rows = entries.map((t) => {
    const decoded = typeof t.decoded === 'string' ? t.decoded : (JSON.stringify(toJsonValue(t.decoded), null, 2) ?? '');
    return `<tr class="d-${t.dir}"><td>+${e(String(Math.round(t.t)))} ms</td><td class="dir">${arrow[t.dir]}</td><td>#${e(String(t.conn))} ${e(t.channel ?? '—')}</td><td><pre>${e(decoded)}</pre></td><td><pre>${e(hexGroups(t.hex))}</pre>${t.length > 0 ? `<small>${e(String(t.length))} bytes</small>` : ''}</td></tr>`;
  });
  return `<table class="transcript"><thead><tr><th>time</th><th>direction</th><th>connection</th><th>decoded</th><th>hex</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function caseBlock(r: CaseResult, i: number): string {
  const fields: Array<[string, string]> = [];
  const add = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') fields.push([k, v]);
  };
  add('title', e(r.title));
  add('level', e(r.level));
  add('reason', r.reason === undefined ? undefined : `<pre>${e(r.reason)}</pre>`);
  add('expected', r.expected === undefined ? undefined : `<pre>${e(r.expected)}</pre>`);
  add('observed', r.observed === undefined ? undefined : `<pre>${e(r.observed)}</pre>`);
  if (r.allowedOutcomes !== undefined && r.allowedOutcomes.length > 0)
    add('allowed outcomes', `<ul>${r.allowedOutcomes.map((o) => `<li>${e(o)}</li>`).join('')}</ul>`);
  if (r.violated !== undefined && r.violated.length > 0)
    add(
      'breaks',
      `<ul>${r.violated
        .map((id, i) => {
          const text = r.violatedTexts?.[i] ?? '';
          return `<li><code>${e(id)}</code>${text === '' ? '' : ` ${e(text)}`}</li>`;
        })
        .join('')}</ul>`,
    );
  if (r.requirements.length > 0)
    add(
      'requirements',
      `<ul>${requirementPairs(r)
        .map(({ id, text }) => `<li><code>${e(id)}</code>${text === '' ? '' : ` ${e(text)}`}</li>`)
        .join('')}</ul>`,
    );
  add('channels', e(r.channels.join(', ')));
  add('tags', e(r.tags.join(', ')));
  add('rerun', `<code>${e(r.rerun)}</code>`);
  const body =
    r.transcript !== undefined && r.transcript.length > 0
      ? `<h3>Transcript</h3>${transcript(r.transcript)}`
      : '<p>No transcript recorded.</p>';
  return `<details class="case v-${e(r.verdict)}" id="${anchor(i)}" data-verdict="${e(r.verdict)}" data-id="${e(r.id.toLowerCase())}"${isFailing(r.verdict) ? ' open' : ''}>
<summary>${badge(r.verdict)} <code>${e(r.id)}</code> <span class="role">[${e(r.role)}]</span> <span class="dur">${e(formatDuration(r.durationMs))}</span></summary>
<dl>${fields.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>
${body}
</details>`;
}

function caseList(report: ConformanceReport): string {
  const boxes = VERDICTS.map(
    (v) => `<label><input type="checkbox" value="${v}" checked> ${badge(v)} ${report.summary[v]}</label>`,
  ).join('');
  return `<section id="cases"><h2>Cases</h2>
<div id="filters">${boxes}<label>id contains <input type="search" id="filter-text"></label></div>
${report.cases.map(caseBlock).join('\n')}
</section>`;
}

/**
 * The report as one self-contained HTML page. It loads nothing: styles and the small filter
 * script are inline, the only links are in-page anchors, and a Content-Security-Policy
 * forbids any fetch. Failing cases start open.
 */
export function renderHtml(report: ConformanceReport): string {
  const title = `kkcm conformance: ${report.target} — ${verdictLine(report)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body>
${header(report)}
${problems(report)}
${matrix(report)}
${caseList(report)}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
