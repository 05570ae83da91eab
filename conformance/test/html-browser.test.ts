/**
 * The HTML reports in a real headless browser (Debian `chromium`, driven by playwright-core):
 * the case report of a run against a mutant peer and the matrix of a small fleet load
 * without a console error, their filters hide and show what they say, and a failing case is
 * open from the start. Skipped, saying why, where no chromium is installed
 * (`apt-get install chromium`; .ci/run installs it); KKCM_CHROMIUM names another binary.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { MUTANTS } from '../mutants/mutants.js';
import { renderHtml } from '../src/reporters/html.js';
import { runConformance } from '../src/runner.js';
import { fleetFiles } from '../src/fleet/render-matrix.js';
import { countVerdicts, fleetExitCode, matrixRows, type FleetTargetResult } from '../src/fleet/matrix-report.js';

const candidates = [process.env.KKCM_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  (p): p is string => p !== undefined && p !== '',
);
const chromium = candidates.find((p) => existsSync(p));

const dir = mkdtempSync(join(tmpdir(), 'kkcm-html-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Opens `file` in a new page; every console error and uncaught page error lands in `errors`. */
async function open(browser: Browser, file: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  await page.goto(pathToFileURL(file).href);
  return page;
}

/** Ids of the visible elements matching `selector`, read from `attribute`. */
function visible(page: Page, selector: string, attribute: string): Promise<string[]> {
  return page.$$eval(
    selector,
    (els, attr) =>
      els.filter((el) => !(el as unknown as { hidden: boolean }).hidden).map((el) => el.getAttribute(attr) ?? ''),
    attribute,
  );
}

