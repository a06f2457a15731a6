// Writes a RunReport for people and scripts: JSON/CSV through RunReport::save, or a self-contained HTML page
// (settings table, routing plan table, inline SVG charts). Errors come back as a message naming the path.
#pragma once

#include <QByteArray>
#include <QString>

#include "engine/runtime/run_report.h"

namespace flux::ui {

QString reportHtml(const engine::RunReport& report, const QByteArray& charts_svg);
// Picks the format by extension (.json, .csv, .html/.htm); returns an empty string on success, else the error.
QString exportReport(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg = {});

}  // namespace flux::ui
