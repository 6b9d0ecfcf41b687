import { spawnSync } from 'node:child_process';
import { httpRequest } from '@pipeline/testing';
import { startAllServices } from './allServices';

describe('promtool check metrics', () => {
  let env: Awaited<ReturnType<typeof startAllServices>>;
  beforeAll(async () => {
    env = await startAllServices();
  });
  afterAll(() => env.stop());

  it('passes on the /metrics of every service (it exited 3 on nodejs_active_handles_total, a gauge named like a counter)', async () => {
    const results = [];
    for (const s of env.services) {
      const exposition = (await httpRequest(`${s.url}/metrics`)).text;
      const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
      if (run.error) throw new Error(`promtool is not installed: run \`apt-get install -y prometheus\` (.ci/run installs it): ${run.error.message}`);
      results.push([s.name, run.status, `${run.stdout}${run.stderr}`.trim()]);
    }
    expect(results).toEqual(env.services.map((s) => [s.name, 0, '']));
  });
});
