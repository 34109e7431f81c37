// Judges one run of tests/conformance/run_client.sh: per run, the CLI log's
// SUITE SUMMARY (verdict per scenario), the checks.json files (failing checks'
// messages, and the checks skipped or only warned about, which the summary
// does not count) and the exit status client_wrap.sh recorded for each
// client process (the suite's --suite mode ignores exit codes and timeouts).
// Compares them with expected-client-failures.txt and exits 1 on any
// unexpected failure, crash, timeout, skip or warning.
//
// usage: node evaluate_client.mjs RESULTS_DIR EXPECTED_FAILURES_FILE RUN...
//
// A RUN is `all` (`--suite all`) or a revision (`--suite all --spec-version REV`).
// RESULTS_DIR holds, per run, RUN.log, RUN.rc, RUN/ (the CLI's --output-dir)
// and RUN.exit/ (one SCENARIO.rc per client process, `/` written as `_`).
//
// expected-client-failures.txt: `SCENARIO[@RUN]  # reason` for a failing
// scenario, `SCENARIO:CHECK[@RUN]  # reason` for a check the suite skips or
// warns about; a bare entry covers every run; the reason is mandatory.
//
// A scenario passes when the summary says so, at least one check succeeded,
// and its client exited 0, or exited 1 (a refusal) in a scenario the suite
// declares allowClientError. Any other exit status is a crash or a timeout.

import fs from 'node:fs';
import path from 'node:path';

// The scenarios whose client is expected to refuse (allowClientError in the
// pinned suite, 0.2.0-alpha.12).
const ALLOW_CLIENT_ERROR = new Set([
  'http-invalid-tool-headers',
  'sep-2640-client-verify-digest',
  'sep-2640-client-verify-size',
  'sep-2640-client-verify-frontmatter',
  'auth/scope-retry-limit',
  'auth/resource-mismatch',
  'auth/iss-supported-missing',
  'auth/iss-wrong-issuer',
  'auth/iss-unexpected',
  'auth/iss-normalized',
  'auth/metadata-issuer-mismatch',
]);

const [resultsDir, expectedFile, ...runs] = process.argv.slice(2);
if (!resultsDir || !expectedFile || runs.length === 0) {
  console.error('usage: node evaluate_client.mjs RESULTS_DIR EXPECTED_FAILURES_FILE RUN...');
  process.exit(2);
}
const strict = process.env.CONFORMANCE_STRICT_BASELINE === '1';

// ---- expected failures -----------------------------------------------------
const expected = new Map(); // "scenario[:check][@run]" -> {reason, line, used, ran}
const badLines = [];
fs.readFileSync(expectedFile, 'utf8')
  .split('\n')
  .forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9_./:-]+?)(?:@(\d{4}-\d{2}-\d{2}|all))?\s+#\s*(\S.*)$/.exec(line);
    if (!m) {
      badLines.push(`${expectedFile}:${i + 1}: expected "SCENARIO[:CHECK][@RUN]  # reason", got: ${raw}`);
      return;
    }
    const key = m[2] ? `${m[1]}@${m[2]}` : m[1];
    if (expected.has(key)) badLines.push(`${expectedFile}:${i + 1}: duplicate entry ${key}`);
    expected.set(key, { reason: m[3], line: i + 1, used: false, ran: false });
  });
if (badLines.length) {
  for (const l of badLines) console.error(l);
  process.exit(2);
}
const expectation = (key, run) => expected.get(`${key}@${run}`) ?? expected.get(key);

// ---- results ---------------------------------------------------------------
const TS_SUFFIX = /-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
function checksByScenario(run) {
  const out = new Map();
  const walk = (dir, prefix) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      if (!TS_SUFFIX.test(entry.name)) {
        walk(full, `${prefix}${entry.name}/`);
        continue;
      }
      try {
        out.set(prefix + entry.name.replace(TS_SUFFIX, ''), JSON.parse(fs.readFileSync(path.join(full, 'checks.json'), 'utf8')));
      } catch {
        // no checks.json: the summary still names the scenario
      }
    }
  };
  walk(path.join(resultsDir, run), '');
  return out;
}
function exitStatus(run, scenario) {
  try {
    return fs.readFileSync(path.join(resultsDir, `${run}.exit`, `${scenario.replaceAll('/', '_')}.rc`), 'utf8').trim();
  } catch {
    return undefined;
  }
}
const text = (c) => `${c.id}: ${(c.errorMessage ?? c.details?.message ?? '').toString().replace(/\s+/g, ' ').slice(0, 300)}`;

let passed = 0;
let failed = 0;
let expectedFail = 0;
let expectedSkip = 0;
let unexpectedSkip = 0;
const unexpected = [];
const fixed = [];
let harnessBroken = false;

