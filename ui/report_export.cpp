#include "ui/report_export.h"

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QPalette>
#include <QStringList>

#include <algorithm>

#include "ui/block_mask_raster.h"
#include "ui/memory_panel.h"
#include "ui/needle_grid.h"
#include "ui/needle_grid_picture.h"

namespace flux::ui {
namespace {

QString esc(const std::string& s) {
  return QString::fromStdString(s).toHtmlEscaped();
}

QString row(const QString& key, const QString& value) {
  return QStringLiteral("<tr><th>%1</th><td>%2</td></tr>\n").arg(key.toHtmlEscaped(), value.toHtmlEscaped());
}

QString modeHex(engine::LayerMode mode) {
  return mode == engine::LayerMode::FA ? QStringLiteral("#3b7dd8") : QStringLiteral("#e88a1a");
}

constexpr int kThumbnail = 150;  // px per layer picture in the report's small multiples

// Every layer's block mask as a small picture with its caption; a layer without a map says why.
QString attentionSection(const engine::RunReport& r, const ReportPictures& pictures) {
  QString html = QStringLiteral(
      "<h2>Attention</h2>\n<p>Each picture is the block mask a layer ran over the %1 prompt tokens: query blocks "
      "down, key blocks across, a coloured tile was computed (darker: more heads), grey was skipped. Each pixel is "
      "the maximum over the blocks it covers.</p>\n")
                     .arg(r.prompt_tokens);
  html += pictures.svg(densityChartSvg(r), QStringLiteral("attention density per layer"));
  // A table (QTextDocument lays it out for the PDF too), six layers a row.
  html += QStringLiteral("\n<table class=\"masks\"><tr>");
  int column = 0;
  for (const auto& l : r.layers) {
    if (column == 6) {
      html += QStringLiteral("</tr><tr>");
      column = 0;
    }
    ++column;
    const QString caption = QStringLiteral("layer %1 · %2 %3 · density %4")
                                .arg(l.index)
                                .arg(QString::fromLatin1(engine::layer_mode_name(l.mode)), esc(l.attention))
                                .arg(l.density, 0, 'f', 3);
    QString picture;
    try {
      const QImage thumb = maskThumbnail(*reportLayerMask(r, l.index), kThumbnail);
      picture = pictures.image(thumb, QStringLiteral("block mask of layer %1").arg(l.index), kThumbnail);
    } catch (const std::exception& e) {
      picture = QStringLiteral("<i>no map: %1</i>").arg(QString::fromUtf8(e.what()).toHtmlEscaped());
    }
    html += QStringLiteral("<td>%1<br>%2</td>").arg(picture, caption);
  }
  html += QStringLiteral("</tr></table>\n");
  return html;
}

// What the run held (the measured MemoryReport); nothing for reports without one (schema 2).
QString memorySection(const engine::RunReport& r) {
  const engine::MemoryReport& m = r.memory;
  if (!m.measured) return {};
  const auto bytes = [](std::size_t b) {
    return QStringLiteral("%1 (%2 bytes)").arg(MemoryPanel::formatBytes(b)).arg(qulonglong(b));
  };
  std::size_t kv_new = 0;
  int evicted = 0;
  for (const auto& l : m.layers) {
    kv_new += l.kv_new_tokens;
    evicted += l.evicted;
  }
  QString html = QStringLiteral("<h2>Memory</h2>\n<table>\n");
  html += row(QStringLiteral("weights"), bytes(m.weights));
  html += row(QStringLiteral("KV reserved"), bytes(m.kv_reserved_total()));
  html += row(QStringLiteral("of it for new tokens"), bytes(kv_new));
  html += row(QStringLiteral("KV kept"), bytes(m.kv_kept_total()));
  html += row(QStringLiteral("KV read by one decode step"), bytes(m.kv_read_total()));
  html += row(QStringLiteral("workspace"), m.workspace_measured ? bytes(m.workspace) : QStringLiteral("not tracked"));
  html += row(QStringLiteral("total"), bytes(m.total()));
  html += row(QStringLiteral("KV if every layer ran FA"), bytes(m.kv_all_fa));
  html += row(QStringLiteral("KV saving vs all-FA"), QStringLiteral("%1%").arg(m.kv_saving() * 100.0, 0, 'f', 1));
  html += row(QStringLiteral("evicting layers (decode mode %1)")
                  .arg(QString::fromLatin1(engine::decode_mode_name(r.sparse.decode))),
              QString::number(evicted));
  return html + QStringLiteral("</table>\n");
}

QString joined(const std::vector<int>& values) {
  QStringList items;
  for (int v : values) items << QString::number(v);
  return items.join(QStringLiteral(", "));
}

// The open needle grid: the dock's picture (light palette: the page is white) and a pass count per route.
QString needleGridSection(const NeedleGrid& g, const ReportPictures& pictures) {
  QString html = QStringLiteral(
                     "<h2>Needle grid</h2>\n<p>%1 · %2 · needle-in-a-haystack prompts of %3 tokens, the needle at "
                     "%4 % of the filler, %5 new tokens per cell; a cell passes when the answer is in the output "
                     "(green), else it fails (red); its text is the prefill time.</p>\n")
                     .arg(esc(g.model_name), esc(g.started_at))
                     .arg(joined(g.spec.contexts), joined(g.spec.depths))
                     .arg(g.spec.max_new_tokens);
  QPalette light;
  light.setColor(QPalette::Window, Qt::white);
  light.setColor(QPalette::WindowText, Qt::black);
  light.setColor(QPalette::PlaceholderText, QColor(0x60, 0x60, 0x60));
  html += pictures.svg(needleGridSvg(g, light), QStringLiteral("needle grid"));
  html += QStringLiteral("\n<table class=\"needle\"><tr><th>route</th><th>passed</th><th>SA fraction</th>"
                         "<th>route as run</th></tr>\n");
  for (std::size_t r = 0; r < g.spec.routes.size(); ++r) {
    const std::string& route = g.spec.routes[r];
    html += QStringLiteral("<tr><td>%1</td><td>%2 / %3</td><td>%4</td><td>%5</td></tr>\n")
                .arg(esc(route))
                .arg(g.passed(route))
                .arg(g.ran(route))
                .arg(g.saFraction(route), 0, 'f', 3)
                .arg(r < g.route_specs.size() ? esc(g.route_specs[r]) : QString());
  }
  return html + QStringLiteral("</table>\n");
}

}  // namespace

ReportPictures ReportPictures::html() {
  ReportPictures p;
  p.image = [](const QImage& image, const QString& alt, int width) {
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return QStringLiteral("<img src=\"data:image/png;base64,%1\" alt=\"%2\" width=\"%3\" class=\"mask\">")
        .arg(QString::fromLatin1(png.toBase64()), alt.toHtmlEscaped())
        .arg(width);
  };
  p.svg = [](const QByteArray& svg, const QString&) {
    const qsizetype start = svg.indexOf("<svg");
    return QString::fromUtf8(start > 0 ? svg.mid(start) : svg);  // no XML prolog inside the page
  };
  return p;
}

QByteArray densityChartSvg(const engine::RunReport& r) {
  int n = 0;
  for (const auto& l : r.layers) n = std::max(n, l.index + 1);
  constexpr int kLeft = 40, kTop = 24, kPlotH = 120, kBar = 14;
  const int width = kLeft + std::max(1, n) * kBar + 10, height = kTop + kPlotH + 34;
  QString svg = QStringLiteral(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %1 %2\" width=\"%1\" "
                    "style=\"max-width:100%;height:auto\" font-family=\"sans-serif\" font-size=\"10\">\n"
                    "<text x=\"%3\" y=\"14\" font-weight=\"bold\" font-size=\"12\">Attention density per layer "
                    "(computed / causal tiles; blue FA, orange SA)</text>\n")
                    .arg(width)
                    .arg(height)
                    .arg(kLeft);
  for (double tick : {0.0, 0.5, 1.0}) {
    const double y = kTop + kPlotH * (1.0 - tick);
    svg += QStringLiteral("<line x1=\"%1\" x2=\"%2\" y1=\"%3\" y2=\"%3\" stroke=\"#ccc\"/>"
                          "<text x=\"%4\" y=\"%5\" text-anchor=\"end\">%6</text>\n")
               .arg(kLeft)
               .arg(width - 10)
               .arg(y)
               .arg(kLeft - 4)
               .arg(y + 3)
               .arg(tick, 0, 'f', 1);
  }
  for (const auto& l : r.layers) {
    const double h = kPlotH * std::clamp(l.density, 0.0, 1.0);
    const int x = kLeft + l.index * kBar;
    svg += QStringLiteral("<rect x=\"%1\" y=\"%2\" width=\"%3\" height=\"%4\" fill=\"%5\"><title>layer %6: "
                          "density %7</title></rect>\n")
               .arg(x + 1)
               .arg(kTop + kPlotH - h)
               .arg(kBar - 2)
               .arg(h)
               .arg(modeHex(l.mode))
               .arg(l.index)
               .arg(l.density, 0, 'f', 3);
    if (l.index % 5 == 0)
      svg += QStringLiteral("<text x=\"%1\" y=\"%2\" text-anchor=\"middle\">%3</text>\n")
                 .arg(x + kBar / 2)
                 .arg(kTop + kPlotH + 14)
                 .arg(l.index);
  }
  svg += QStringLiteral("<text x=\"%1\" y=\"%2\" text-anchor=\"middle\">layer</text>\n</svg>\n")
             .arg(kLeft + std::max(1, n) * kBar / 2)
             .arg(kTop + kPlotH + 28);
  return svg.toUtf8();
}

QString reportHtml(const engine::RunReport& r, const QByteArray& charts_svg, const NeedleGrid* grid) {
  const ReportPictures pictures = ReportPictures::html();
  return reportHtmlWithCharts(r, pictures.svg(charts_svg, QStringLiteral("timing charts")), pictures, grid);
}

QString reportHtmlWithCharts(const engine::RunReport& r, const QString& charts_markup, const ReportPictures& pictures,
                             const NeedleGrid* grid) {
  QString html = QStringLiteral(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>FluxScope report</title>\n<style>"
      "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
      "padding:2px 8px;text-align:left}.FA{background:#3b7dd8;color:#fff}.SA{background:#e88a1a;color:#fff}"
      // Charts scale down to the page (the SVGs carry a viewBox); mask pictures stay sharp when scaled.
      "svg,img{max-width:100%;height:auto}img.mask{image-rendering:pixelated}table.masks td{border:none;"
      "vertical-align:top;font-size:small}"
      "</style></head><body>\n");
  html += QStringLiteral("<h1>FluxScope run — %1</h1>\n<h2>Settings</h2>\n<table>\n").arg(esc(r.model_name));
  const auto& s = r.settings;
  html += row(QStringLiteral("status"), QString::fromStdString(r.status + (r.error.empty() ? "" : ": " + r.error)));
  html += row(QStringLiteral("started"), QString::fromStdString(r.started_at));
  html += row(QStringLiteral("model"), QString::fromStdString(r.model_path));
  html += row(QStringLiteral("backend"), QString::fromStdString(r.backend + " (" + r.device + ")"));
  html +=
      row(QStringLiteral("route"), QString::fromStdString(s.route));
  html += row(QStringLiteral("FA side"), QString::fromLatin1(engine::attention_mode_name(r.dense.mode)));
  html += row(QStringLiteral("decode mode"), QString::fromLatin1(engine::decode_mode_name(r.sparse.decode)));
  if (!r.router_description.empty())
    html += row(QStringLiteral("router"), QString::fromStdString(r.router_description));
  html += row(QStringLiteral("SA kind"), QStringLiteral("%1, sink %2, window %3")
                                             .arg(QString::fromLatin1(engine::attention_mode_name(r.sparse.mode)))
                                             .arg(r.sparse.sink)
                                             .arg(r.sparse.window));
  html += row(QStringLiteral("chat template"), s.chat ? QStringLiteral("on") : QStringLiteral("off"));
  html += row(QStringLiteral("max new tokens"), QString::number(s.max_new_tokens));
  html += row(QStringLiteral("temperature / top-k / top-p / seed"), QStringLiteral("%1 / %2 / %3 / %4")
                                                                        .arg(double(s.sampler.temperature))
                                                                        .arg(s.sampler.top_k)
                                                                        .arg(double(s.sampler.top_p))
                                                                        .arg(qulonglong(s.sampler.seed)));
  html += row(QStringLiteral("prompt tokens"), QString::number(r.prompt_tokens));
  html += row(QStringLiteral("TTFT ms"), QString::number(r.summary.ttft_ms, 'f', 2));
  html += row(QStringLiteral("prefill tok/s"), QString::number(r.summary.prefill_tokens_per_s, 'f', 1));
  html += row(QStringLiteral("decode tok/s"), QString::number(r.summary.decode_tokens_per_s, 'f', 1));
  html += row(QStringLiteral("SA fraction"), QString::number(r.summary.sa_fraction, 'f', 3));
  html += QStringLiteral("</table>\n<h2>Charts</h2>\n");
  html += charts_markup;
  html += attentionSection(r, pictures);
  html += memorySection(r);
  if (grid && !grid->spec.routes.empty()) html += needleGridSection(*grid, pictures);
  html += QStringLiteral(
      "\n<h2>Routing plan and prefill</h2>\n<table><tr><th>layer</th><th>mode</th><th>attention</th>"
      "<th>router P(FA)</th><th>source</th><th>prefill ms</th><th>attention ms</th><th>density</th>"
      "<th>KV bytes</th></tr>\n");
  for (const auto& l : r.layers) {
    const QString mode = QString::fromLatin1(engine::layer_mode_name(l.mode));
    html += QStringLiteral(
                "<tr><td>%1</td><td class=\"%2\">%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td>"
                "<td>%7</td><td>%8</td><td>%9</td></tr>\n")
                .arg(l.index)
                .arg(mode, esc(l.attention),
                     l.router_score ? QString::number(l.router_score->fa_prob(), 'f', 3) : QStringLiteral("—"),
                     QString::fromLatin1(engine::decision_source_name(l.source)))
                .arg(l.prefill_ms, 0, 'f', 3)
                .arg(l.attention_ms, 0, 'f', 3)
                .arg(l.density, 0, 'f', 3)
                .arg(qulonglong(l.kv_bytes));
  }
  html += QStringLiteral("</table>\n<h2>Output</h2>\n<pre>%1</pre>\n</body></html>\n").arg(esc(r.output_text));
  return html;
}

QString checkExportPath(const QString& path, const bool overwrite) {
  const QFileInfo info(path);
  if (info.fileName().isEmpty()) return QObject::tr("Cannot write %1: it names a folder, not a file").arg(path);
  const QFileInfo dir(info.absolutePath());
  if (!dir.exists()) return QObject::tr("Cannot write %1: the folder %2 does not exist").arg(path, dir.filePath());
  if (!dir.isDir()) return QObject::tr("Cannot write %1: %2 is not a folder").arg(path, dir.filePath());
  if (info.isDir()) return QObject::tr("Cannot write %1: it is a folder").arg(path);
  if (info.exists()) {
    if (!overwrite)
      return QObject::tr(
                 "%1 already exists and was left untouched: choose another name, or allow overwriting "
                 "(the save dialog asks; scripts pass --overwrite)")
          .arg(path);
    if (!info.isWritable()) return QObject::tr("Cannot write %1: the file is read-only").arg(path);
  } else if (!dir.isWritable()) {
    return QObject::tr("Cannot write %1: no permission to create files in %2").arg(path, dir.filePath());
  }
  return {};
}

QString exportReport(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg,
                     const NeedleGrid* grid) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (ext == QStringLiteral("html") || ext == QStringLiteral("htm")) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
      return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
    if (f.write(reportHtml(report, charts_svg, grid).toUtf8()) < 0 || !f.flush())
      return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
    return {};
  }
  if (ext == QStringLiteral("pdf")) return exportReportPdf(report, path, charts_svg, grid);
  if (ext != QStringLiteral("json") && ext != QStringLiteral("csv"))
    return QObject::tr("Cannot export to %1: use a .json, .csv, .html or .pdf file name").arg(path);
  try {
    report.save(path.toStdString());
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

}  // namespace flux::ui
