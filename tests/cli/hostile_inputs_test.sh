#!/usr/bin/env bash
# Hostile inputs through the CLI: each must exit non-zero with one line "error: <reason>" on stderr — never a crash
# (signals give 128+N), a hang (ctest timeout) or a huge allocation. Usage: hostile_inputs_test.sh CLI DEMO_MODEL
set -u
source "$(dirname "$0")/test_lib.sh"

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

expect_single_error "missing path" "no such file" -- inspect "$tmp/nope.gguf"
expect_single_error "empty file" "" -- inspect "$tmp/empty.gguf"
expect_single_error "random bytes" "" -- inspect "$tmp/random.gguf"
expect_single_error "truncated gguf (in the metadata)" "exceeds what the 98893 remaining bytes can hold" -- inspect "$tmp/truncated.gguf"
head -c $(($(stat -c %s "$model") - 4096)) "$model" > "$tmp/truncated-data.gguf"
expect_single_error "truncated gguf (in the tensor data)" "extends past end of file" -- inspect "$tmp/truncated-data.gguf"
rm -f "$tmp/truncated-data.gguf"
expect_single_error "absurd tensor count" "" -- inspect "$tmp/absurd-count.gguf"
expect_single_error "bad magic" "" -- inspect "$tmp/bad-magic.gguf"
expect_single_error "dir without config" "config.json" -- inspect "$tmp/no-config"
expect_single_error "dir without weights" "model.safetensors" -- inspect "$tmp/no-weights"
expect_single_error "unknown architecture" "gpt_neox" -- inspect "$tmp/bad-config"
expect_single_error "text file" "not a model" -- inspect "$tmp/notes.txt"
expect_single_error "safetensors without config" "config.json" -- inspect "$tmp/bad.safetensors"
cp "$tmp/bad.safetensors" "$tmp/no-weights/model.safetensors"
expect_single_error "bad safetensors header" "header length" -- inspect "$tmp/no-weights"
expect_single_error "tiny model without tokenizer" "tokenizer" -- inspect "$(dirname "$0")/../data/tiny_llama"
long=$(printf 'word %.0s' $(seq 1 400))
expect_single_error "prompt over context" "context" -- generate -m "$model" -c 64 -n 4 -p "$long"
expect_single_error "empty prompt" "empty" -- generate -m "$model" -n 4 -p "   "
expect_single_error "unwritable report" "report" -- generate -m "$model" -n 2 -p "hi" --report /nonexistent-dir/r.json
expect_single_error "report extension" ".json or .csv" -- generate -m "$model" -n 2 -p "hi" --report "$tmp/r.txt"
printf 'keep me' > "$tmp/existing.json"
expect_single_error "existing report" "the file exists (give --overwrite" -- generate -m "$model" -n 2 -p "hi" \
  --report "$tmp/existing.json"
ln -sf "$tmp/nowhere/target.json" "$tmp/dangling.json"
expect_single_error "dangling symlink report" "the file exists" -- generate -m "$model" -n 2 -p "hi" --report "$tmp/dangling.json"
if [ "$(cat "$tmp/existing.json")" != "keep me" ] || [ -e "$tmp/nowhere" ]; then
  fail "existing report: the file was changed or the link followed"
fi
if timeout 120 "$cli" generate -m "$model" -n 2 -p "hi" -q --report "$tmp/existing.json" --overwrite > /dev/null 2>&1 &&
   grep -q '"schema_version"' "$tmp/existing.json"; then
  echo "ok   --overwrite replaces the report"
else
  fail "--overwrite did not replace the report"
fi
expect_single_error "bad override" "override" -- generate -m "$model" -n 2 -p "hi" --override 99=SA
expect_single_error "bad detokenize id" "outside the vocabulary" -- tokenize -m "$model" --detokenize -p "1 2 999999"
expect_single_error "missing prompt file" "cannot open the prompt file" -- generate -m "$model" -f "$tmp/nope.txt"

# --- model files that lie about their layout (docs/reliability.md has the table) ---
gguf_header() {  # gguf_header N_TENSORS: magic, version 3, tensor count, no metadata
  printf 'GGUF\x03\x00\x00\x00'; printf "$(printf '\\x%02x' "$1")\x00\x00\x00\x00\x00\x00\x00"; printf '\x00\x00\x00\x00\x00\x00\x00\x00'
}
tensor_info() {  # tensor_info NAME NE0_HEX16 NE1_HEX16 TYPE_BYTE OFFSET_HEX16 (2-D; hex little-endian bytes)
  local name=$1
  printf "$(printf '\\x%02x' ${#name})\x00\x00\x00\x00\x00\x00\x00%s\x02\x00\x00\x00" "$name"
  printf "$2$3"; printf "$(printf '\\x%02x' "$4")\x00\x00\x00"; printf "$5"
}
zero8='\x00\x00\x00\x00\x00\x00\x00\x00'
n16='\x10\x00\x00\x00\x00\x00\x00\x00'
n2e20='\x00\x00\x10\x00\x00\x00\x00\x00'   # 2^20
{ gguf_header 1; tensor_info a "$n16" "$n16" 0 "$zero8"; head -c 64 /dev/zero; } > "$tmp/past-end.gguf"
{ gguf_header 1; tensor_info huge "$n2e20" "$n2e20" 0 "$zero8"; head -c 64 /dev/zero; } > "$tmp/huge-claim.gguf"
{ gguf_header 2; tensor_info a "$n16" "$n16" 0 "$zero8"; tensor_info b "$n16" '\x01\x00\x00\x00\x00\x00\x00\x00' 0 '\x20\x00\x00\x00\x00\x00\x00\x00'
  head -c 2048 /dev/zero; } > "$tmp/overlap.gguf"
{ gguf_header 1; tensor_info q "$n16" "$n16" 99 "$zero8"; head -c 2048 /dev/zero; } > "$tmp/unknown-type.gguf"
{ gguf_header 1; tensor_info z "$n16" "$zero8" 0 "$zero8"; } > "$tmp/zero-dim.gguf"
expect_single_error "tensor data past the end" "extends past end of file" -- inspect "$tmp/past-end.gguf"
expect_single_error "2^40-element tensor" "4398046511104 bytes] extends past end of file" -- inspect "$tmp/huge-claim.gguf"
expect_single_error "overlapping tensors" "overlap" -- inspect "$tmp/overlap.gguf"
expect_single_error "unknown tensor type" "unsupported tensor type 99" -- inspect "$tmp/unknown-type.gguf"
expect_single_error "zero dimension" "is zero" -- inspect "$tmp/zero-dim.gguf"

