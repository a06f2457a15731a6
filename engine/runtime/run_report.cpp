#include "engine/runtime/run_report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "engine/core/error.h"

namespace flux::engine {

using nlohmann::json;

std::string iso8601_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void RunReport::finalize_summary() {
  summary.sa_fraction = 0.0;
  summary.kv_bytes = 0;
  summary.attention_ms = 0.0;
  int sa = 0;
  for (const auto& l : layers) {
    sa += l.mode == LayerMode::SA;
    summary.kv_bytes += l.kv_bytes;
    summary.attention_ms += l.attention_ms;
  }
  if (!layers.empty()) summary.sa_fraction = static_cast<double>(sa) / static_cast<double>(layers.size());
  summary.prefill_tokens_per_s = summary.prefill_ms > 0 ? prompt_tokens * 1000.0 / summary.prefill_ms : 0.0;
  // The first token comes out of prefill; decode speed is over the tokens that needed a decode step.
  double decode_ms = 0.0;
  for (std::size_t i = 1; i < tokens.size(); ++i) decode_ms += tokens[i].ms;
  const std::size_t steps = tokens.size() > 1 ? tokens.size() - 1 : 0;
  summary.decode_ms_per_token = steps > 0 ? decode_ms / static_cast<double>(steps) : 0.0;
  summary.decode_tokens_per_s = decode_ms > 0 ? static_cast<double>(steps) * 1000.0 / decode_ms : 0.0;
}

namespace {

json plan_json(const AttentionPlan& p) {
  return {{"kind", attention_mode_name(p.mode)}, {"block", p.block},   {"sink", p.sink},
          {"window", p.window},                  {"n_last", p.n_last}, {"stride", p.stride},
          {"threshold", p.threshold},           {"decode", decode_mode_name(p.decode)}};
}

// nlohmann's get<int>() of 1e300 is an out-of-range float-to-int conversion (undefined behaviour), so integer fields
// must be JSON integers; values beyond T wrap as JSON integers would, which is defined.
template <typename T>
T integer(const json& v) {
  require(v.is_number_integer(), "report: not a FluxScope run report: {} where an integer is expected", v.type_name());
  return v.get<T>();
}

AttentionPlan plan_from_json(const json& j) {
  AttentionPlan p;
  p.mode = parse_attention_mode(j.at("kind").get<std::string>());
  p.block = integer<int>(j.at("block"));
  p.sink = integer<int>(j.at("sink"));
  p.window = integer<int>(j.at("window"));
  p.n_last = integer<int>(j.at("n_last"));
  p.stride = integer<int>(j.at("stride"));
  p.threshold = j.at("threshold").get<float>();
  p.decode = parse_decode_mode(j.at("decode").get<std::string>());
  return p;
}

DecisionSource parse_source(const std::string& s) {
  if (s == "router") return DecisionSource::Router;
  if (s == "override") return DecisionSource::Override;
  return DecisionSource::Default;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

json RunReport::to_json() const {
  json j;
  j["schema_version"] = kReportSchemaVersion;
  j["status"] = status;
  if (!error.empty()) j["error"] = error;
  j["started_at"] = started_at;
  j["model"] = {{"name", model_name}, {"path", model_path}, {"architecture", architecture}};
  j["router"] = router.empty() ? nlohmann::json(nullptr) : nlohmann::json(router);
  j["router_description"] = router_description;
  j["backend"] = {{"name", backend}, {"device", device}};
  if (!execution.empty()) j["backend"]["execution"] = execution;
  j["settings"] = {{"chat", settings.chat},
                   {"system_prompt", settings.system_prompt},
                   {"chat_template", settings.chat_template},
                   {"chat_template_kwargs", settings.chat_template_kwargs},
                   {"parse_special", settings.parse_special},
                   {"max_new_tokens", settings.max_new_tokens},
                   {"context_length", settings.context_length},
                   {"temperature", settings.sampler.temperature},
                   {"top_k", settings.sampler.top_k},
                   {"top_p", settings.sampler.top_p},
                   {"repetition_penalty", settings.sampler.repetition_penalty},
                   {"repeat_last_n", settings.sampler.repeat_last_n},
                   {"seed", settings.sampler.seed},
                   {"route", settings.route},
                   {"overrides", settings.overrides},
                   {"dense_attention", plan_json(dense)},
                   {"sparse_attention", plan_json(sparse)},
                   {"decode_mode", decode_mode_name(sparse.decode)}};
  j["prompt_tokens"] = prompt_tokens;
  j["chat_format"] = chat_format;
  j["rendered_prompt"] = rendered_prompt;
  json layers_json = json::array();
  for (const auto& l : layers) {
    layers_json.push_back({{"index", l.index},
                           {"mode", layer_mode_name(l.mode)},
                           {"attention", l.attention},
                           {"router_fa_prob", l.router_score ? json(l.router_score->fa_prob()) : json(nullptr)},
                           {"router_scored_side", l.router_score ? json(layer_mode_name(l.router_score->side))
                                                                 : json(nullptr)},
                           {"router_threshold", l.router_threshold},
                           {"router_logits", l.router_logits},
                           {"source", decision_source_name(l.source)},
                           {"prefill_ms", l.prefill_ms},
                           {"router_ms", l.router_ms},
                           {"attention_ms", l.attention_ms},
                           {"kv_bytes", l.kv_bytes},
                           {"kv_bytes_kept", l.kv_bytes_kept},
                           {"kv_bytes_read", l.kv_bytes_read},
                           {"kv_bytes_new", l.kv_bytes_new},
                           {"density", l.density}});
    if (l.block_mask) layers_json.back()["block_mask"] = block_mask_to_json(*l.block_mask);
  }
  j["layers"] = std::move(layers_json);
  json tokens_json = json::array();
  for (const auto& t : tokens) tokens_json.push_back({{"id", t.id}, {"text", t.text}, {"ms", t.ms}});
  j["decode"] = {{"tokens", std::move(tokens_json)}, {"stop_reason", stop_reason}};
  j["output_text"] = output_text;
  j["summary"] = {{"ttft_ms", summary.ttft_ms},
                  {"prefill_ms", summary.prefill_ms},
                  {"attention_ms", summary.attention_ms},
                  {"prefill_tokens_per_s", summary.prefill_tokens_per_s},
                  {"decode_ms_per_token", summary.decode_ms_per_token},
                  {"decode_tokens_per_s", summary.decode_tokens_per_s},
                  {"total_ms", summary.total_ms},
                  {"sa_fraction", summary.sa_fraction},
                  {"kv_bytes", summary.kv_bytes},
                  {"peak_memory_bytes", summary.peak_memory_bytes}};
  j["memory"] = memory_report_to_json(memory);
  return j;
}

RunReport RunReport::from_json(const json& j) {
  try {
    RunReport r;
    // Version 2 lacks only what version 3 added (attention_ms, block masks, kv_bytes_new, memory): defaults.
    const int version = integer<int>(j.at("schema_version"));
    require(version == kReportSchemaVersion || version == 2, "report: unsupported schema_version {}",
            j.at("schema_version").dump());
    r.status = j.at("status").get<std::string>();
    r.error = j.value("error", "");
    r.started_at = j.value("started_at", "");
    r.model_name = j.at("model").at("name").get<std::string>();
    r.model_path = j.at("model").at("path").get<std::string>();
    r.architecture = j.at("model").at("architecture").get<std::string>();
    if (j.contains("router") && j["router"].is_string()) r.router = j["router"].get<std::string>();
    r.router_description = j.value("router_description", "");
    r.backend = j.at("backend").at("name").get<std::string>();
    r.device = j.at("backend").at("device").get<std::string>();
    r.execution = j.at("backend").value("execution", "");
    const json& s = j.at("settings");
    r.settings.chat = s.at("chat").get<bool>();
    r.settings.system_prompt = s.at("system_prompt").get<std::string>();
    r.settings.chat_template = s.value("chat_template", "");
    r.settings.chat_template_kwargs = s.value("chat_template_kwargs", "");
    // Reports before the field: chat prompts parsed control spellings, raw prompts did not.
    r.settings.parse_special = s.value("parse_special", r.settings.chat);
    r.settings.max_new_tokens = integer<int>(s.at("max_new_tokens"));
    r.settings.context_length = integer<int>(s.at("context_length"));
    r.settings.sampler.temperature = s.at("temperature").get<float>();
    r.settings.sampler.top_k = integer<int>(s.at("top_k"));
    r.settings.sampler.top_p = s.at("top_p").get<float>();
    r.settings.sampler.repetition_penalty = s.at("repetition_penalty").get<float>();
    r.settings.sampler.repeat_last_n = integer<int>(s.at("repeat_last_n"));
    r.settings.sampler.seed = integer<uint64_t>(s.at("seed"));
    r.settings.route = s.at("route").get<std::string>();
    r.settings.overrides = s.at("overrides").get<std::string>();
    r.dense = plan_from_json(s.at("dense_attention"));
    r.sparse = plan_from_json(s.at("sparse_attention"));
    r.prompt_tokens = integer<int>(j.at("prompt_tokens"));
    r.chat_format = j.value("chat_format", "");
    r.rendered_prompt = j.value("rendered_prompt", "");
    for (const json& l : j.at("layers")) {
      LayerReport lr;
      lr.index = integer<int>(l.at("index"));
      lr.mode = l.at("mode").get<std::string>() == "SA" ? LayerMode::SA : LayerMode::FA;
      lr.attention = l.at("attention").get<std::string>();
      if (!l.at("router_fa_prob").is_null()) {
        // The scored side's probability is kept as it was reported: FA's directly, SA's as 1 − P(FA).
        RouterScore score;
        score.side = l.at("router_scored_side").get<std::string>() == "SA" ? LayerMode::SA : LayerMode::FA;
        const double fa = l.at("router_fa_prob").get<double>();
        score.prob = score.side == LayerMode::FA ? fa : 1.0 - fa;
        lr.router_score = score;
      }
      lr.router_threshold = l.at("router_threshold").get<float>();
      lr.router_logits = l.at("router_logits").get<std::vector<float>>();
      lr.source = parse_source(l.at("source").get<std::string>());
      lr.prefill_ms = l.at("prefill_ms").get<double>();
      lr.router_ms = l.at("router_ms").get<double>();
      lr.attention_ms = l.value("attention_ms", 0.0);
      lr.kv_bytes = integer<std::size_t>(l.at("kv_bytes"));
      // Absent in older reports.
      lr.kv_bytes_kept = l.contains("kv_bytes_kept") ? integer<std::size_t>(l.at("kv_bytes_kept")) : 0;
      lr.kv_bytes_read = l.contains("kv_bytes_read") ? integer<std::size_t>(l.at("kv_bytes_read")) : 0;
      lr.kv_bytes_new = l.contains("kv_bytes_new") ? integer<std::size_t>(l.at("kv_bytes_new")) : 0;
      lr.density = l.at("density").get<double>();
      if (l.contains("block_mask") && !l.at("block_mask").is_null()) {
        try {
          lr.block_mask = std::make_shared<const BlockMask>(block_mask_from_json(l.at("block_mask")));
        } catch (const Error& e) {
          fail("report: layer {}: {}", lr.index, e.what());
        }
      }
      r.layers.push_back(lr);
    }
    for (const json& t : j.at("decode").at("tokens"))
      r.tokens.push_back({integer<int32_t>(t.at("id")), t.at("text").get<std::string>(), t.at("ms").get<double>()});
    r.stop_reason = j.at("decode").at("stop_reason").get<std::string>();
    r.output_text = j.at("output_text").get<std::string>();
    const json& sm = j.at("summary");
    r.summary.ttft_ms = sm.at("ttft_ms").get<double>();
    r.summary.prefill_ms = sm.at("prefill_ms").get<double>();
    r.summary.total_ms = sm.at("total_ms").get<double>();
    r.summary.peak_memory_bytes = sm.value("peak_memory_bytes", std::size_t{0});  // absent in older reports
    if (j.contains("memory")) r.memory = memory_report_from_json(j.at("memory"));
    r.finalize_summary();
    return r;
  } catch (const json::exception& e) {
    fail("report: not a FluxScope run report: {}", e.what());
  }
}

std::string RunReport::to_csv() const {
  // One long-format table: a `table` column says whether a row describes a layer, a decoded token or the summary.
  // Columns added in schema 3 come last, so readers of the older columns keep their indices.
  std::string out =
      "table,index,mode,attention,router_fa_prob,source,prefill_ms,router_ms,kv_bytes,density,token_id,text,ms,"
      "attention_ms,kv_bytes_kept,kv_bytes_read,kv_bytes_new\n";
  for (const auto& l : layers) {
    out += fmt::format("layer,{},{},{},{},{},{:.4f},{:.4f},{},{:.4f},,,,{:.4f},{},{},{}\n", l.index,
                       layer_mode_name(l.mode), l.attention,
                       l.router_score ? fmt::format("{:.6f}", l.router_score->fa_prob()) : "",
                       decision_source_name(l.source), l.prefill_ms, l.router_ms, l.kv_bytes, l.density,
                       l.attention_ms, l.kv_bytes_kept, l.kv_bytes_read, l.kv_bytes_new);
  }
  for (std::size_t i = 0; i < tokens.size(); ++i)
    out += fmt::format("token,{},,,,,,,,,{},{},{:.4f},,,,\n", i, tokens[i].id, csv_field(tokens[i].text),
                       tokens[i].ms);
  std::size_t kept = 0, read = 0, fresh = 0;
  for (const auto& l : layers) {
    kept += l.kv_bytes_kept;
    read += l.kv_bytes_read;
    fresh += l.kv_bytes_new;
  }
  out += fmt::format("summary,,,,,,{:.4f},,{},{:.4f},,,{:.4f},{:.4f},{},{},{}\n", summary.prefill_ms, summary.kv_bytes,
                     summary.sa_fraction, summary.total_ms, summary.attention_ms, kept, read, fresh);
  return out;
}

BlockMask layer_block_mask(const RunReport& report, int layer, int n_heads) {
  return *shared_layer_block_mask(report, layer, n_heads);
}

std::shared_ptr<const BlockMask> shared_layer_block_mask(const RunReport& report, int layer, int n_heads) {
  require(layer >= 0 && layer < static_cast<int>(report.layers.size()), "report: no layer {} (the run has {})", layer,
          report.layers.size());
  const LayerReport& l = report.layers[static_cast<std::size_t>(layer)];
  if (l.block_mask) return l.block_mask;
  const AttentionPlan& plan = l.mode == LayerMode::SA ? report.sparse : report.dense;
  require(plan.mode != AttentionMode::XAttention,
          "report: layer {} ran XAttention and its selection was not recorded (block masks were off for this run)",
          layer);
  return std::make_shared<const BlockMask>(static_block_mask(plan, report.prompt_tokens, n_heads));
}

void RunReport::save(const std::filesystem::path& path) const {
  const std::string ext = path.extension().string();
  require(ext == ".json" || ext == ".csv", "{}: report files must end in .json or .csv", path.string());
  // Model names and prompts may hold invalid UTF-8 (a GGUF string, a pasted prompt): write U+FFFD rather than throw.
  const std::string text =
      ext == ".json" ? to_json().dump(2, ' ', false, json::error_handler_t::replace) + "\n" : to_csv();
  // A temporary file of its own in the same folder, renamed over the target: a reader never sees half a report, and
  // two processes writing the same path leave one whole report, not an interleaving.
  std::string tmp = path.string() + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  require(fd >= 0, "{}: cannot write report: {}", path.string(), std::strerror(errno));
  std::size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 && err == 0) err = errno;  // mkstemp makes 0600; a report is an ordinary file
  if (::close(fd) != 0 && err == 0) err = errno;
  std::error_code ec;
  if (err != 0) {
    std::filesystem::remove(tmp, ec);
    fail("{}: writing the report failed: {}", path.string(), std::strerror(err));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    fail("{}: cannot write report: {}", path.string(), ec.message());
  }
}

}  // namespace flux::engine
