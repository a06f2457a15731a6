// Events a run emits while it happens, as plain structs, so a CLI can stream text and a GUI can plot live.
// Callbacks run on the engine's thread; a GUI re-emits them as queued signals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/runtime/run_report.h"

namespace flux::engine {

struct ProgressEvent {
  std::string stage;      // "tokenize", "prefill", "decode"
  double fraction = 0.0;  // of that stage, 0..1
  double eta_ms = -1.0;   // estimated time left in the stage, -1 when unknown
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_started(const RunReport& /*header: model, settings, prompt_tokens*/) {}
  virtual void on_layer_routed(const LayerReport& /*mode, prob, source*/) {}
  virtual void on_layer_prefilled(const LayerReport& /*complete with timing and KV bytes*/) {}
  virtual void on_token(int /*index*/, const TokenReport& /*id, text piece, ms*/) {}
  virtual void on_progress(const ProgressEvent& /*event*/) {}
  virtual void on_finished(const RunReport& /*the whole run*/) {}
};

}  // namespace flux::engine
