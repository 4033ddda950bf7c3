// test support: a node:test reporter that writes the number of passed and failed tests as JSON.
export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else {
      failed++;
      failures.push(`${event.data.file ?? ''}: ${event.data.name}`);
    }
  }
  yield JSON.stringify({ passed, failed, skipped, failures });
}
