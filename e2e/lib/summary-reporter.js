// A node:test reporter that writes a short summary: per file, how many flows passed, and each
// failure with its first error line; closing with "N passed, N failed[, N skipped]".

import path from 'node:path';

export default async function* summary(source) {
  const files = new Map();
  const failures = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const entry = (file) => {
    const key = file ? path.relative(process.cwd(), file) : '(unknown file)';
    if (!files.has(key)) files.set(key, { passed: 0, failed: 0, skipped: 0 });
    return [key, files.get(key)];
  };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    if (data.details?.type === 'suite') continue;
    const [key, counts] = entry(data.file);
    if (event.type === 'test:pass') {
      if (data.skip || data.todo) {
        skipped += 1;
        counts.skipped += 1;
      } else {
        passed += 1;
        counts.passed += 1;
      }
    } else {
      failed += 1;
      counts.failed += 1;
      const err = data.details?.error;
      const cause = err?.cause ?? err;
      const first = String(cause?.message ?? cause ?? 'failed').split('\n')[0];
      failures.push(`  ✗ ${key} › ${data.name}: ${first}`);
    }
  }
  for (const [key, c] of files) {
    const mark = c.failed ? '✗' : '✓';
    yield `${mark} ${key}: ${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}\n`;
  }
  if (failures.length) yield `failures:\n${failures.join('\n')}\n`;
  yield `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
