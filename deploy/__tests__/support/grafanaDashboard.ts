// deploy/grafana/dashboards/pipeline.json as the tests read it: its panels and their queries.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './tools';

export type Panel = {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
};
export const GRAFANA = join(REPO_ROOT, 'deploy/grafana');
export const dashboard = JSON.parse(readFileSync(join(GRAFANA, 'dashboards/pipeline.json'), 'utf8')) as { uid: string; panels: Panel[] };
/** Every panel but the row headers. */
export const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
/** Every panel query with the panel title and refId that name it. */
export const queries = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
