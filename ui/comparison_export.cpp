#include "ui/comparison_export.h"

#include <QFile>
#include <QFileInfo>
#include <QPageSize>
#include <QPdfWriter>
#include <QTextDocument>

#include <sstream>

#include "ui/comparison_baselines_panel.h"
#include "ui/comparison_view.h"
#include "ui/text_diff.h"

namespace flux::ui {
namespace {

nlohmann::json runJson(const engine::RunReport& r) {
  return {{"started_at", r.started_at},
          {"model", r.model_name},
          {"backend", r.backend},
          {"route", r.settings.route},
          {"overrides", r.settings.overrides},
          {"sa_kind", engine::attention_mode_name(r.sparse.mode)},
          {"prompt_tokens", r.prompt_tokens},
          {"generated_tokens", r.tokens.size()},
          {"status", r.status},
          {"prefill_ms", r.summary.prefill_ms},
          {"decode_ms_per_token", r.summary.decode_ms_per_token},
          {"total_ms", r.summary.total_ms},
          {"ttft_ms", r.summary.ttft_ms},
          {"sa_fraction", r.summary.sa_fraction},
          {"output_text", r.output_text}};
}

std::string modeName(const std::optional<engine::LayerMode>& m) {
  return m ? engine::layer_mode_name(*m) : "";
}

// A speedup only where the runs are comparable (run_comparison.h), else null.
nlohmann::json speedupJson(double speedup, bool comparable) {
  return comparable ? nlohmann::json(speedup) : nlohmann::json();
}

QString cell(const QString& s) {
  return QStringLiteral("<td>%1</td>").arg(s.toHtmlEscaped());
}

// A CSV field: quoted, inner quotes doubled (outputs hold commas and newlines).
std::string csvField(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

const char* kHtmlHead =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>FluxScope comparison</title>\n<style>"
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
    "padding:2px 8px;text-align:left}.FA{background:#3b7dd8;color:#fff}.SA{background:#e88a1a;color:#fff}"
    ".diff{font-weight:bold}</style></head><body>\n";

// Writes `ext`'s form: bytes for json / csv / html, the HTML printed for pdf.
QString writeExport(const QString& path, const QString& ext, const QByteArray& bytes, const QString& html) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
    return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
  if (ext != QStringLiteral("pdf")) {
    if (f.write(bytes) != bytes.size() || !f.flush())
      return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
    return {};
  }
  f.close();
  QTextDocument doc;
  doc.setHtml(html);
  {
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setTitle(QStringLiteral("FluxScope comparison"));
    writer.setCreator(QStringLiteral("FluxScope"));
    doc.print(&writer);
  }
  if (QFileInfo(path).size() <= 0) return QObject::tr("Cannot write %1: the PDF is empty").arg(path);
  return {};
}

bool knownExtension(const QString& ext) {
  return ext == QStringLiteral("json") || ext == QStringLiteral("csv") || ext == QStringLiteral("html") ||
         ext == QStringLiteral("htm") || ext == QStringLiteral("pdf");
}

QString unknownExtension(const QString& path) {
  return QObject::tr("Cannot export to %1: use a .json, .csv, .html or .pdf file name").arg(path);
}

}  // namespace

nlohmann::json comparisonJson(const engine::RunReport& a, const engine::RunReport& b, const RunComparison& c) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerDelta& d : c.layers)
    layers.push_back({{"index", d.index},
                      {"mode_a", modeName(d.mode_a)},
                      {"mode_b", modeName(d.mode_b)},
                      {"ms_a", d.ms_a},
                      {"ms_b", d.ms_b},
                      {"delta_ms", d.delta_ms},
                      {"speedup", speedupJson(d.speedup, c.prefill_comparable)},
                      {"attention_delta_ms", d.attention_delta_ms},
                      {"noise", noiseName(d.noise)},
                      {"plan_differs", d.plan_differs}});
  return {{"schema_version", kComparisonSchemaVersion},
          {"kind", "comparison"},
          {"a", runJson(a)},
          {"b", runJson(b)},
          {"speedup",
           {{"prefill", speedupJson(c.prefill_speedup, c.prefill_comparable)},
            {"decode", speedupJson(c.decode_speedup, c.decode_comparable)},
            {"total", speedupJson(c.total_speedup, c.total_comparable)}}},
          {"decode_normalised_per_token", c.decode_normalised},
          {"differences", c.differences},
          {"runs", {{"a", c.runs_a}, {"b", c.runs_b}}},
          {"plan_differences", c.plan_differences},
          {"same_output", c.same_output},
          {"layers", layers}};
}

