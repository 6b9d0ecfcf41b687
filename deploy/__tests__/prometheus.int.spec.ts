// deploy/prometheus under promtool (Debian package `prometheus`): the scrape config and rule files
// load, and the rule unit tests in deploy/prometheus/tests pass. Integration tier: it runs promtool
// (no broker needed).
import { join } from 'node:path';
import { PROM_DIR, RULE_FILES, TEST_FILES } from './support/prometheusRules';
import { describeRun, requireTool, run } from './support/tools';

describe('deploy/prometheus under promtool', () => {
  it('passes promtool check config (which also checks the rule files it loads)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    const r = run(promtool, ['check', 'config', join(PROM_DIR, 'prometheus.yml')]);
    expect({ status: r.status, out: describeRun(r) }).toMatchObject({ status: 0 });
    expect(r.stdout).toContain(`SUCCESS: ${RULE_FILES.length} rule files found`);
  });

  it('passes promtool check rules for every rule file', () => {
    const promtool = requireTool('promtool', 'prometheus');
    const r = run(promtool, ['check', 'rules', ...RULE_FILES]);
    expect({ status: r.status, out: describeRun(r) }).toMatchObject({ status: 0 });
  });

  it('passes the promtool rule unit tests in deploy/prometheus/tests', () => {
    const promtool = requireTool('promtool', 'prometheus');
    expect(TEST_FILES.length).toBeGreaterThan(0);
    const r = run(promtool, ['test', 'rules', ...TEST_FILES]);
    expect({ status: r.status, out: describeRun(r) }).toMatchObject({ status: 0 });
    expect(r.stdout.match(/SUCCESS/g)?.length).toBe(TEST_FILES.length);
  });
});
