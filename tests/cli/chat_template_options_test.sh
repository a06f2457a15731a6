#!/usr/bin/env bash
# The chat-template flags of `generate` on the demo model (CPU): --verbose-prompt prints what built the prompt, its
# text and tokens; --chat-template FILE renders that file with --chat-template-kwargs variables, and the report's
# chat_format and rendered_prompt say so; without --chat nothing is templated; bad names, files and kwargs fail with
# a clear error. Usage: chat_template_options_test.sh CLI DEMO_MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

run() { timeout 300 "$cli" generate -m "$model" --backend cpu -t 1 -n 1 -q "$@"; }
run -p "Hi there" --chat --verbose-prompt --report "$tmp/own.json" > /dev/null 2> "$tmp/own.err" ||
  fail "verbose-prompt: $(cat "$tmp/own.err")"
grep -q "^prompt (chat_format: the model's Jinja template), [0-9]* tokens:" "$tmp/own.err" ||
  fail "no chat_format line: $(head -3 "$tmp/own.err")"
grep -q "^<|im_start|>user$" "$tmp/own.err" || fail "rendered prompt not printed"
grep -q "^ *1 -> '<|im_start|>'$" "$tmp/own.err" || fail "token list not printed"

printf '%s' '{% for m in messages %}[{{ m.role }}] {{ m.content }}{% if thinking is defined %} thinking={{ thinking }}{% endif %}
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}' > "$tmp/t.jinja"
run -p "Hi there" --chat --chat-template "$tmp/t.jinja" --chat-template-kwargs '{"thinking": false}' \
  --report "$tmp/file.json" > /dev/null 2> "$tmp/file.err" || fail "--chat-template FILE: $(cat "$tmp/file.err")"
run -p "Hi there" --report "$tmp/raw.json" > /dev/null 2> "$tmp/raw.err" || fail "no --chat: $(cat "$tmp/raw.err")"
python3 - "$tmp" <<'PY' || failures=$((failures + 1))
import json, sys
tmp = sys.argv[1]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
own, f, raw = (json.load(open(f"{tmp}/{n}.json")) for n in ("own", "file", "raw"))
check(own["chat_format"] == "the model's Jinja template", f"own: {own['chat_format']}")
check(own["rendered_prompt"].startswith("<|im_start|>system\n") and "<|im_start|>user\nHi there<|im_end|>" in
      own["rendered_prompt"], f"own rendered: {own['rendered_prompt']!r}")
check(f["chat_format"] == f"Jinja file {tmp}/t.jinja", f"file: {f['chat_format']}")
# jinja2 prints False; trim_blocks (as transformers renders) drops the newline after a block tag
check(f["rendered_prompt"] == "[user] Hi there thinking=False<|im_start|>assistant\n", f"file: {f['rendered_prompt']!r}")
check(f["settings"]["chat_template"] == f"{tmp}/t.jinja" and json.loads(f["settings"]["chat_template_kwargs"]) ==
      {"thinking": False}, "settings record the flags")
check(f["prompt_tokens"] < own["prompt_tokens"], "the file's prompt is the shorter one")
check(raw["chat_format"].startswith("none") and raw["rendered_prompt"] == "Hi there", f"raw: {raw['chat_format']}")
if errors:
    print("FAIL chat template options: " + "; ".join(errors))
    sys.exit(1)
print("ok   chat_format and rendered_prompt for the model's template, a file with kwargs, no --chat")
PY
expect_error "unknown template name" "--chat-template tool_use" "no such file" "no named templates" -- \
  generate -m "$model" --backend cpu -n 1 -p hi --chat --chat-template tool_use
expect_error "kwargs not an object" "--chat-template-kwargs" "not a JSON object" -- \
  generate -m "$model" --backend cpu -n 1 -p hi --chat --chat-template-kwargs '[true]'
printf '{%% if %%}' > "$tmp/bad.jinja"
expect_error "template does not compile" "--chat-template $tmp/bad.jinja" "chat template" -- \
  generate -m "$model" --backend cpu -n 1 -p hi --chat --chat-template "$tmp/bad.jinja"
finish "chat template options"