std::string comparisonCsv(const engine::RunReport& a, const engine::RunReport& b, const RunComparison& c) {
  std::ostringstream out;
  out.precision(17);
  out << "table,name,a,b,delta,speedup,mode_a,mode_b,plan_differs\n";
  // An empty speedup cell where the runs are not comparable (run_comparison.h).
  const auto speedup = [&](double v, bool comparable) {
    if (comparable) out << v;
  };
  const auto summary = [&](const char* name, double va, double vb, double v, bool comparable) {
    out << "summary," << name << ',' << va << ',' << vb << ',' << vb - va << ',';
    speedup(v, comparable);
    out << ",,,\n";
  };
  summary("prefill_ms", a.summary.prefill_ms, b.summary.prefill_ms, c.prefill_speedup, c.prefill_comparable);
  summary("decode_ms_per_token", a.summary.decode_ms_per_token, b.summary.decode_ms_per_token, c.decode_speedup,
          c.decode_comparable);
  summary("total_ms", a.summary.total_ms, b.summary.total_ms, c.total_speedup, c.total_comparable);
  for (const LayerDelta& d : c.layers) {
    out << "layer," << d.index << ',' << d.ms_a << ',' << d.ms_b << ',' << d.delta_ms << ',';
    speedup(d.speedup, c.prefill_comparable);
    out << ',' << modeName(d.mode_a) << ',' << modeName(d.mode_b) << ',' << (d.plan_differs ? 1 : 0) << '\n';
  }
  return out.str();
}

QString comparisonHtml(const engine::RunReport& a, const engine::RunReport& b, const RunComparison& c) {
  QString html = QString::fromLatin1(kHtmlHead);
  html +=
      QStringLiteral("<h1>FluxScope comparison — %1</h1>\n").arg(QString::fromStdString(b.model_name).toHtmlEscaped());
  if (const QString warning = comparabilityText(c); !warning.isEmpty())
    html += QStringLiteral("<p style=\"color:#d03030\"><b>%1</b></p>\n").arg(warning.toHtmlEscaped());
  html += QStringLiteral("<h2>Runs</h2>\n<table><tr><th></th><th>A</th><th>B</th><th>speedup (A/B)</th></tr>\n");
  const auto line = [&](const QString& name, const QString& va, const QString& vb, const QString& speedup) {
    html += QStringLiteral("<tr><th>%1</th>").arg(name.toHtmlEscaped()) + cell(va) + cell(vb) + cell(speedup) +
            QStringLiteral("</tr>\n");
  };
  const auto num = [](double v, int prec) { return QString::number(v, 'f', prec); };
  const auto route = [](const engine::RunReport& r) {
    return QString::fromStdString(r.settings.route +
                                  (r.settings.overrides.empty() ? "" : " + " + r.settings.overrides));
  };
  line(QStringLiteral("started"), QString::fromStdString(a.started_at), QString::fromStdString(b.started_at), {});
  line(QStringLiteral("route"), route(a), route(b), {});
  line(QStringLiteral("SA kind"), QString::fromLatin1(engine::attention_mode_name(a.sparse.mode)),
       QString::fromLatin1(engine::attention_mode_name(b.sparse.mode)), {});
  line(QStringLiteral("prompt tokens"), QString::number(a.prompt_tokens), QString::number(b.prompt_tokens), {});
  line(QStringLiteral("prefill ms"), num(a.summary.prefill_ms, 2), num(b.summary.prefill_ms, 2),
       speedupText(c.prefill_speedup, c.prefill_comparable));
  line(QStringLiteral("decode ms/token"), num(a.summary.decode_ms_per_token, 2), num(b.summary.decode_ms_per_token, 2),
       speedupText(c.decode_speedup, c.decode_comparable));
  line(QStringLiteral("total ms"), num(a.summary.total_ms, 1), num(b.summary.total_ms, 1),
       speedupText(c.total_speedup, c.total_comparable));
  line(QStringLiteral("SA fraction"), num(a.summary.sa_fraction, 3), num(b.summary.sa_fraction, 3), {});
  html += QStringLiteral(
              "</table>\n<h2>Per layer (%1 routed differently, in bold)</h2>\n<table><tr><th>layer</th>"
              "<th>mode A</th><th>mode B</th><th>A ms</th><th>B ms</th><th>Δ ms</th><th>speedup</th></tr>\n")
              .arg(c.plan_differences);
  for (const LayerDelta& d : c.layers) {
    const QString ma = QString::fromStdString(modeName(d.mode_a)), mb = QString::fromStdString(modeName(d.mode_b));
    html += QStringLiteral(
                "<tr%1><td>%2</td><td class=\"%3\">%3</td><td class=\"%4\">%4</td><td>%5</td><td>%6</td>"
                "<td>%7</td><td>%8</td></tr>\n")
                .arg(d.plan_differs ? QStringLiteral(" class=\"diff\"") : QString())
                .arg(d.index)
                .arg(ma, mb, num(d.ms_a, 3), num(d.ms_b, 3), num(d.delta_ms, 3),
                     speedupText(d.speedup, c.prefill_comparable));
  }
  const QList<DiffPiece> diff = diffWords(QString::fromStdString(a.output_text), QString::fromStdString(b.output_text));
  html += QStringLiteral("</table>\n<h2>Output diff (%1)</h2>\n")
              .arg(c.same_output
                       ? QStringLiteral("identical")
                       : QStringLiteral("%1 characters differ: struck through = only in A, underlined = only in B")
                             .arg(changedChars(diff)));
  html += diffHtml(diff);
  return html + QStringLiteral("\n</body></html>\n");
}