for (const run of runs) {
  const logPath = path.join(resultsDir, `${run}.log`);
  const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
  const announced = /Running \S+ suite \((\d+) scenarios\)/.exec(log);
  const summary = [];
  let inSummary = false;
  for (const line of log.split('\n')) {
    if (line.startsWith('=== SUITE SUMMARY ===')) inSummary = true;
    const s = inSummary && /^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/.exec(line);
    if (s) summary.push({ ok: s[1] === '✓', scenario: s[2], passed: +s[3], failed: +s[4] });
  }
  console.log(`\n=== ${run}: ${summary.length} scenarios ===`);
  if (!announced || summary.length === 0 || summary.length !== +announced[1]) {
    harnessBroken = true;
    console.log(`HARNESS ERROR: expected ${announced ? announced[1] : '?'} scenario results, found ${summary.length}; see ${logPath}`);
    console.log(log.split('\n').slice(-40).join('\n'));
  }
  const checks = checksByScenario(run);
  const usedHere = new Set();
  for (const r of summary) {
    const all = checks.get(r.scenario) ?? [];
    const rc = exitStatus(run, r.scenario);
    const problems = all.filter((c) => c.status === 'FAILURE').map(text);
    if (rc === undefined) problems.push('the client never recorded an exit status');
    else if (rc === '124' || rc === '137') problems.push(`the client timed out (exit ${rc})`);
    else if (rc === '1' && !ALLOW_CLIENT_ERROR.has(r.scenario)) problems.push('the client exited 1 where the scenario allows no refusal');
    else if (rc !== '0' && rc !== '1') problems.push(`the client crashed (exit ${rc})`);
    if (r.passed === 0) problems.push('no check succeeded');
    const ok = r.ok && problems.length === 0;
    const exp = expectation(r.scenario, run);
    if (exp) exp.ran = true;
    if (ok) {
      passed++;
      if (exp) fixed.push(`${r.scenario}@${run} (line ${exp.line})`);
      console.log(`  PASS   ${r.scenario} (${r.passed} checks)${exp ? '  (listed as expected failure: stale entry)' : ''}`);
    } else if (exp) {
      exp.used = true;
      expectedFail++;
      console.log(`  XFAIL  ${r.scenario}  # ${exp.reason}`);
    } else {
      failed++;
      unexpected.push(`${r.scenario}@${run}`);
      console.log(`  FAIL   ${r.scenario}`);
      for (const p of problems) console.log(`           - ${p}`);
    }
    // Skipped and warned checks of scenarios not listed as failing: each must be listed.
    if (exp) continue;
    for (const c of all.filter((c) => c.status === 'SKIPPED' || c.status === 'WARNING')) {
      const e = expectation(`${r.scenario}:${c.id}`, run);
      if (e) {
        e.used = true;
        e.ran = true;
        usedHere.add(e);
        expectedSkip++;
        console.log(`  ${c.status.padEnd(8)}${r.scenario}:${c.id}  # ${e.reason}`);
      } else {
        unexpectedSkip++;
        unexpected.push(`${r.scenario}:${c.id}@${run} (${c.status})`);
        console.log(`  ${c.status.padEnd(8)}${r.scenario}:${c.id}  (not listed) ${text(c)}`);
      }
    }
  }
  for (const [key, e] of expected) {
    const [scenario, check] = key.split('@')[0].split(':');
    if (!check || usedHere.has(e)) continue;
    const forRun = key.includes('@') ? key.endsWith(`@${run}`) : true;
    if (forRun && summary.some((r) => r.scenario === scenario)) {
      e.ran = true;
      fixed.push(`${key} in ${run} (line ${e.line})`);
    }
  }
}

const neverRan = [...expected.entries()].filter(([, v]) => !v.ran).map(([k]) => k);
console.log('');
if (fixed.length) console.log(`Now passing, remove from ${path.basename(expectedFile)}: ${fixed.join(', ')}`);
if (neverRan.length) console.log(`Listed in ${path.basename(expectedFile)} but not run: ${neverRan.join(', ')}`);
if (unexpected.length) console.log(`Unexpected failures: ${unexpected.join(', ')}`);
if (harnessBroken) console.log('The conformance CLI did not report every scenario (see HARNESS ERROR above).');
console.log(
  `conformance-client: ${passed} passed, ${failed} failed, ${expectedFail} expected failures; ` +
    `checks skipped or warned: ${expectedSkip} listed, ${unexpectedSkip} not listed`
);
const stale = strict && (fixed.length > 0 || neverRan.length > 0);
process.exit(failed > 0 || unexpectedSkip > 0 || harnessBroken || stale ? 1 : 0);
