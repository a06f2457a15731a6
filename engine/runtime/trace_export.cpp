#include "engine/runtime/trace_export.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

constexpr int kPid = 1;

nlohmann::json span(const std::string& name, const char* cat, int tid, double ts_us, double dur_us,
                    nlohmann::json args) {
  return {{"name", name}, {"cat", cat}, {"ph", "X"},          {"pid", kPid},
          {"tid", tid},   {"ts", ts_us}, {"dur", std::max(0.0, dur_us)}, {"args", std::move(args)}};
}

nlohmann::json metadata(const char* what, int tid, nlohmann::json args) {
  return {{"name", what}, {"ph", "M"}, {"pid", kPid}, {"tid", tid}, {"ts", 0}, {"args", std::move(args)}};
}

std::string layer_name(const LayerReport& l) {
  return fmt::format("L{} {} {}", l.index, layer_mode_name(l.mode), l.attention);
}

nlohmann::json layer_args(const RunReport& r, const LayerReport& l, double rest_ms) {
  nlohmann::json a = {{"layer", l.index},
                      {"mode", layer_mode_name(l.mode)},
                      {"attention", l.attention},
                      {"sa_kind", attention_mode_name(r.sparse.mode)},
                      {"decided_by", decision_source_name(l.source)},
                      {"density", l.density},
                      {"prefill_ms", l.prefill_ms},
                      {"router_ms", l.router_ms},
                      {"attention_ms", l.attention_ms},
                      {"rest_ms", rest_ms},
                      {"kv_bytes", l.kv_bytes},
                      {"kv_bytes_kept", l.kv_bytes_kept},
                      {"kv_bytes_read", l.kv_bytes_read}};
  if (l.router_score) a["router_fa_prob"] = l.router_score->fa_prob();
  return a;
}

}  // namespace

nlohmann::json trace_json(const RunReport& r) {
  nlohmann::json events = nlohmann::json::array();
  events.push_back(metadata("process_name", 0, {{"name", fmt::format("FluxScope: {}", r.model_name)}}));
  events.push_back(metadata("thread_name", kTracePrefillTid, {{"name", "prefill"}}));
  events.push_back(metadata("thread_name", kTraceDecodeTid, {{"name", "decode"}}));
  events.push_back(metadata("thread_sort_index", kTracePrefillTid, {{"sort_index", 0}}));
  events.push_back(metadata("thread_sort_index", kTraceDecodeTid, {{"sort_index", 1}}));

  const RunSummary& s = r.summary;
  double layers_ms = 0.0;
  for (const auto& l : r.layers) layers_ms += l.prefill_ms;
  // The prefill track spans the layers and the first token (ttft), however the clock's rounding fell.
  const double prefill_end_ms = std::max({s.ttft_ms, s.prefill_ms, layers_ms});
  events.push_back(span("prefill", "phase", kTracePrefillTid, 0.0, prefill_end_ms * 1e3,
                        {{"prompt_tokens", r.prompt_tokens},
                         {"route", r.settings.route},
                         {"fa_kind", attention_mode_name(r.dense.mode)},
                         {"sa_kind", attention_mode_name(r.sparse.mode)},
                         {"sa_fraction", s.sa_fraction},
                         {"prefill_ms", s.prefill_ms},
                         {"ttft_ms", s.ttft_ms},
                         {"attention_ms", s.attention_ms},
                         {"kv_bytes", s.kv_bytes}}));
  double t_ms = 0.0;
  for (const auto& l : r.layers) {
    // Parts stay inside their layer even when separately measured times overshoot it.
    const double router_ms = std::min(l.router_ms, l.prefill_ms);
    const double attention_ms = std::min(l.attention_ms, l.prefill_ms - router_ms);
    const double rest_ms = l.prefill_ms - router_ms - attention_ms;
    events.push_back(span(layer_name(l), "layer", kTracePrefillTid, t_ms * 1e3, l.prefill_ms * 1e3,
                          layer_args(r, l, rest_ms)));
    double part = t_ms;
    if (l.router_score) {
      events.push_back(span("router", "layer_part", kTracePrefillTid, part * 1e3, router_ms * 1e3,
                            {{"layer", l.index}, {"router_ms", l.router_ms}}));
    }
    part += router_ms;
    events.push_back(span(fmt::format("attention {}", l.attention), "layer_part", kTracePrefillTid, part * 1e3,
                          attention_ms * 1e3,
                          {{"layer", l.index}, {"attention_ms", l.attention_ms}, {"density", l.density}}));
    part += attention_ms;
    events.push_back(span("rest", "layer_part", kTracePrefillTid, part * 1e3, rest_ms * 1e3,
                          {{"layer", l.index}, {"rest_ms", rest_ms}}));
    t_ms += l.prefill_ms;
  }
  if (!r.tokens.empty() && s.ttft_ms > t_ms) {
    events.push_back(span("lm_head + first token", "phase_part", kTracePrefillTid, t_ms * 1e3,
                          (s.ttft_ms - t_ms) * 1e3, {{"token", r.tokens.front().id}}));
  }
  t_ms = prefill_end_ms;
  const char* decode_mode = decode_mode_name(r.sparse.decode);
  for (std::size_t i = 1; i < r.tokens.size(); ++i) {  // token 0 comes out of prefill (its ms is the TTFT)
    const TokenReport& tok = r.tokens[i];
    events.push_back(span(fmt::format("decode {}", i), "decode_step", kTraceDecodeTid, t_ms * 1e3, tok.ms * 1e3,
                          {{"step", i},
                           {"position", r.prompt_tokens + static_cast<int>(i) - 1},
                           {"token", tok.id},
                           {"text", tok.text},
                           {"decode_mode", decode_mode},
                           {"ms", tok.ms}}));
    t_ms += tok.ms;
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ms"},
          {"otherData",
           {{"producer", "FluxScope"},
            {"model", r.model_name},
            {"backend", r.backend},
            {"device", r.device},
            {"route", r.settings.route},
            {"started_at", r.started_at},
            {"note", "layers laid end to end from their measured durations; parts of a layer in a fixed order"}}}};
}

void save_trace(const RunReport& report, const std::filesystem::path& path) {
  std::ofstream f(path, std::ios::binary);
  require(f.good(), "trace {}: cannot write the file", path.string());
  f << trace_json(report).dump() << '\n';
  require(f.good(), "trace {}: writing failed", path.string());
}

}  // namespace flux::engine