QString exportComparison(const engine::RunReport& a, const engine::RunReport& b, const QString& path) {
  return exportComparison(RunEntry{{}, {a}, {}}, RunEntry{{}, {b}, {}}, path);
}

QString exportComparison(const RunEntry& ea, const RunEntry& eb, const QString& path, const BaselineRun* baselines) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (!knownExtension(ext)) return unknownExtension(path);
  const RunComparison c = compare_runs(ea, eb);
  const engine::RunReport& a = ea.shown();
  const engine::RunReport& b = eb.shown();
  QString html = comparisonHtml(a, b, c);
  if (baselines) html.insert(html.lastIndexOf(QStringLiteral("</body>")), baselinesHtml(*baselines));
  QByteArray bytes;
  if (ext == QStringLiteral("json")) {
    nlohmann::json j = comparisonJson(a, b, c);
    if (baselines) j["baselines"] = baselinesJson(*baselines);
    bytes = QByteArray::fromStdString(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } else if (ext == QStringLiteral("csv")) {
    bytes = QByteArray::fromStdString(comparisonCsv(a, b, c) + (baselines ? "\n" + baselinesCsv(*baselines) : ""));
  } else {
    bytes = html.toUtf8();
  }
  return writeExport(path, ext, bytes, html);
}

QString exportBaselines(const BaselineRun& baselines, const QString& path) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (!knownExtension(ext)) return unknownExtension(path);
  const QString html = QString::fromLatin1(kHtmlHead) + baselinesHtml(baselines) + QStringLiteral("\n</body></html>\n");
  QByteArray bytes;
  if (ext == QStringLiteral("json")) {
    const nlohmann::json j = {
        {"schema_version", kComparisonSchemaVersion}, {"kind", "baselines"}, {"baselines", baselinesJson(baselines)}};
    bytes = QByteArray::fromStdString(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } else if (ext == QStringLiteral("csv")) {
    bytes = QByteArray::fromStdString(baselinesCsv(baselines));
  } else {
    bytes = html.toUtf8();
  }
  return writeExport(path, ext, bytes, html);
}

