// Judges one run of tests/conformance/run.sh: reads each revision's CLI log
// (its SUMMARY block is the verdict per scenario) and the checks.json files
// (for the failing checks' messages), compares the failures with
// expected-failures.txt and exits 1 on any unexpected failure.
//
// usage: node evaluate.mjs RESULTS_DIR EXPECTED_FAILURES_FILE REVISION...
//
// RESULTS_DIR holds, per revision, REV.log (the CLI's stdout+stderr), REV.rc
// (its exit status) and REV/ (the CLI's --output-dir).
//
// expected-failures.txt: one entry per line, `SCENARIO[@REVISION]  # reason`.
// A bare SCENARIO covers every revision it runs under; blank lines and lines
// starting with `#` are ignored; the reason is mandatory.

import fs from 'node:fs';
import path from 'node:path';

const [resultsDir, expectedFile, ...revisions] = process.argv.slice(2);
if (!resultsDir || !expectedFile || revisions.length === 0) {
  console.error('usage: node evaluate.mjs RESULTS_DIR EXPECTED_FAILURES_FILE REVISION...');
  process.exit(2);
}
const strict = process.env.CONFORMANCE_STRICT_BASELINE === '1';

// ---- expected failures -----------------------------------------------------
const expected = new Map(); // key "scenario" or "scenario@rev" -> {reason, line, used}
const badLines = [];
fs.readFileSync(expectedFile, 'utf8')
  .split('\n')
  .forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9_./-]+)(?:@(\d{4}-\d{2}-\d{2}))?\s+#\s*(\S.*)$/.exec(line);
    if (!m) {
      badLines.push(`${expectedFile}:${i + 1}: expected "SCENARIO[@REVISION]  # reason", got: ${raw}`);
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
function expectation(scenario, rev) {
  return expected.get(`${scenario}@${rev}`) ?? expected.get(scenario);
}

// ---- results ---------------------------------------------------------------
const TS_SUFFIX = /-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
function failingChecks(rev) {
  const byScenario = new Map();
  const dir = path.join(resultsDir, rev);
  if (!fs.existsSync(dir)) return byScenario;
  for (const entry of fs.readdirSync(dir)) {
    if (!entry.startsWith('server-') || !TS_SUFFIX.test(entry)) continue;
    const scenario = entry.slice('server-'.length).replace(TS_SUFFIX, '');
    let checks;
    try {
      checks = JSON.parse(fs.readFileSync(path.join(dir, entry, 'checks.json'), 'utf8'));
    } catch {
      continue;
    }
    byScenario.set(
      scenario,
      checks
        .filter((c) => c.status === 'FAILURE')
        .map((c) => `${c.id}: ${(c.errorMessage ?? '').replace(/\s+/g, ' ').slice(0, 300)}`)
    );
  }
  return byScenario;
}

let passed = 0;
let failed = 0; // unexpected failures
let expectedFail = 0;
const unexpected = [];
const fixed = [];
let harnessBroken = false;

for (const rev of revisions) {
  const logPath = path.join(resultsDir, `${rev}.log`);
  const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
  const rc = (() => {
    try {
      return fs.readFileSync(path.join(resultsDir, `${rev}.rc`), 'utf8').trim();
    } catch {
      return '?';
    }
  })();
  const announced = /Running requirements \S+ \((\d+) scenarios\)/.exec(log);
  const summary = [];
  let inSummary = false;
  const notScored = new Map();
  let inNotScored = false;
  for (const line of log.split('\n')) {
    if (line.startsWith('=== SUMMARY ===')) inSummary = true;
    const s = inSummary && /^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/.exec(line);
    if (s) summary.push({ ok: s[1] === '✓', scenario: s[2], passed: +s[3], failed: +s[4] });
    if (/^Not scored for /.test(line)) inNotScored = true;
    const n = inNotScored && /^\s+[✓✗] (\S+) \(([^)]+)\)/.exec(line);
    if (n) notScored.set(n[1], n[2]);
  }

  console.log(`\n=== ${rev}: ${summary.length} scenarios (CLI exit ${rc}) ===`);
  if (!announced || summary.length === 0 || summary.length !== +announced[1]) {
    harnessBroken = true;
    console.log(
      `HARNESS ERROR: expected ${announced ? announced[1] : '?'} scenario results, found ${summary.length}; see ${logPath}`
    );
    console.log(log.split('\n').slice(-40).join('\n'));
  }

  const details = failingChecks(rev);
  for (const r of summary) {
    const exp = expectation(r.scenario, rev);
    if (exp) exp.ran = true;
    const tag = notScored.has(r.scenario) ? ` [not scored: ${notScored.get(r.scenario)}]` : '';
    if (r.ok) {
      passed++;
      if (exp) {
        fixed.push(`${r.scenario}@${rev} (${path.basename(expectedFile)}:${exp.line})`);
        console.log(`  PASS   ${r.scenario}${tag}  (listed as expected failure: stale entry)`);
      } else {
        console.log(`  PASS   ${r.scenario}${tag}`);
      }
      continue;
    }
    if (exp) {
      exp.used = true;
      expectedFail++;
      console.log(`  XFAIL  ${r.scenario}${tag}  # ${exp.reason}`);
    } else {
      failed++;
      unexpected.push(`${r.scenario}@${rev}`);
      console.log(`  FAIL   ${r.scenario}${tag}  (${r.failed} failed checks)`);
    }
    for (const d of details.get(r.scenario) ?? []) console.log(`           - ${d}`);
  }
}

const neverRan = [...expected.entries()].filter(([, v]) => !v.ran).map(([k]) => k);
console.log('');
if (fixed.length) {
  console.log(`Now passing, remove from ${path.basename(expectedFile)}: ${fixed.join(', ')}`);
}
if (neverRan.length) {
  console.log(`Listed in ${path.basename(expectedFile)} but not run: ${neverRan.join(', ')}`);
}
if (unexpected.length) console.log(`Unexpected failures: ${unexpected.join(', ')}`);
if (harnessBroken) console.log('The conformance CLI did not report every scenario (see HARNESS ERROR above).');
console.log(`conformance: ${passed} passed, ${failed} failed, ${expectedFail} skipped`);

const staleFails = strict && (fixed.length > 0 || neverRan.length > 0);
process.exit(failed > 0 || harnessBroken || staleFails ? 1 : 0);
