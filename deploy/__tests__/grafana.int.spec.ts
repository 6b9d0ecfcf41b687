// deploy/grafana under promtool (Debian package `prometheus`): every panel query of the dashboard
// parses as PromQL. Integration tier: it runs promtool (no broker needed).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { queries } from './support/grafanaDashboard';
import { describeRun, requireTool, run } from './support/tools';

describe('deploy/grafana under promtool', () => {
  it('parses every panel query as PromQL (promtool check rules on a generated rule file)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    // Grafana's $__rate_interval is not PromQL; Grafana substitutes a duration before sending.
    const file = join(mkdtempSync(join(tmpdir(), 'grafana-promql-')), 'panels.yml');
    const groups = [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr.replaceAll('$__rate_interval', '5m') })) }];
    writeFileSync(file, stringify({ groups }));
    const r = run(promtool, ['check', 'rules', file]);
    expect({ status: r.status, out: describeRun(r) }).toMatchObject({ status: 0 });
    expect(r.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