nlohmann::json baselinesJson(const BaselineRun& b) {
  const auto result = [](const BaselineResult& r) {
    return nlohmann::json{{"name", r.name},
                          {"seed", r.seed},
                          {"route", r.route},
                          {"sa_layers", r.sa_layers},
                          {"n_layers", r.n_layers},
                          {"prefill_ms", r.prefill_ms},
                          {"decode_ms_per_token", r.decode_ms_per_token},
                          {"passed", r.passed < 0 ? nlohmann::json() : nlohmann::json(r.passed == 1)},
                          {"output", r.output}};
  };
  nlohmann::json runs = nlohmann::json::array();
  for (const BaselineResult& r : b.results) runs.push_back(result(r));
  nlohmann::json rows = nlohmann::json::array();
  for (const BaselineRow& row : baselineRows(b))
    rows.push_back(
        {{"name", row.name},
         {"seeds", row.seeds},
         {"sa_layers", row.sa_layers},
         {"n_layers", row.n_layers},
         {"prefill_ms", {{"mean", row.prefill_ms}, {"spread", row.prefill_spread}}},
         {"decode_ms_per_token", {{"mean", row.decode_ms}, {"spread", row.decode_spread}}},
         {"passed", row.passed < 0 ? nlohmann::json() : nlohmann::json(row.passed)},
         {"pass_rate",
          row.passed < 0 ? nlohmann::json() : nlohmann::json{{"mean", row.pass_mean}, {"spread", row.pass_spread}}}});
  return {{"run", result(b.run)}, {"expected_answer", b.answer},
          {"total", b.total},     {"cancelled", b.cancelled},
          {"error", b.error},     {"runs", runs},
          {"summary", rows}};
}

std::string baselinesCsv(const BaselineRun& b) {
  std::ostringstream out;
  out.precision(17);
  out << "table,name,seed,sa_layers,n_layers,prefill_ms,decode_ms_per_token,passed,route,output\n";
  const auto line = [&](const BaselineResult& r) {
    out << "baseline," << csvField(r.name) << ',' << r.seed << ',' << r.sa_layers << ',' << r.n_layers << ','
        << r.prefill_ms << ',' << r.decode_ms_per_token << ','
        << (r.passed < 0 ? ""
            : r.passed   ? "1"
                         : "0")
        << ',' << csvField(r.route) << ',' << csvField(r.output) << '\n';
  };
  line(b.run);
  for (const BaselineResult& r : b.results) line(r);
  return out.str();
}

QString baselinesHtml(const BaselineRun& b) {
  QString html =
      QStringLiteral("<h2>Baselines of %1</h2>\n<p>%2 of %3 baseline runs%4%5</p>\n")
          .arg(QString::fromStdString(b.run.route).toHtmlEscaped())
          .arg(b.results.size())
          .arg(b.total)
          .arg(b.cancelled ? QStringLiteral(" (cancelled)") : QString())
          .arg(b.answer.empty()
                   ? QStringLiteral("; the prompt carries no expected answer")
                   : QStringLiteral("; expected answer %1").arg(QString::fromStdString(b.answer).toHtmlEscaped()));
  html += QStringLiteral(
      "<table><tr><th>route</th><th>seeds</th><th>SA layers</th><th>prefill ms</th><th>decode ms/token</th>"
      "<th>answer</th></tr>\n");
  for (const BaselineRow& row : baselineRows(b))
    html += QStringLiteral("<tr>") + cell(QString::fromStdString(row.name)) + cell(QString::number(row.seeds)) +
            cell(saLayersText(row.sa_layers, row.n_layers)) +
            cell(meanSpreadText(row.prefill_ms, row.prefill_spread, row.seeds, 1)) +
            cell(meanSpreadText(row.decode_ms, row.decode_spread, row.seeds, 2)) + cell(passText(row)) +
            QStringLiteral("</tr>\n");
  html += QStringLiteral(
      "</table>\n<h3>Every baseline run</h3>\n<table><tr><th>route</th><th>seed</th><th>route as run</th>"
      "<th>SA layers</th><th>prefill ms</th><th>output</th></tr>\n");
  for (const BaselineResult& r : b.results)
    html += QStringLiteral("<tr>") + cell(QString::fromStdString(r.name)) + cell(QString::number(r.seed)) +
            cell(QString::fromStdString(r.route)) + cell(saLayersText(r.sa_layers, r.n_layers)) +
            cell(QString::number(r.prefill_ms, 'f', 1)) + cell(QString::fromStdString(r.output)) +
            QStringLiteral("</tr>\n");
  return html + QStringLiteral("</table>\n");
}

}  // namespace flux::ui
