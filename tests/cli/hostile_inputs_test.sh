#!/usr/bin/env bash
# Hostile inputs through the CLI: each must exit non-zero with one line "error: <reason>" on stderr — never a crash
# (signals give 128+N), a hang (ctest timeout) or a huge allocation. Usage: hostile_inputs_test.sh CLI DEMO_MODEL
set -u
cli=$1
model=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect_error() {  # expect_error NAME EXPECTED_PHRASE -- ARGS...
  local name=$1 phrase=$2
  shift 3
  local err rc
  err=$(timeout 60 "$cli" "$@" 2>&1 >/dev/null)
  rc=$?
  err=$(printf '%s\n' "$err" | grep -v '\] \[warning\] ')  # log warnings (e.g. a BLAS note) are not the error
  local lines
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || [[ "$err" != error:* ]] || [[ "$err" != *"$phrase"* ]]; then
    echo "FAIL $name: rc=$rc lines=$lines stderr: $err"
    failures=$((failures + 1))
  else
    echo "ok   $name: $err"
  fi
}

printf '' > "$tmp/empty.gguf"
head -c 4096 /dev/urandom > "$tmp/random.gguf"
head -c 100000 "$model" > "$tmp/truncated.gguf"
{ printf 'GGUF'; printf '\x03\x00\x00\x00'; printf '\xff\xff\xff\xff\xff\xff\xff\x7f'; printf '\x00\x00\x00\x00\x00\x00\x00\x00'; } > "$tmp/absurd-count.gguf"
{ printf 'GGML'; head -c 64 /dev/zero; } > "$tmp/bad-magic.gguf"
mkdir -p "$tmp/no-config" "$tmp/no-weights" "$tmp/bad-config"
echo '{"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 256, "max_position_embeddings": 64, "rms_norm_eps": 1e-6}' > "$tmp/no-weights/config.json"
echo '{"model_type": "gpt_neox"}' > "$tmp/bad-config/config.json"
printf 'not a model' > "$tmp/notes.txt"
printf '\x08\x00\x00\x00\x00\x00\x00\x00{"a":1}' > "$tmp/bad.safetensors"

expect_error "missing path" "no such file" -- inspect "$tmp/nope.gguf"
expect_error "empty file" "" -- inspect "$tmp/empty.gguf"
expect_error "random bytes" "" -- inspect "$tmp/random.gguf"
expect_error "truncated gguf" "" -- inspect "$tmp/truncated.gguf"
expect_error "absurd tensor count" "" -- inspect "$tmp/absurd-count.gguf"
expect_error "bad magic" "" -- inspect "$tmp/bad-magic.gguf"
expect_error "dir without config" "config.json" -- inspect "$tmp/no-config"
expect_error "dir without weights" "model.safetensors" -- inspect "$tmp/no-weights"
expect_error "unknown architecture" "gpt_neox" -- inspect "$tmp/bad-config"
expect_error "text file" "not a model" -- inspect "$tmp/notes.txt"
expect_error "safetensors without config" "config.json" -- inspect "$tmp/bad.safetensors"
cp "$tmp/bad.safetensors" "$tmp/no-weights/model.safetensors"
expect_error "bad safetensors header" "header length" -- inspect "$tmp/no-weights"
expect_error "tiny model without tokenizer" "tokenizer" -- inspect "$(dirname "$0")/../data/tiny_llama"
long=$(printf 'word %.0s' $(seq 1 400))
expect_error "prompt over context" "context" -- generate -m "$model" -c 64 -n 4 -p "$long"
expect_error "empty prompt" "empty" -- generate -m "$model" -n 4 -p "   "
expect_error "unwritable report" "report" -- generate -m "$model" -n 2 -p "hi" --report /nonexistent-dir/r.json
expect_error "report extension" ".json or .csv" -- generate -m "$model" -n 2 -p "hi" --report "$tmp/r.txt"
expect_error "bad override" "override" -- generate -m "$model" -n 2 -p "hi" --override 99=SA
expect_error "bad detokenize id" "outside the vocabulary" -- tokenize -m "$model" --detokenize -p "1 2 999999"
expect_error "missing prompt file" "cannot read" -- generate -m "$model" -f "$tmp/nope.txt"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
