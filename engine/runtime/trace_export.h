// A run's timeline as Chrome trace-event JSON (the Trace Event Format that Perfetto, chrome://tracing and Speedscope
// read), built from its RunReport alone: the CLI's --trace and the app's File > Export Trace write the same file.
// One process, two tracks (threads): "prefill" holds one span per layer ("L17 SA streaming") with three children
// (router, attention, rest: the layer's router_ms, attention_ms and the remainder of its prefill_ms) and a final
// "lm_head + first token" span up to the TTFT; "decode" holds one span per decode step after the first token.
// Times are µs from the start of prefill. The report gives durations, not start times, so layers are laid end to
// end from 0 and the three parts of a layer in that order (their real order interleaves: projections, router,
// attention, MLP). Args carry mode, SA kind, density and KV bytes per layer.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/runtime/run_report.h"

namespace flux::engine {

inline constexpr int kTracePrefillTid = 1;
inline constexpr int kTraceDecodeTid = 2;

// {"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {model, route, backend, ...}}.
nlohmann::json trace_json(const RunReport& report);
// Writes trace_json; throws Error naming the path when it cannot.
void save_trace(const RunReport& report, const std::filesystem::path& path);

}  // namespace flux::engine
