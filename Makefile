# Convenience wrappers; the scripts are the source of truth.
.PHONY: demo test wasm bench fuzz golden

demo:            ## the main job on the embedded default
	scripts/demo.sh
test:            ## every test (what CI runs)
	scripts/test.sh
wasm:            ## wasm32 builds of the core probe and the CLI
	scripts/build-wasm.sh unknown docvault-wasm-probe
	scripts/build-wasm.sh wasip1 docvault-cli
bench:           ## criterion benchmarks of the core
	cargo bench -p docvault-core
fuzz:            ## ten minutes of fuzzing the manifest parser
	scripts/fuzz.sh 600
golden:          ## rewrite the golden manifests after an intended format change
	UPDATE_GOLDEN=1 cargo test -p docvault-tests --test golden
