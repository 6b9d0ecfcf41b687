// deploy/prometheus as the tests read it: the rule and rule-test files, and every rule in them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readYamlDocuments } from './renderKustomization';
import { REPO_ROOT } from './tools';

export type Rule = { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };

export const PROM_DIR = join(REPO_ROOT, 'deploy/prometheus');
/** deploy/prometheus/rules/*.yml, absolute paths. */
export const RULE_FILES = readdirSync(join(PROM_DIR, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => join(PROM_DIR, 'rules', f));
/** deploy/prometheus/tests/*.yml (promtool rule unit tests), absolute paths. */
export const TEST_FILES = readdirSync(join(PROM_DIR, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => join(PROM_DIR, 'tests', f));
/** Every recording and alerting rule of every rule file. */
export const rules: Rule[] = RULE_FILES.flatMap((f) => (readYamlDocuments(f)[0] as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));
