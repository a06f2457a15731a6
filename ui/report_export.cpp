#include "ui/report_export.h"

#include <QFile>
#include <QFileInfo>

namespace flux::ui {
namespace {

QString esc(const std::string& s) {
  return QString::fromStdString(s).toHtmlEscaped();
}

QString row(const QString& key, const QString& value) {
  return QStringLiteral("<tr><th>%1</th><td>%2</td></tr>\n").arg(key.toHtmlEscaped(), value.toHtmlEscaped());
}

}  // namespace

QString reportHtml(const engine::RunReport& r, const QByteArray& charts_svg) {
  QByteArray svg = charts_svg;
  const int start = svg.indexOf("<svg");
  if (start > 0) svg = svg.mid(start);  // drop the XML prolog so the SVG can sit inline
  return reportHtmlWithCharts(r, QString::fromUtf8(svg));
}

QString reportHtmlWithCharts(const engine::RunReport& r, const QString& charts_markup) {
  QString html = QStringLiteral(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>FluxScope report</title>\n<style>"
      "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
      "padding:2px 8px;text-align:left}.FA{background:#3b7dd8;color:#fff}.SA{background:#e88a1a;color:#fff}"
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
  html += QStringLiteral(
      "\n<h2>Routing plan and prefill</h2>\n<table><tr><th>layer</th><th>mode</th><th>attention</th>"
      "<th>router P(FA)</th><th>source</th><th>prefill ms</th><th>KV bytes</th></tr>\n");
  for (const auto& l : r.layers) {
    const QString mode = QString::fromLatin1(engine::layer_mode_name(l.mode));
    html += QStringLiteral(
                "<tr><td>%1</td><td class=\"%2\">%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td>"
                "<td>%7</td></tr>\n")
                .arg(l.index)
                .arg(mode, esc(l.attention),
                     l.router_score ? QString::number(l.router_score->fa_prob(), 'f', 3) : QStringLiteral("—"),
                     QString::fromLatin1(engine::decision_source_name(l.source)))
                .arg(l.prefill_ms, 0, 'f', 3)
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

QString exportReport(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (ext == QStringLiteral("html") || ext == QStringLiteral("htm")) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
      return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
    if (f.write(reportHtml(report, charts_svg).toUtf8()) < 0 || !f.flush())
      return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
    return {};
  }
  if (ext == QStringLiteral("pdf")) return exportReportPdf(report, path, charts_svg);
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