t.test(
  'the HTML reports in headless chromium',
  {
    skip: chromium === undefined ? `no chromium (looked at ${candidates.join(', ')}; apt-get install chromium)` : false,
  },
  async (t) => {
    const { chromium: launcher } = await import('playwright-core');
    const browser = await launcher.launch({ executablePath: chromium!, args: ['--no-sandbox'] });
    t.teardown(() => browser.close());

    t.test('the case report: no console error, a failing case open, filters by verdict and id', async (t) => {
      const mutant = MUTANTS.find((m) => m.name === 'no-magic-check')!;
      const report = await runConformance({
        target: { kind: 'embedded', customize: mutant.customize, roles: ['master'] },
        selection: { cases: ['framing.magic.bad', 'control.echo.exact', 'handshake.binding.two-channels'] },
      });
      const verdicts = Object.fromEntries(report.cases.map((c) => [c.id, c.verdict]));
      t.equal(verdicts['framing.magic.bad'], 'fail', 'the mutant fails its killer');
      t.equal(verdicts['control.echo.exact'], 'pass');
      const file = join(dir, 'report.html');
      writeFileSync(file, renderHtml(report));
      const errors: string[] = [];
      const page = await open(browser, file, errors);

      const openIds = await page.$$eval('details.case[open]', (els) => els.map((el) => el.getAttribute('data-id')));
      t.same(openIds, ['framing.magic.bad'], 'the failing case, and only it, is open from the start');
      t.ok(
        await page.$eval(
          'details.case[data-id="framing.magic.bad"] table.transcript',
          (el) => el.getBoundingClientRect().height > 0,
        ),
        'its transcript shows',
      );
      const all = await visible(page, 'details.case', 'data-id');
      t.equal(all.length, report.cases.length, 'every case is listed');

      await page.uncheck('#filters input[value="pass"]');
      t.same(
        await visible(page, 'details.case', 'data-id'),
        ['framing.magic.bad'],
        'unchecking pass hides the passing cases',
      );
      await page.check('#filters input[value="pass"]');
      await page.fill('#filter-text', 'echo');
      t.same(
        await visible(page, 'details.case', 'data-id'),
        ['control.echo.exact'],
        'the id filter keeps the matching case',
      );
      await page.fill('#filter-text', '');
      t.same(await visible(page, 'details.case', 'data-id'), all, 'clearing the filters shows every case again');

      const echo = report.cases.findIndex((c) => c.id === 'control.echo.exact');
      await page.click(`table.matrix a[href="#c-${echo + 1}"]`);
      t.ok(
        await page.$eval(`#c-${echo + 1}`, (el) => (el as unknown as { open: boolean }).open),
        'a link from the matrix opens its case',
      );
      t.same(errors, [], 'no console error');
    });

    t.test('the fleet matrix: no console error, filters by target verdict, requirement and not-met', async (t) => {
      const mutant = MUTANTS.find((m) => m.name === 'no-magic-check')!;
      const selection = { cases: ['framing.magic.bad', 'control.echo.exact'] };
      const reports = new Map([
        ['reference', await runConformance({ target: { kind: 'embedded', roles: ['master'] }, selection })],
        [
          'mutant',
          await runConformance({
            target: { kind: 'embedded', customize: mutant.customize, roles: ['master'] },
            selection,
          }),
        ],
      ]);
      const base = { kind: 'connect', role: 'master', durationMs: 1 } as const;
      const targets: FleetTargetResult[] = [
        {
          ...base,
          name: 'reference',
          address: '127.0.0.1:7000',
          verdict: 'conforming',
          verdictLine: 'CONFORMING',
          exitCode: 0,
          summary: reports.get('reference')!.summary,
        },
        {
          ...base,
          name: 'mutant',
          address: '127.0.0.1:7001',
          verdict: 'not-conforming',
          verdictLine: 'NOT CONFORMING',
          exitCode: 1,
          summary: reports.get('mutant')!.summary,
        },
        {
          ...base,
          name: 'gone',
          address: '127.0.0.1:1',
          verdict: 'unreachable',
          verdictLine: 'UNREACHABLE: ECONNREFUSED',
          reason: 'ECONNREFUSED',
          exitCode: 3,
        },
      ];
      const matrix = {
        tool: 'kkcm' as const,
        version: '0.1.0',
        specVersion: '1.0',
        startedAt: new Date().toISOString(),
        durationMs: 1,
        jobs: 2,
        exitCode: fleetExitCode(targets),
        counts: countVerdicts(targets),
        targets,
        requirements: matrixRows(targets, reports),
      };
      for (const [name, text] of fleetFiles({ matrix, reports })) writeFileSync(join(dir, name), text);
      const errors: string[] = [];
      const page = await open(browser, join(dir, 'matrix.html'), errors);

      const rows = await visible(page, 'table.matrix tbody tr', 'data-id');
      t.ok(rows.length >= 3, `${rows.length} requirement rows`);
      const notMet = matrix.requirements
        .filter((r) => Object.values(r.verdicts).includes('fail'))
        .map((r) => r.id.toLowerCase());
      t.ok(notMet.length > 0 && notMet.length < rows.length, 'some requirements are not met by the mutant, others are');
      await page.check('#filter-not-met');
      t.same(
        await visible(page, 'table.matrix tbody tr', 'data-id'),
        notMet,
        'only the requirements not met everywhere',
      );
      await page.uncheck('#filter-not-met');
      await page.fill('#filter-requirement', notMet[0]!);
      t.same(
        await visible(page, 'table.matrix tbody tr', 'data-id'),
        [notMet[0]],
        'the requirement filter keeps the matching row',
      );
      await page.fill('#filter-requirement', '');
      t.equal((await visible(page, 'table.matrix tbody tr', 'data-id')).length, rows.length);

      const columns = (): Promise<string[]> => visible(page, 'table.matrix th.target', 'title');
      t.equal((await columns()).length, 3);
      await page.uncheck('#filters input[value="unreachable"]');
      t.same(await columns(), ['CONFORMING', 'NOT CONFORMING'], 'unchecking unreachable hides its column');
      t.same(
        await visible(page, 'table.targets tbody tr', 'id'),
        ['target-reference', 'target-mutant'],
        'and its row of targets',
      );

      await page.click('a[href="mutant.html"]');
      await page.waitForSelector('details.case[open]');
      t.same(
        await page.$$eval('details.case[open]', (els) => els.map((el) => el.getAttribute('data-id'))),
        ['framing.magic.bad'],
        'the link opens the target’s own report, its failing case open',
      );
      t.same(errors, [], 'no console error on either page');
    });
  },
);
