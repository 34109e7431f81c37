// Judges one run of tests/conformance/run.sh: reads each run's CLI log (its
// SUMMARY block is the verdict per scenario) and the checks.json files (for
// the failing checks' messages, and for the checks the suite skipped or only
// warned about, which the SUMMARY does not count), compares them with
// expected-failures.txt and exits 1 on any unexpected failure, skip or
// warning.
//
// usage: node evaluate.mjs RESULTS_DIR EXPECTED_FAILURES_FILE RUN...
//
// A RUN is a revision (`--requirements REV`) or `all` (`--suite all`).
// RESULTS_DIR holds, per run, RUN.log (the CLI's stdout+stderr), RUN.rc (its
// exit status) and RUN/ (the CLI's --output-dir).
//
// expected-failures.txt: one entry per line, `SCENARIO[@RUN]  # reason` for a
// failing scenario, `SCENARIO:CHECK[@RUN]  # reason` for one check the suite
// skips (or warns about) in that scenario. A bare entry covers every run;
// blank lines and lines starting with `#` are ignored; the reason is mandatory.

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
    const m = /^([A-Za-z0-9_./:-]+)(?:@(\d{4}-\d{2}-\d{2}|all))?\s+#\s*(\S.*)$/.exec(line);
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
function expectation(scenario, rev) {
  return expected.get(`${scenario}@${rev}`) ?? expected.get(scenario);
}

// ---- results ---------------------------------------------------------------
const TS_SUFFIX = /-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
// Checks that neither passed nor failed, by scenario: SKIPPED (the suite could
// not test it) and WARNING (a SHOULD the server missed). INFO is a note.
const NOT_PASSED = new Set(['SKIPPED', 'WARNING']);
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
    const text = (c) => `${c.id}: ${(c.errorMessage ?? '').replace(/\s+/g, ' ').slice(0, 300)}`;
    byScenario.set(scenario, {
      failing: checks.filter((c) => c.status === 'FAILURE').map(text),
      notPassed: checks.filter((c) => NOT_PASSED.has(c.status)).map((c) => ({ ...c, text: text(c) })),
    });
  }
  return byScenario;
}

let passed = 0;
let failed = 0; // unexpected failures
let expectedFail = 0;
let expectedSkip = 0;
let unexpectedSkip = 0; // skipped or warned checks not listed
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
  const announced = /Running (?:requirements \S+|\S+ suite) \((\d+) scenarios\)/.exec(log);
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
    for (const d of details.get(r.scenario)?.failing ?? []) console.log(`           - ${d}`);
  }
  // Skipped and warned checks: each must be listed, with the reason.
  const usedHere = new Set();
  for (const r of summary) {
    for (const c of details.get(r.scenario)?.notPassed ?? []) {
      const exp = expectation(`${r.scenario}:${c.id}`, rev);
      if (exp) {
        exp.used = true;
        exp.ran = true;
        usedHere.add(exp);
        expectedSkip++;
        console.log(`  ${c.status.padEnd(8)}${r.scenario}:${c.id}  # ${exp.reason}`);
      } else {
        unexpectedSkip++;
        unexpected.push(`${r.scenario}:${c.id}@${rev} (${c.status})`);
        console.log(`  ${c.status.padEnd(8)}${r.scenario}:${c.id}  (not listed) ${c.text}`);
      }
    }
  }
  // A listed check that ran in this run and did not skip is fixed.
  for (const [key, exp] of expected) {
    const [scenario, check] = key.split('@')[0].split(':');
    if (!check || usedHere.has(exp)) continue;
    const forRun = key.includes('@') ? key.endsWith(`@${rev}`) : true;
    if (forRun && summary.some((r) => r.scenario === scenario)) {
      exp.ran = true;
      fixed.push(`${key} in ${rev} (${path.basename(expectedFile)}:${exp.line})`);
    }
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
console.log(
  `conformance: ${passed} passed, ${failed} failed, ${expectedFail} expected failures; ` +
    `checks skipped or warned: ${expectedSkip} listed, ${unexpectedSkip} not listed`
);

const staleFails = strict && (fixed.length > 0 || neverRan.length > 0);
process.exit(failed > 0 || unexpectedSkip > 0 || harnessBroken || staleFails ? 1 : 0);
