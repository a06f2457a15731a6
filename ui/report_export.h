// Writes a RunReport for people and scripts: JSON/CSV through RunReport::save, or a self-contained HTML page
// (settings table, routing plan table, inline SVG charts) or the same content as a PDF (charts as an image).
// Errors come back as a message naming the path.
#pragma once

#include <QByteArray>
#include <QString>

#include "engine/runtime/run_report.h"

namespace flux::ui {

QString reportHtml(const engine::RunReport& report, const QByteArray& charts_svg);
// The same page with `charts_markup` (e.g. an <img>) where the charts go.
QString reportHtmlWithCharts(const engine::RunReport& report, const QString& charts_markup);
// Renders the HTML report onto a QPdfWriter, the charts SVG rasterised and embedded as an image.
QString exportReportPdf(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg);
// Checks a path before anything is written: its folder must exist and be writable, and an existing file is refused
// unless `overwrite` (the user confirmed in the save dialog, or gave --overwrite). Empty when fine, else a message
// naming the path and what to do.
QString checkExportPath(const QString& path, bool overwrite);
// Picks the format by extension (.json, .csv, .html/.htm, .pdf); returns an empty string on success, else the error.
QString exportReport(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg = {});

}  // namespace flux::ui
