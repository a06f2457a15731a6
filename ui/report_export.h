// Writes a RunReport for people and scripts: JSON/CSV through RunReport::save, or a self-contained HTML page
// (settings table, inline SVG charts that scale to the page, every layer's attention block mask as a small picture
// plus the density chart, routing plan table with the attention op's time, the open needle grid) or the same content
// as a PDF (charts as images). Errors come back as a message naming the path.
#pragma once

#include <QByteArray>
#include <QImage>
#include <QString>

#include <functional>

#include "engine/runtime/run_report.h"

namespace flux::ui {

struct NeedleGrid;

// `grid` (may be null): the needle grid open in the app, drawn as a "Needle grid" section (its picture and the pass
// count per route).
QString reportHtml(const engine::RunReport& report, const QByteArray& charts_svg, const NeedleGrid* grid = nullptr);
// How pictures become markup: in HTML files an image is a data: URI <img> and an SVG sits inline; the PDF puts both
// into its QTextDocument's resources (it draws no SVG).
struct ReportPictures {
  std::function<QString(const QImage& image, const QString& alt, int width)> image;
  std::function<QString(const QByteArray& svg, const QString& alt)> svg;
  static ReportPictures html();
};
// The same page with `charts_markup` (e.g. an <img>) where the charts go; other pictures through `pictures`.
QString reportHtmlWithCharts(const engine::RunReport& report, const QString& charts_markup,
                             const ReportPictures& pictures = ReportPictures::html(), const NeedleGrid* grid = nullptr);
// The attention density of every layer as a bar chart (SVG with a viewBox: it scales to its container).
QByteArray densityChartSvg(const engine::RunReport& report);
// Renders the HTML report onto a QPdfWriter, the charts SVG rasterised and embedded as an image.
QString exportReportPdf(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg,
                        const NeedleGrid* grid = nullptr);
// Checks a path before anything is written: its folder must exist and be writable, and an existing file is refused
// unless `overwrite` (the user confirmed in the save dialog, or gave --overwrite). Empty when fine, else a message
// naming the path and what to do.
QString checkExportPath(const QString& path, bool overwrite);
// Picks the format by extension (.json, .csv, .html/.htm, .pdf); returns an empty string on success, else the error.
QString exportReport(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg = {},
                     const NeedleGrid* grid = nullptr);

}  // namespace flux::ui
