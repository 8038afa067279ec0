// Loads the wasm32-unknown-unknown build of docvault-core (tests/wasm-probe) in Node with NO
// imports, and checks that the manifest it builds equals the golden file byte for byte.
//   node tests/wasm/probe.mjs path/to/docvault_wasm_probe.wasm tests/golden/manifest-500-2026-11-27.json
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import test from 'node:test';

const [wasmPath, goldenPath] = process.argv.slice(2);

test('core module imports nothing', async () => {
  const module = await WebAssembly.compile(readFileSync(wasmPath));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
});

test('core in wasm32 writes the golden manifest byte for byte', async () => {
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
  const { docvault_probe_manifest, docvault_probe_output, memory } = instance.exports;
  const days = Date.UTC(2026, 10, 27) / 86400000;
  const at = BigInt(Date.UTC(2026, 10, 27, 2) / 1000);
  const len = docvault_probe_manifest(500, 0n, days, at);
  assert.ok(len > 0, 'probe reported an error');
  const ptr = docvault_probe_output();
  const bytes = Buffer.from(new Uint8Array(memory.buffer, ptr, len));
  assert.ok(bytes.equals(readFileSync(goldenPath)), 'wasm manifest differs from the golden file');
});
