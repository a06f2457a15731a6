// Writes the comparison of two runs (A = the older, B = the newer): JSON and CSV for scripts, HTML and PDF for
// people (speedups, the per-layer table with plan differences, both runs' settings and the output diff).
#pragma once

#include <QString>

#include <nlohmann/json.hpp>

#include "engine/runtime/run_report.h"
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
QString exportComparison(const RunEntry& a, const RunEntry& b, const QString& path);

}  // namespace flux::ui
