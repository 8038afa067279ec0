// Benchmark of the npm package `docvault` against the same work done natively.
// Not a timed test: it prints figures for BENCHMARKS.md (section "host-node").
//
//   host-node/build.sh                      # builds the package into target/host-node/package
//   node host-node/bench.mjs [--rounds N] [--pkg DIR] [--native FILE | --no-native]
//
// Native figures come from `cargo run --release -p docvault-node --example native_bench`
// (host-node/examples/native_bench.rs), which does the same work with docvault-core directly.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const rounds = Number(opt('--rounds', '15'));
const pkgDir = path.resolve(opt('--pkg', path.join(root, 'target/host-node/package')));
const dv = createRequire(import.meta.url)(pkgDir);

const date = '2026-11-27';
const at = '2026-11-27T02:00:00Z';
const header = (count) => ({
  backup_date: date,
  backup_timestamp: at,
  environment: 'prod',
  source: { kind: 'generator', count, seed: 0 },
});

/**
 * Medians of several functions run in turn, round after round, so that figures which are
 * subtracted from each other (a crossing = one call less another) see the same machine load.
 */
function medians(n, fs) {
  for (const f of Object.values(fs)) f();
  const times = Object.fromEntries(Object.keys(fs).map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    for (const [k, f] of Object.entries(fs)) {
      const t = performance.now();
      f();
      times[k].push(performance.now() - t);
    }
  }
  return Object.fromEntries(
    Object.entries(times).map(([k, t]) => [k, t.sort((a, b) => a - b)[Math.floor(t.length / 2)]]),
  );
}

const js = {};
const put = (count, m) => Object.entries(m).forEach(([k, v]) => (js[`${k}/${count}`] = v));
for (const count of [500, 100_000]) {
  const r = count > 1000 ? Math.ceil(rounds / 3) : rounds * 4;
  put(count, medians(r, {
    day: () => dv.generateManifestJson({ date, at, count }),
    'day-objects': () => dv.generateManifest({ date, at, count }),
    generate: () => dv.generateDocuments({ date, count }),
  }));
  const docs = dv.generateDocuments({ date, count });
  const text = dv.buildManifestJson(header(count), docs);
  const bytes = Buffer.from(text);
  const decoder = new TextDecoder();
  const recordsText = JSON.stringify(docs);
  put(count, medians(r * 2, {
    build: () => dv.buildManifestJson(header(count), docs),
    'build-text': () => dv.buildManifestJsonFromText(header(count), recordsText),
    'build-stringify': () => dv.buildManifestJsonFromText(header(count), JSON.stringify(docs)),
    'build-objects': () => dv.buildManifest(header(count), docs),
    summarize: () => dv.summarize(docs),
    'JSON.stringify(documents)': () => JSON.stringify(docs),
    parse: () => dv.validateManifest(text),
    'parse-objects': () => dv.parseManifest(text),
    'JSON.parse(text)': () => JSON.parse(text),
    'decode-text': () => decoder.decode(bytes),
  }));
}

let native = null;
if (args.includes('--native')) {
  native = JSON.parse(readFileSync(opt('--native'), 'utf8'));
} else if (!args.includes('--no-native')) {
  const out = execFileSync(
    'cargo',
    ['run', '--quiet', '--release', '--locked', '-p', 'docvault-node', '--example', 'native_bench', '--', String(rounds)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  native = JSON.parse(out);
}

const ms = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3));
const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1];
console.log(`machine: ${cpu ?? os.cpus()[0]?.model} x ${os.cpus().length}, Node ${process.version}, package ${dv.version()}`);
console.log(`rounds: ${rounds} (median; 100,000-document rows use ${Math.ceil(rounds / 3)})\n`);

console.log('| work | documents | Node, package (ms) | native (ms) | ratio |');
console.log('|---|---:|---:|---:|---:|');
const rows = [
  ['day: generate (bodies + SHA-256), assemble, canonical JSON string', 'day'],
  ['generate records (bodies + SHA-256), as objects', 'generate'],
  ['build: records (JS objects) -> assemble -> canonical JSON string', 'build'],
  ['parse + validate manifest text (small result)', 'parse'],
  ['summarize records (JS objects in)', 'summarize'],
];
for (const count of [500, 100_000]) {
  js[`build-inside/${count}`] = js[`build/${count}`] - js[`summarize/${count}`];
  js[`build-text-vs-memory/${count}`] = js[`build-text/${count}`];
  if (native) {
    native[`build-inside/${count}`] = native[`build/${count}`];
    native[`build-stringify/${count}`] = native[`build/${count}`];
    native[`build-text-vs-memory/${count}`] = native[`build/${count}`];
  }
  const textRows = [
    ['build: records as one JSON string -> assemble -> canonical JSON (native parses the same text)', 'build-text'],
    ['  the same, against native records already in memory', 'build-text-vs-memory'],
    ['build: JS objects -> JSON.stringify -> buildManifestJsonFromText (native: records in memory)', 'build-stringify'],
  ];
  for (const [label, key] of [...rows.slice(0, 3), ['build less bringing the records in (build - summarize)', 'build-inside'], ...textRows, ...rows.slice(3)]) {
    const a = js[`${key}/${count}`];
    const b = native?.[`${key}/${count}`];
    console.log(`| ${label} | ${count.toLocaleString('en')} | ${ms(a)} | ${b === undefined ? '-' : ms(b)} | ${b ? (a / b).toFixed(2) + 'x' : '-'} |`);
  }
}

console.log('\nJS boundary, 500-document day (ms):');
const n = 500;
const outObjects = js[`parse-objects/${n}`] - js[`parse/${n}`];
const outString = js[`decode-text/${n}`];
const outStringParsed = outString + js[`JSON.parse(text)/${n}`];
const inObjects = js[`summarize/${n}`] - (native?.[`summarize/${n}`] ?? 0);
const coreWasm = js[`day/${n}`];
const coreNative = native?.[`day/${n}`];
const buildWasm = js[`build/${n}`] - inObjects;
const pct = (x, of) => `${((100 * x) / of).toFixed(1)}%`;
console.log(`| crossing | ms | share of the day in wasm (${ms(coreWasm)} ms) | share of assemble+serialize in wasm (${ms(buildWasm)} ms) |`);
console.log('|---|---:|---:|---:|');
for (const [label, x] of [
  ['manifest out as objects (parseManifest - validateManifest)', outObjects],
  ['manifest out as JSON string (UTF-8 decode)', outString],
  ['manifest out as JSON string + JSON.parse', outStringParsed],
  ['500 records in as objects (summarize)', inObjects],
  ['records in + manifest out, objects', inObjects + outObjects],
  ['records in as objects + manifest out as string', inObjects + outString],
]) {
  console.log(`| ${label} | ${ms(x)} | ${pct(x, coreWasm)} | ${pct(x, buildWasm)} |`);
}
if (coreNative) console.log(`\n(native day/500: ${ms(coreNative)} ms)`);
console.log('\nraw (ms):', JSON.stringify({ node: js, native }, (k, v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v)));
