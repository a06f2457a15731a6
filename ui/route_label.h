// Short labels of what a run's routing was, from the report's resolved plans (never re-parsed by hand): the SA kind
// with its parameters (`sa:xattn tau0.9 stride16`), the FA side when it is not plain full attention, the preset and
// the overrides. One place for the run list, the header and the comparison.
#pragma once

#include <QString>

#include "engine/attention/attention_plan.h"
#include "engine/runtime/run_report.h"

namespace flux::ui {

// The kind and the parameters that matter for it: "xattn tau0.9 stride16 block128", "streaming sink128 window1024",
// "triangle sink128 window1024 n_last128", "full".
QString attentionLabel(const engine::AttentionPlan& plan);
// "router · sa:xattn tau0.9 stride16 block128 · +0-3=FA" (the FA side is named when it is not full; the decode mode
// when it is reference).
QString routeLabel(const engine::RunReport& report);

}  // namespace flux::ui
