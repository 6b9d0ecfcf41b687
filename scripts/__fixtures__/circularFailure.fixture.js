// A suite for scripts/__tests__/jestCountReporter.spec.ts: one test passes, one fails with an error
// whose `error` property points back at itself (what made Jest's own --json output crash).
test('passes', () => {
  expect(1 + 1).toBe(2);
});

test('fails with a circular error', () => {
  const err = new Error('circular');
  err.error = err;
  err.cause = { error: err };
  throw err;
});
