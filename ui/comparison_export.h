// Writes the comparison of two runs (A = the older, B = the newer): JSON and CSV for scripts, HTML and PDF for
// people (speedups, the per-layer table with plan differences, both runs' settings and the output diff), and the
// baselines of one run when they ran (every baseline run: its SA layers, times, pass / fail, output).
#pragma once

#include <QString>

#include <nlohmann/json.hpp>

#include "engine/runtime/run_report.h"
#include "ui/comparison_baselines.h"
#include "ui/run_comparison.h"
#include "ui/run_entry.h"

namespace flux::ui {

inline constexpr int kComparisonSchemaVersion = 1;

nlohmann::json comparisonJson(const engine::RunReport& a, const engine::RunReport& b, const RunComparison& c);
std::string comparisonCsv(const engine::RunReport& a, const engine::RunReport& b, const RunComparison& c);
QString comparisonHtml(const engine::RunReport& a, const engine::RunReport& b, const RunComparison& c);
// By extension (.json, .csv, .html/.htm, .pdf); an empty string on success, else the error naming the path.
// Speedups are written only where compare_runs finds the runs comparable (null / empty / "—" elsewhere).
QString exportComparison(const engine::RunReport& a, const engine::RunReport& b, const QString& path);
// History entries (Repeat ×N): the medians and the noise verdicts.
// With `baselines` (may be null) appended: a "baselines" array (JSON), rows of table "baseline" (CSV), a section (HTML,
// PDF).
QString exportComparison(const RunEntry& a, const RunEntry& b, const QString& path,
                         const BaselineRun* baselines = nullptr);
// The baselines of one run alone (no second run selected), the same formats.
QString exportBaselines(const BaselineRun& baselines, const QString& path);
nlohmann::json baselinesJson(const BaselineRun& b);
// CSV rows "baseline,NAME,SEED,SA_LAYERS,N_LAYERS,PREFILL_MS,DECODE_MS_PER_TOKEN,PASSED,ROUTE,OUTPUT" after a header.
std::string baselinesCsv(const BaselineRun& b);
// An HTML <h2> section: one row per baseline (random:match as mean ± spread), then every run.
QString baselinesHtml(const BaselineRun& b);

}  // namespace flux::ui