data=$(cd "$(dirname "$0")/../data" && pwd)
mkdir -p "$tmp/escape/model"
cp "$data/tiny_llama/config.json" "$tmp/escape/model/"
cp "$data/tiny_llama/model.safetensors" "$tmp/escape/outside.safetensors"
echo '{"weight_map": {"model.embed_tokens.weight": "../outside.safetensors"}}' > "$tmp/escape/model/model.safetensors.index.json"
expect_single_error "shard path escaping the model dir" "escapes the model directory" -- inspect "$tmp/escape/model"
mkdir -p "$tmp/absolute"
cp "$data/tiny_llama/config.json" "$tmp/absolute/"
echo "{\"weight_map\": {\"model.embed_tokens.weight\": \"$tmp/escape/outside.safetensors\"}}" > "$tmp/absolute/model.safetensors.index.json"
expect_single_error "absolute shard path" "must be relative to the model directory" -- inspect "$tmp/absolute"
mkdir -p "$tmp/no-merges"
cp "$data/tiny_llama/config.json" "$data/tiny_llama/model.safetensors" "$tmp/no-merges/"
echo '{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}}' > "$tmp/no-merges/tokenizer.json"
expect_single_error "tokenizer without merges" "no merges" -- tokenize -m "$tmp/no-merges" -p "ab"

# --- prompts and outputs ---
expect_single_error "prompt over context (chat)" "context" -- generate -m "$model" --chat -c 32 -n 2 -p "$long"
expect_single_error "empty prompt file" "empty" -- generate -m "$model" -n 2 -f "$tmp/empty.gguf"
expect_single_error "report path is a directory" "report" -- generate -m "$model" -n 2 -p "hi" --report "$tmp/escape/"
mkdir -p "$tmp/readonly" && chmod a-w "$tmp/readonly"
if [ "$(id -u)" -ne 0 ]; then  # root writes anywhere: this case only means something for normal users
  expect_single_error "read-only report dir" "report" -- generate -m "$model" -n 2 -p "hi" --report "$tmp/readonly/r.json"
fi
# Invalid UTF-8 in a prompt is not an error: the bytes are tokenized as they are (as HF tokenizers do) and the run
# completes; the exported report stays valid UTF-8 JSON.
bad_utf8=$(printf 'caf\xc3 \xff\xfe \xed\xa0\x80 ok')
if timeout 120 "$cli" generate -m "$model" -n 2 -p "$bad_utf8" --report "$tmp/utf8.json" >/dev/null 2>"$tmp/utf8.err" \
    && python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$tmp/utf8.json"; then
  echo "ok   invalid UTF-8 prompt: run completes, report is valid JSON"
else
  fail "invalid UTF-8 prompt: rc=$? $(cat "$tmp/utf8.err")"
fi

# --- router and route files ---
printf 'not a safetensors file at all' > "$tmp/corrupt.router.safetensors"
head -c 20000 "$data/router/golden_router.safetensors" > "$tmp/truncated.router.safetensors"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$tmp/plain.router.safetensors"
expect_single_error "corrupt router file" "corrupt.router.safetensors" -- generate -m "$model" -n 1 -p "hi" --router "$tmp/corrupt.router.safetensors"
expect_single_error "truncated router file" "extend past end of file" -- generate -m "$model" -n 1 -p "hi" --router "$tmp/truncated.router.safetensors"
expect_single_error "safetensors that is no router" "not a FluxScope router" -- generate -m "$model" -n 1 -p "hi" --router "$tmp/plain.router.safetensors"
expect_single_error "router for another model" "does not fit" -- generate -m "$model" -n 1 -p "hi" --router "$data/router/golden_router.safetensors"
printf '{"preset": "fa", "overrides": 7}' > "$tmp/route-type.json"
printf '{"preset": ' > "$tmp/route-broken.json"
python3 -c 'print("[" * 100000)' > "$tmp/route-deep.json"
expect_single_error "route file key of the wrong type" "wrong type" -- generate -m "$model" -n 1 -p "hi" --route "$tmp/route-type.json"
expect_single_error "route file not JSON" "not valid JSON" -- generate -m "$model" -n 1 -p "hi" --route "$tmp/route-broken.json"
expect_single_error "route file nested 100000 deep" "nested deeper than 64" -- generate -m "$model" -n 1 -p "hi" --route "$tmp/route-deep.json"

finish "hostile inputs"
