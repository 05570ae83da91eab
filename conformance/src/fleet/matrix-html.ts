/**
 * The matrix report as one self-contained HTML page (inline CSS and JS, no external
 * resource, locked down by a Content-Security-Policy): the fleet verdict, one row per
 * target with a link to its own report, and the requirements × targets table, with filters
 * by target verdict, by requirement id, and to show only requirements not met everywhere.
 *
 * @module
 */
import { escapeHtml as e } from '../reporters/html.js';
import { formatDuration, VERDICT_SYMBOL } from '../reporters/common.js';
import { fleetLine, TARGET_VERDICTS, type FleetTargetResult, type MatrixReport } from './matrix-report.js';

const CSS = `
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--xfail:#8250df;--xpass:#bc4c00;--error:#82071e;--line:#d0d7de;
--t-conforming:#1a7f37;--t-incomplete:#9a6700;--t-not-conforming:#cf222e;--t-unreachable:#57606a;--t-error:#82071e}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:16px;color:#1f2328}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.banner{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:700}
.banner.yes{background:var(--pass)}.banner.no{background:var(--fail)}.banner.partial{background:var(--warn)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dl.meta dt{color:#57606a}dl.meta dd{margin:0}
table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
.tv{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-weight:600;background:var(--c)}
.t-conforming{--c:var(--t-conforming)}.t-incomplete{--c:var(--t-incomplete)}.t-not-conforming{--c:var(--t-not-conforming)}.t-unreachable{--c:var(--t-unreachable)}.t-error{--c:var(--t-error)}
.v-pass{--c:var(--pass)}.v-fail{--c:var(--fail)}.v-warn{--c:var(--warn)}.v-skip{--c:var(--skip)}.v-xfail{--c:var(--xfail)}.v-xpass{--c:var(--xpass)}.v-error{--c:var(--error)}
table.matrix td.cell{background:var(--c);color:#fff;text-align:center;white-space:nowrap}table.matrix td.none{color:#8c959f;text-align:center}
table.matrix th.target{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
#filters{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:8px 0}
[hidden]{display:none!important}
`;

const SCRIPT = `
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[name=target-verdict]'));
  var text = document.getElementById('filter-requirement');
  var notMet = document.getElementById('filter-not-met');
  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    document.querySelectorAll('[data-target-verdict]').forEach(function (el) {
      el.hidden = !on[el.getAttribute('data-target-verdict')];
    });
    var q = text.value.toLowerCase();
    document.querySelectorAll('table.matrix tbody tr').forEach(function (tr) {
      var show = q === '' || tr.getAttribute('data-id').indexOf(q) >= 0;
      if (show && notMet.checked) show = tr.getAttribute('data-not-met') === 'true';
      tr.hidden = !show;
    });
  }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  text.addEventListener('input', apply);
  notMet.addEventListener('change', apply);
  apply();
})();
`;

const NOT_MET = new Set(['fail', 'xpass', 'error', 'warn']);

function targetRow(t: FleetTargetResult): string {
  const counts =
    t.summary === undefined
      ? ''
      : Object.entries(t.summary)
          .filter(([, n]) => n > 0)
          .map(([v, n]) => `${n} ${v}`)
          .join(', ');
  const links = (t.files ?? []).map((f) => `<a href="${e(encodeURI(f))}">${e(f)}</a>`).join(' ');
  return `<tr data-target-verdict="${e(t.verdict)}" id="target-${e(t.name)}"><th scope="row"><code>${e(t.name)}</code></th><td>${e(t.kind)}</td><td><code>${e(t.address)}</code></td><td>${e(t.role)}</td><td><span class="tv t-${e(t.verdict)}">${e(t.verdict)}</span> ${e(t.verdictLine)}</td><td>${e(counts)}</td><td>${e(formatDuration(t.durationMs))}</td><td>${links}</td></tr>`;
}

function matrix(report: MatrixReport): string {
  if (report.requirements.length === 0)
    return '<section id="matrix"><h2>Requirements × targets</h2><p>No case checked a requirement.</p></section>';
  const head = report.targets
    .map(
      (t) =>
        `<th class="target" data-target-verdict="${e(t.verdict)}" title="${e(t.verdictLine)}"><code>${e(t.name)}</code></th>`,
    )
    .join('');
  const rows = report.requirements.map((r) => {
    const notMet = Object.values(r.verdicts).some((v) => NOT_MET.has(v));
    const cells = report.targets
      .map((t) => {
        const v = r.verdicts[t.name];
        if (v === undefined) return `<td class="none" data-target-verdict="${e(t.verdict)}">—</td>`;
        return `<td class="cell v-${e(v)}" data-target-verdict="${e(t.verdict)}" title="${e(`${t.name}: ${v}`)}">${e(VERDICT_SYMBOL[v] ?? '?')} ${e(v)}</td>`;
      })
      .join('');
    return `<tr data-id="${e(r.id.toLowerCase())}" data-not-met="${notMet}"><th scope="row" title="${e(`${r.level}: ${r.text}`)}"><code>${e(r.id)}</code></th>${cells}</tr>`;
  });
  return `<section id="matrix"><h2>Requirements × targets</h2>
<table class="matrix"><thead><tr><th>requirement</th>${head}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}

/**
 * The fleet's matrix report as one self-contained HTML page. The links to each target's own
 * report are relative (the files `runFleet`'s caller wrote beside it).
 */
export function renderMatrixHtml(report: MatrixReport): string {
  const line = fleetLine(report);
  const banner = report.exitCode === 0 ? 'yes' : report.exitCode === 4 ? 'partial' : 'no';
  const meta: Array<[string, string]> = [
    ['targets', String(report.targets.length)],
    ['at a time', String(report.jobs)],
    ['exit code', String(report.exitCode)],
    ['spec version', report.specVersion],
    ['kkcm version', report.version],
    ['started', report.startedAt],
    ['duration', formatDuration(report.durationMs)],
  ];
  const boxes = TARGET_VERDICTS.map(
    (v) =>
      `<label><input type="checkbox" name="target-verdict" value="${v}" checked> <span class="tv t-${v}">${v}</span> ${report.counts[v]}</label>`,
  ).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`kkcm conformance fleet — ${line}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>kkcm conformance fleet</h1>
<p class="banner ${banner}">${e(line)}</p>
<dl class="meta">${meta.map(([k, v]) => `<dt>${e(k)}</dt><dd><code>${e(v)}</code></dd>`).join('')}</dl>
</header>
<div id="filters">${boxes}<label>requirement contains <input type="search" id="filter-requirement"></label><label><input type="checkbox" id="filter-not-met"> only requirements not met everywhere</label></div>
<section id="targets"><h2>Targets</h2>
<table class="targets"><thead><tr><th>name</th><th>kind</th><th>address</th><th>role</th><th>verdict</th><th>cases</th><th>duration</th><th>report</th></tr></thead>
<tbody>${report.targets.map(targetRow).join('\n')}</tbody></table></section>
${matrix(report)}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
