#!/usr/bin/env python3
"""Writes the chat-template golden data of tests/engine/tokenizer/jinja_golden_test.cpp: each template rendered by
Python's jinja2 configured as transformers' apply_chat_template configures it.

  python3 -m venv .venv-jinja && .venv-jinja/bin/pip install gguf jinja2
  .venv-jinja/bin/python tools/golden/make_chat_template_golden.py [models/SmolLM2-135M-Instruct.Q4_1.gguf]

Outputs (commit them): tests/data/chat_templates/<name>.json =
  {"template": text, "cases": [{"name", "messages", "add_generation_prompt", "bos_token", "eos_token", "variables",
                                "now", "expected" | ("expected_error", "error_kind": raised | undefined)}]}
The C++ test renders every case with engine/tokenizer/chat_template_jinja.h and compares byte for byte.

The template texts: SmolLM2's is read from the demo GGUF (tokenizer.chat_template). The others are written from
memory of the public templates (Qwen3, Llama-3.1-Instruct, Mistral-Instruct v0.3, Gemma-2, Gemma-3, Phi-3) and may
differ from upstream in details (notably the tool-call branches, which are shortened); "constructs" is the project's
own template exercising every construct the interpreter supports. What the test checks is that our interpreter and
jinja2 agree on the same text, which holds whatever the exact upstream wording.
"""
import datetime
import json
import sys
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "chat_templates"
# strftime_now's clock in the golden cases: 2024-07-26 12:00 UTC, noon so that the date holds in any time zone
# within +-11 h of UTC (both sides use local time, as transformers does).
NOW = 1721995200


def environment(now):
    """transformers.utils.chat_template_utils._compile_jinja_template: sandboxed, trim_blocks, lstrip_blocks,
    loopcontrols, tojson = json.dumps(ensure_ascii=False), raise_exception, strftime_now."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.datetime.fromtimestamp(now).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(template, case):
    env = environment(case.get("now", NOW))
    kwargs = {"messages": case["messages"], "tools": None, "documents": None,
              "add_generation_prompt": case["add_generation_prompt"],
              "bos_token": case["bos_token"], "eos_token": case["eos_token"]}
    kwargs.update(case["variables"])
    return env.from_string(template).render(**kwargs)


def smollm2_template(gguf_path):
    from gguf import GGUFReader
    field = GGUFReader(gguf_path).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


QWEN3 = r'''{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}'''

LLAMA31 = r'''{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
'''

MISTRAL_V03 = r'''{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {{- tool | tojson }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
            {%- endfor %}
            {{- "][/AVAILABLE_TOOLS]" }}
        {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
'''

GEMMA2 = r'''{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}'''

GEMMA3 = r'''{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
'''

PHI3 = r'''{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}'''

# The project's own template: every construct docs/chat-templates.md lists, in chat-template shape.
CONSTRUCTS = r'''{#- comments and whitespace control -#}
{%- macro render_turn(role, text, suffix='\n') -%}
<{{ role | upper }}>{{ text | trim }}</{{ role|lower }}>{{ suffix }}
{%- endmacro -%}
{%- macro framed(title) -%}
[{{ title | title }}|{{ caller() }}]
{%- endmacro -%}
{%- set ns = namespace(count=0, roles=[], last_user='') -%}
{%- set greeting -%}
Hello {{ user_name | default('friend') }}!
{%- endset -%}
{{ bos_token }}{{ greeting }}
{% for m in messages if m.role != 'tool' %}
  {% set ns.count = ns.count + 1 %}
  {% set ns.roles = ns.roles + [m.role] %}
  {% if m.role == 'user' %}{% set ns.last_user = m.content %}{% endif %}
  {{ loop.index }}/{{ loop.length }} i0={{ loop.index0 }} rev={{ loop.revindex }},{{ loop.revindex0 }} first={{ loop.first }} last={{ loop.last }} {{ loop.cycle('odd', 'even') }}
{{ render_turn(m.role, m.content) }}
  {%- if loop.previtem is defined %} prev={{ loop.previtem.role }}{% endif %}
{% else %}
no messages
{% endfor %}
count={{ ns.count }} roles={{ ns.roles | join(',') }} unique={{ ns.roles | unique | list | length }}
{% call framed('the last user turn') %}{{ ns.last_user[:20] }}{% endcall %}

reversed={{ (messages | map(attribute='role') | list)[::-1] }} every2={{ [0,1,2,3,4,5][::2] }} neg={{ 'abcdef'[-3:] }} {{ 'abcdef'[1:-1] }} {{ 'abcdef'[::-2] }} {{ [1,2,3][5:] }}
users={{ messages | selectattr('role', 'equalto', 'user') | list | length }} others={{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | join('+') }}
{%- set first = messages | first %}{%- set last = messages | last %}
first={{ first.role }} last={{ last['role'] }} {{ messages[0].get('role') }} {{ messages[0].get('missing', 'dflt') }} {{ messages[0].get('missing') }}
{% for k, v in messages[0].items() %}{{ k }}={{ v | length }}{% if not loop.last %}; {% endif %}{% endfor %} keys={{ messages[0].keys() | list }} nvalues={{ messages[0].values() | list | length }}
{% for k, v in config | items %}{{ k }}:{{ v }} {% endfor %}| {{ config | tojson }} | {{ config | tojson(indent=2) }}
{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ 10 / 4 * 2 }} {{ 3 - -2 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 2.0 }} {{ 100000000000000000.0 }}
{{ 'a' ~ 1 ~ none ~ true ~ undefined_thing }} {{ 'x' * 3 }} {{ [1] + [2, 3] }} {{ {'k': [1, 'two', none, true, 2.5]} }} {{ ('t', 1) | list }}
{{ 'yes' if ns.count > 1 else 'no' }} {{ 'never' if false }}|{{ none }}|{{ true and 'both' }} {{ false or 'fallback' }} {{ not none }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'ab' in 'cabd' }} {{ 'role' in messages[0] }} {{ 4 not in [1, 2] }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'b' }}
tests: {{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ config is mapping }} {{ messages is iterable }} {{ 'a' is sequence }} {{ 3 is number }} {{ 3.5 is number }} {{ true is boolean }} {{ true is true }} {{ false is false }} {{ 1 is true }} {{ 0 is false }} {{ 4 is equalto 4 }} {{ 4 is eq(5) }} {{ 'x' is not string }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 3 is integer }} {{ 3.0 is float }}
filters: {{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Hello World' | lower }}|{{ 'mixed Case' | upper }}|{{ 'hello WORLD' | capitalize }}|{{ 'hello big-world (of x)' | title }}|{{ 'a-b-c' | replace('-', '+') }}|{{ 'aaaa' | replace('a', 'b', 2) }}|{{ undefined_thing | default('def') }}|{{ '' | default('empty', true) }}|{{ '' | d('kept') }}|{{ 'abc' | first }}{{ 'abc' | last }}|{{ [3, 1, 2] | sort | join }}|{{ ['b', 'A', 'c'] | sort }}|{{ [1, 2, 3] | reverse | list }}|{{ 'abc' | reverse }}|{{ '42' | int + 1 }}|{{ 'x' | int }}|{{ '3.9' | int }}|{{ 3.9 | int }}|{{ 7 | string ~ '!' }}|{{ 'abc' | list }}|{{ [1, 2, 3] | length }}{{ 'héllo' | count }}|{{ [4, 1, 9] | max }}{{ [4, 1, 9] | min }}{{ [4, 1, 9] | sum }}|{{ -3 | abs }}|{{ 'word  count here' | wordcount }}|{{ ['a', 'b'] | map('upper') | join }}|{{ config | length }}
methods: {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'k=v=w'.split('=', 1) }} {{ '  s  '.strip() }}|{{ '  s  '.lstrip() }}|{{ '  s  '.rstrip() }}|{{ '--s--'.strip('-') }} {{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'bc')) }} {{ 'MiXed'.lower() }}{{ 'MiXed'.upper() }} {{ 'one two'.title() }} {{ 'aXbXc'.replace('X', '') }} {{ 'hello'.capitalize() }} {{ 'banana'.count('a') }} {{ 'banana'.find('n') }}
{% for i in range(3) %}{{ i }}{% if i == 1 %}{% break %}{% endif %}{% endfor %} {% for i in range(1, 10, 3) %}{% if i == 4 %}{% continue %}{% endif %}{{ i }}{% endfor %} {% for i in range(5, 0, -2) %}{{ i }}{% endfor %}
{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set d = dict(x=1, y='z') %}{{ d.x }}{{ d['y'] }} {{ d | tojson }} date={{ strftime_now('%Y-%m-%d') }}
{% if messages | length > 100 %}many{% elif messages | length > 2 %}several{% else %}few{% endif %}
    {% if true %}
    lstrip and trim_blocks at work
    {% endif %}
{%+ if true %}kept indent{% endif +%}
  {{- ' dash-left' }} {{ 'dash-right' -}}   end
{% if add_generation_prompt %}<ASSISTANT>{% endif %}'''


def case(name, messages, agp=True, variables=None, bos="<s>", eos="</s>"):
    return {"name": name, "messages": messages, "add_generation_prompt": agp, "bos_token": bos, "eos_token": eos,
            "variables": variables or {}, "now": NOW}


SYSTEM = {"role": "system", "content": "You are a concise assistant."}
USER = {"role": "user", "content": "What is the capital of France?"}
ASSISTANT = {"role": "assistant", "content": "Paris."}
USER2 = {"role": "user", "content": "And of Italy?"}
SPECIAL = {"role": "user", "content": "Quotes \" ' and \\backslash\\, tabs\t, {{ braces }} {% tags %} {# c #},\n"
                                      "new\nlines, trailing spaces   , unicode é ü 漢字 😀 — done.  "}
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city <b>& more</b>",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
                   "required": ["city"]}}}


def common_cases():
    return [
        case("system_and_user", [SYSTEM, USER]),
        case("user_only", [USER]),
        case("multi_turn", [SYSTEM, USER, ASSISTANT, USER2]),
        case("multi_turn_no_system", [USER, ASSISTANT, USER2]),
        case("no_generation_prompt", [USER, ASSISTANT], agp=False),
        case("special_characters", [SYSTEM, SPECIAL]),
    ]


def templates(gguf_path):
    think = {"role": "assistant", "content": "<think>\nLet me recall.\n</think>\n\nParis."}
    return {
        "smollm2": (smollm2_template(gguf_path), common_cases()),
        "qwen3": (QWEN3, common_cases() + [
            case("thinking_off", [USER], variables={"enable_thinking": False}),
            case("thinking_on", [USER], variables={"enable_thinking": True}),
            case("reasoning_in_history", [USER, think, USER2]),
            case("reasoning_last_turn", [USER, think], agp=False),
            case("with_tools", [SYSTEM, USER], variables={"tools": [WEATHER_TOOL]}),
            case("tool_call_round_trip", [], variables={"messages": [
                USER,
                {"role": "assistant", "content": "",
                 "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                                  "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "content": "{\"temp\": 21.5}"}], "tools": [WEATHER_TOOL]}),
        ]),
        "llama31": (LLAMA31, common_cases() + [
            case("date_string", [SYSTEM, USER], variables={"date_string": "03 Dec 2026"}),
            case("tools_in_user_message", [SYSTEM, USER], variables={"tools": [WEATHER_TOOL]}),
            case("tools_in_system", [USER], variables={"tools": [WEATHER_TOOL], "tools_in_user_message": False}),
            case("builtin_tools", [USER], variables={"builtin_tools": ["code_interpreter", "brave_search"]}),
            case("tools_without_user", [SYSTEM], variables={"tools": [WEATHER_TOOL]}),
        ]),
        "mistral_v03": (MISTRAL_V03, common_cases() + [
            case("roles_not_alternating", [USER, USER2]),
            case("with_tools", [USER, ASSISTANT, USER2], variables={"tools": [WEATHER_TOOL]}),
        ]),
        "gemma2": (GEMMA2, common_cases()),
        "gemma3": (GEMMA3, common_cases() + [
            case("content_parts", [], variables={"messages": [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe this. "}]}]}),
        ]),
        "phi3": (PHI3, common_cases()),
        "constructs": (CONSTRUCTS, [
            case("conversation", [SYSTEM, USER, ASSISTANT, USER2],
                 variables={"config": {"temperature": 0.7, "top_k": 40, "name": "demo \"q\"", "tags": ["a", "b"],
                                       "nested": {"on": True, "off": None}}}),
            case("empty_conversation", [], agp=False, variables={"config": {}, "user_name": "Ada"}),
            case("special_characters", [SPECIAL], variables={"config": {"emoji": "😀", "ctl": "a\u0001b"}}),
        ]),
    }


def main():
    gguf_path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (template, cases) in templates(gguf_path).items():
        for c in cases:
            try:
                c["expected"] = render(template, c)
            except jinja2.exceptions.UndefinedError as e:  # a template bug jinja2 reports; ours words it differently
                c["expected_error"] = str(e)
                c["error_kind"] = "undefined"
            except jinja2.exceptions.TemplateError as e:  # raise_exception(message): the message must match
                c["expected_error"] = str(e)
                c["error_kind"] = "raised"
        path = OUT / f"{name}.json"
        path.write_text(json.dumps({"template": template, "jinja2_version": jinja2.__version__, "cases": cases},
                                   ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        errors = sum("expected_error" in c for c in cases)
        print(f"{path.relative_to(ROOT)}: {len(cases)} cases ({errors} expected errors)")


if __name__ == "__main__":
    main()
