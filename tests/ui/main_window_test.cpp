// End-to-end GUI tests on the real demo model: load → run fills the layer map and charts as the report says;
// overrides reach the next RunRequest and report; Stop right after Run leaves the app usable; JSON export equals
// the report, PDF export is a real PDF; two history entries open the comparison (and export it); the log file has
// the engine's lines; the status bar shows prefill progress with an ETA; the output keeps token boundaries; charts
// zoom and reset; Ctrl+Return / Esc run and stop; the dark palette is dark everywhere.
#include <QApplication>
#include <QChart>
#include <QCheckBox>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QValueAxis>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/app_log.h"
#include "ui/comparison_export.h"
#include "ui/comparison_view.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"
#include "ui/timing_charts.h"
#include "ui/token_output_view.h"
#include "ui/zoomable_chart_view.h"

using flux::engine::DecisionSource;
using flux::engine::LayerMode;
using flux::engine::RunReport;
using flux::ui::LayerTableModel;

namespace {

constexpr int kLoadTimeoutMs = 180'000;
constexpr int kRunTimeoutMs = 180'000;
const QString kModel = flux::test::kDemoModel;

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<flux::ui::MainWindow> w_;
  QString marker_;

  // Runs the current prompt and returns the finished report.
  RunReport runOnce(int max_new_tokens) { return flux::test::runOnce(*w_, kRunTimeoutMs, max_new_tokens); }

 private slots:
  void initTestCase() {
    if (!QFileInfo::exists(kModel))
      QFAIL(qPrintable(QStringLiteral("missing %1: run tools/fetch-demo-model.sh").arg(kModel)));
    w_ = std::make_unique<flux::ui::MainWindow>();
    marker_ = QStringLiteral("main window test %1").arg(QDateTime::currentMSecsSinceEpoch());
    spdlog::info("{}", marker_.toStdString());
    w_->setErrorDialogs(false);
    w_->show();
    QSignalSpy ready(w_.get(), &flux::ui::MainWindow::modelReady);
    QSignalSpy errors(w_.get(), &flux::ui::MainWindow::errorShown);
    w_->openModel(kModel);
    QVERIFY(ready.wait(kLoadTimeoutMs));
    QVERIFY(errors.isEmpty());
    QTRY_VERIFY(w_->historyReady());  // the runs folder is read on a pool thread: history counts start after it
    QCOMPARE(w_->layerModel()->rowCount(), 30);
    w_->setPrompt(QStringLiteral("Name three colours of the rainbow."));
  }

  void promptTokensAreCounted() {
    QSignalSpy counted(w_.get(), &flux::ui::MainWindow::promptTokensCounted);
    w_->setPrompt(QStringLiteral("Name three primary colours."));
    QVERIFY(counted.wait(30'000));
    QVERIFY(counted.last().at(0).toInt() > 5);
    QVERIFY(counted.last().at(1).toInt() >= 2048);
    QVERIFY(w_->tokenCount()->text().contains(QStringLiteral(" / ")));
    // The count is what the model will see: the chat template adds its tokens, a long system prompt adds more.
    const int with_chat = counted.last().at(0).toInt();
    w_->runControls()->chat()->setChecked(false);
    QVERIFY(counted.wait(30'000));
    const int plain = counted.last().at(0).toInt();
    QVERIFY2(plain < with_chat, qPrintable(QStringLiteral("%1 vs %2").arg(plain).arg(with_chat)));
    w_->runControls()->chat()->setChecked(true);
    QVERIFY(counted.wait(30'000));
    QCOMPARE(counted.last().at(0).toInt(), with_chat);
    // Longer than SmolLM2's default system message, which the template uses when none is given.
    w_->runControls()->systemPrompt()->setText(
        QStringLiteral("You are a careful assistant who answers every question about colours, paints and light with "
                       "exactly three words, in lower case, and nothing else at all."));
    QVERIFY(counted.wait(30'000));
    QVERIFY(counted.last().at(0).toInt() > with_chat);
    w_->runControls()->systemPrompt()->clear();
    QVERIFY(counted.wait(30'000));
  }

  void modelSummaryNamesTheModel() {
    const QString s = w_->modelLabel()->text();
    for (const char* part :
         {"llama", "30 layers", "9/3 heads", "context 8192", "Q4_1", "router: none", "SA kind streaming"})
      QVERIFY2(s.contains(QString::fromLatin1(part)),
               qPrintable(s + QStringLiteral(" lacks ") + QString::fromLatin1(part)));
  }

  void runFillsLayerMapAndCharts() {
    QSignalSpy rows(w_->layerModel(), &QAbstractItemModel::dataChanged);
    QSignalSpy status(w_->statusBar(), &QStatusBar::messageChanged);
    const RunReport r = runOnce(6);
    QCOMPARE(QString::fromStdString(r.status), QStringLiteral("ok"));
    QCOMPARE(int(r.layers.size()), 30);
    QVERIFY(rows.count() >= 30);  // one update per prefilled layer while the run went on
    LayerTableModel* m = w_->layerModel();
    QCOMPARE(m->rowCount(), 30);
    const QList<double> fa = w_->charts()->prefillValues(LayerMode::FA);
    const QList<double> sa = w_->charts()->prefillValues(LayerMode::SA);
    QCOMPARE(fa.size(), 30);
    for (int i = 0; i < 30; ++i) {
      const auto& l = r.layers[std::size_t(i)];
      QCOMPARE(l.index, i);
      QCOMPARE(m->data(m->index(i, LayerTableModel::ColMode)).toString(), QString::fromLatin1(layer_mode_name(l.mode)));
      QCOMPARE(m->data(m->index(i, LayerTableModel::ColPrefillMs), LayerTableModel::RawRole).toDouble(), l.prefill_ms);
      QCOMPARE(m->data(m->index(i, LayerTableModel::ColKv), LayerTableModel::RawRole).toULongLong(),
               qulonglong(l.kv_bytes));
      QCOMPARE(fa[i], l.mode == LayerMode::FA ? l.prefill_ms - l.router_ms : 0.0);
      QCOMPARE(sa[i], l.mode == LayerMode::SA ? l.prefill_ms - l.router_ms : 0.0);
      QCOMPARE(w_->charts()->routerValues()[i], l.router_ms);
    }
    // Prefill progress with an ETA went through the status bar, once per layer.
    int eta_messages = 0;
    for (const auto& args : status) eta_messages += args.at(0).toString().contains(QStringLiteral("· ETA "));
    QCOMPARE(eta_messages, 30);
    // The output shows the tokens with their boundaries.
    const auto& spans = w_->output()->spans();
    QCOMPARE(int(spans.size()), int(r.tokens.size()));
    for (std::size_t i = 0; i < spans.size(); ++i) QCOMPARE(spans[i].token.id, r.tokens[i].id);
    QCOMPARE(w_->output()->toPlainText(), QString::fromStdString(r.output_text));
    // Cumulative time: after token i, the sum of the times of tokens 0..i (token 0 is the TTFT).
    const QList<QPointF> cumulative = w_->charts()->cumulativePoints();
    QCOMPARE(cumulative.size(), int(r.tokens.size()));
    double sum = 0.0;
    for (int i = 0; i < cumulative.size(); ++i) {
      sum += r.tokens[std::size_t(i)].ms;
      QCOMPARE(cumulative[i], QPointF(i, sum));
    }
    QCOMPARE(cumulative[0].y(), r.summary.ttft_ms);
    const QList<QPointF> points = w_->charts()->decodePoints();
    QVERIFY(!r.tokens.empty());
    QCOMPARE(points.size(), int(r.tokens.size()) - 1);
    for (int i = 0; i < points.size(); ++i) {
      QCOMPARE(points[i].x(), double(i + 1));
      QCOMPARE(points[i].y(), r.tokens[std::size_t(i + 1)].ms);
    }
    const QString headline = w_->charts()->headline();
    QVERIFY(headline.contains(QStringLiteral("TTFT %1 ms").arg(r.summary.ttft_ms, 0, 'f', 1)));
    QVERIFY(headline.contains(QStringLiteral("decode %1 tok/s").arg(r.summary.decode_tokens_per_s, 0, 'f', 1)));
    QVERIFY(headline.contains(QStringLiteral("SA 0%")));
    QVERIFY(!w_->isRunning());
  }

  void chartsZoomAndReset() {
    auto* view = w_->charts()->prefillView();
    auto* axis = qobject_cast<QValueAxis*>(view->chart()->axes(Qt::Horizontal).value(0));
    QVERIFY(axis);
    const double min = axis->min(), max = axis->max();
    QCOMPARE(max - min, 30.0);
    view->zoomBy(2.0);
    QVERIFY2(axis->max() - axis->min() < 16.0, qPrintable(QString::number(axis->max() - axis->min())));
    view->panBy(50.0, 0.0);
    QVERIFY(axis->min() > min);
    view->resetZoom();
    QCOMPARE(axis->min(), min);
    QCOMPARE(axis->max(), max);
  }

  void darkPaletteIsDarkEverywhere() {
    w_->setDark(true);
    const QPalette p = QApplication::palette();
    QVERIFY(p.color(QPalette::Window).lightness() < 80);
    QVERIFY(p.color(QPalette::Base).lightness() < 80);
    QVERIFY(p.color(QPalette::Text).lightness() > 180);
    QVERIFY(p.color(QPalette::Midlight).lightness() < 128);  // the router-probability bar's track
    QVERIFY(p.color(QPalette::Disabled, QPalette::Text).lightness() < p.color(QPalette::Text).lightness());
    QCOMPARE(w_->charts()->prefillView()->chart()->theme(), QChart::ChartThemeDark);
    QVERIFY(w_->charts()->prefillView()->backgroundBrush().color().lightness() < 80);
    w_->setDark(false);
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 180);
    QCOMPARE(w_->charts()->prefillView()->chart()->theme(), QChart::ChartThemeLight);
    QVERIFY(w_->charts()->prefillView()->backgroundBrush().color().lightness() > 180);
  }

  void overrideChangesNextRun() {
    w_->layerMap()->setPreset(QStringLiteral("sa"));
    // Force layers 0-3 FA through the view's selection, as the context menu does.
    QTableView* view = w_->layerMap()->view();
    view->clearSelection();
    for (int row = 0; row < 4; ++row)
      view->selectionModel()->select(w_->layerModel()->index(row, 0),
                                     QItemSelectionModel::Select | QItemSelectionModel::Rows);
    w_->layerMap()->forceSelected(0);
    QCOMPARE(w_->layerModel()->overridesText(), QStringLiteral("0-3=FA"));
    // The plan of the next run is visible before running.
    QCOMPARE(w_->layerMap()->planSummary(), QStringLiteral("Next run: 4 FA · 26 SA (SA = streaming) · 4 overridden"));
    const RunReport r = runOnce(3);
    const auto& request = w_->lastRequest();
    QCOMPARE(request.route.preset, std::string("sa"));
    QCOMPARE(request.settings.overrides, std::string("0-3=FA"));
    QCOMPARE(request.settings.route, flux::engine::describe(request.route));
    const flux::engine::RoutingPlan plan = flux::engine::resolve(request.route, 30, flux::engine::RouteDefaults{});
    QCOMPARE(int(plan.layers.size()), 30);
    QCOMPARE(int(r.layers.size()), 30);
    for (int i = 0; i < 30; ++i) {
      const bool forced = i < 4;
      QCOMPARE(plan.layers[std::size_t(i)].mode, forced ? LayerMode::FA : LayerMode::SA);
      QCOMPARE(plan.layers[std::size_t(i)].source, forced ? DecisionSource::Override : DecisionSource::Default);
      QCOMPARE(r.layers[std::size_t(i)].mode, forced ? LayerMode::FA : LayerMode::SA);
      QCOMPARE(r.layers[std::size_t(i)].source, forced ? DecisionSource::Override : DecisionSource::Default);
    }
    QCOMPARE(w_->charts()->prefillValues(LayerMode::SA)[10], r.layers[10].prefill_ms);
    // Back to all-FA without overrides for the next tests.
    w_->setRoute(QStringLiteral("fa"), QString());
    QCOMPARE(w_->layerModel()->plan().sa_fraction(), 0.0);
  }

  void scriptedRouteParsesLikeTheCli() {
    w_->setRoute(QStringLiteral("first-k:6"), QStringLiteral("20-24=FA,2=SA"));
    const auto plan = w_->layerModel()->plan();
    QCOMPARE(plan.layers[2].mode, LayerMode::SA);
    QCOMPARE(plan.layers[2].source, DecisionSource::Override);
    QCOMPARE(plan.layers[5].mode, LayerMode::FA);
    QCOMPARE(plan.layers[6].mode, LayerMode::SA);
    QCOMPARE(plan.layers[22].mode, LayerMode::FA);
    QCOMPARE(plan.layers[22].source, DecisionSource::Override);
    QCOMPARE(w_->layerModel()->overridesText(), QStringLiteral("2=SA,20-24=FA"));
    QVERIFY_THROWS_EXCEPTION(flux::engine::Error, w_->setRoute(QStringLiteral("fa"), QStringLiteral("40=SA")));
    w_->setRoute(QStringLiteral("fa"), QString());
    QCOMPARE(w_->layerModel()->overridesText(), QString());
  }

  void stopRightAfterRunLeavesAppUsable() {
    w_->runControls()->maxTokens()->setValue(200);
    QSignalSpy done(w_.get(), &flux::ui::MainWindow::runCompleted);
    w_->startRun();
    QVERIFY(w_->isRunning());
    w_->stopRun();
    QVERIFY(done.wait(kRunTimeoutMs));
    const RunReport cancelled = done.takeFirst().at(0).value<RunReport>();
    QCOMPARE(QString::fromStdString(cancelled.status), QStringLiteral("cancelled"));
    QVERIFY(!w_->isRunning());
    const RunReport again = runOnce(3);
    QCOMPARE(QString::fromStdString(again.status), QStringLiteral("ok"));
    QCOMPARE(int(again.layers.size()), 30);
  }

  void stopDuringDecodeKeepsWhatWasDone() {
    w_->runControls()->maxTokens()->setValue(200);
    QSignalSpy done(w_.get(), &flux::ui::MainWindow::runCompleted);
    w_->startRun();
    // The output is cleared when the engine starts the run; then the first decoded token reaches it.
    QTRY_VERIFY_WITH_TIMEOUT(w_->charts()->headline().contains(QStringLiteral("Running")), kRunTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!w_->output()->toPlainText().isEmpty(), kRunTimeoutMs);
    w_->stopRun();
    QVERIFY(done.wait(kRunTimeoutMs));
    const RunReport r = done.takeFirst().at(0).value<RunReport>();
    QCOMPARE(QString::fromStdString(r.status), QStringLiteral("cancelled"));
    QCOMPARE(int(r.layers.size()), 30);
    QVERIFY(!r.tokens.empty());
    QVERIFY(int(r.tokens.size()) < 200);
    QCOMPARE(w_->output()->toPlainText(), QString::fromStdString(r.output_text));
    QVERIFY(!w_->isRunning());
  }

  void exportWritesTheReport() {
    const int n = w_->history()->count();
    QVERIFY(n >= 2);
    const RunReport& shown = w_->history()->report(n - 1);
    QTemporaryDir dir;
    const QString json_path = dir.filePath(QStringLiteral("report.json"));
    QCOMPARE(w_->exportReportTo(json_path), QString());
    QFile f(json_path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const nlohmann::json written = nlohmann::json::parse(f.readAll().toStdString());
    QVERIFY(written == shown.to_json());
    const QString html_path = dir.filePath(QStringLiteral("report.html"));
    QCOMPARE(w_->exportReportTo(html_path), QString());
    QFile h(html_path);
    QVERIFY(h.open(QIODevice::ReadOnly));
    const QByteArray html = h.readAll();
    QVERIFY(html.contains("<svg"));
    QVERIFY(html.contains("Routing plan"));
    QVERIFY(!w_->exportReportTo(QStringLiteral("/nonexistent-dir/x/report.json")).isEmpty());
    const QString pdf_path = dir.filePath(QStringLiteral("report.pdf"));
    QCOMPARE(w_->exportReportTo(pdf_path), QString());
    QFile pdf(pdf_path);
    QVERIFY(pdf.open(QIODevice::ReadOnly));
    const QByteArray pdf_bytes = pdf.readAll();
    QVERIFY(pdf_bytes.startsWith("%PDF"));
    QVERIFY2(pdf_bytes.size() > 20'000,
             qPrintable(QString::number(pdf_bytes.size())));  // text, tables and a chart image
    QVERIFY(!w_->exportReportTo(QStringLiteral("/nonexistent-dir/x/report.pdf")).isEmpty());
    QVERIFY(!w_->exportReportTo(dir.filePath(QStringLiteral("report.txt"))).isEmpty());
    const QString csv_path = dir.filePath(QStringLiteral("report.csv"));
    QCOMPARE(w_->exportReportTo(csv_path), QString());
    QFile c(csv_path);
    QVERIFY(c.open(QIODevice::ReadOnly));
    QCOMPARE(c.readAll().toStdString(), shown.to_csv());
    const QString svg_path = dir.filePath(QStringLiteral("charts.svg"));
    const QString png_path = dir.filePath(QStringLiteral("charts.png"));
    QVERIFY(w_->charts()->exportSvg(svg_path));
    QVERIFY(w_->charts()->exportPng(png_path));
    QFile svg(svg_path);
    QVERIFY(svg.open(QIODevice::ReadOnly));
    QVERIFY(svg.readAll().contains("<svg"));
    QVERIFY(QImage(png_path).width() > 0);
  }

  void historySelectionShowsAndCompares() {
    QListView* view = w_->historyView();
    const int n = w_->history()->count();
    QVERIFY(n >= 2);
    view->selectionModel()->select(w_->history()->index(0), QItemSelectionModel::ClearAndSelect);
    const RunReport& first = w_->history()->report(0);
    QCOMPARE(w_->charts()->prefillValues(LayerMode::FA)[0], first.layers[0].prefill_ms);
    view->selectionModel()->select(w_->history()->index(1), QItemSelectionModel::Select);
    QCOMPARE(view->selectionModel()->selectedRows().size(), 2);
    const auto expected = flux::ui::compare_runs(w_->history()->report(0), w_->history()->report(1));
    const auto& shown = w_->comparison()->current();
    QCOMPARE(int(shown.layers.size()), 30);
    QCOMPARE(shown.plan_differences, expected.plan_differences);
    QCOMPARE(shown.plan_differences, 26);  // run 1 all FA, run 2 SA except the forced 0-3
    QCOMPARE(shown.layers[5].delta_ms, expected.layers[5].delta_ms);
    QCOMPARE(shown.prefill_speedup, expected.prefill_speedup);
    QCOMPARE(shown.layers[5].speedup, expected.layers[5].speedup);
    QTableWidget* table = w_->comparison()->table();
    QCOMPARE(table->rowCount(), 30);
    QCOMPARE(table->item(5, 3)->text(), QStringLiteral("≠"));
    QCOMPARE(table->item(1, 3)->text(), QStringLiteral("="));
    QCOMPARE(table->item(5, 6)->text(), QString::number(expected.layers[5].delta_ms, 'f', 2));
    QVERIFY(w_->comparison()->diffView()->toPlainText().contains(QStringLiteral("Output diff")));
    // FLUX_UI_GRAB_DIR=dir saves the window with the comparison shown, to look at it.
    if (const QByteArray grab_dir = qgetenv("FLUX_UI_GRAB_DIR"); !grab_dir.isEmpty())
      QVERIFY(w_->grab().save(QString::fromLocal8Bit(grab_dir) + QStringLiteral("/comparison.png")));
    // The comparison exports like a run: JSON with the same numbers.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("comparison.json"));
    QCOMPARE(w_->exportComparisonTo(path), QString());
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto j = nlohmann::json::parse(f.readAll().toStdString());
    QCOMPARE(j.at("plan_differences").get<int>(), 26);
    QCOMPARE(j.at("speedup").at("prefill").get<double>(), expected.prefill_speedup);
    QCOMPARE(j.at("layers")[5].at("delta_ms").get<double>(), expected.layers[5].delta_ms);
    QCOMPARE(w_->exportComparisonTo(dir.filePath(QStringLiteral("comparison.pdf"))), QString());
  }

  void runSettingsReachTheReport() {
    flux::engine::RunSettings s = w_->runControls()->settings();
    s.sampler.temperature = 0.7f;
    s.sampler.top_k = 20;
    s.sampler.top_p = 0.5f;
    s.sampler.seed = 1234;
    s.system_prompt = "Answer briefly.";
    w_->runControls()->setSettings(s);
    const RunReport r = runOnce(3);
    QCOMPARE(r.settings.sampler.top_k, 20);
    QCOMPARE(r.settings.sampler.top_p, 0.5f);
    QCOMPARE(r.settings.sampler.seed, uint64_t(1234));
    QCOMPARE(r.settings.sampler.temperature, 0.7f);
    QCOMPARE(r.settings.system_prompt, std::string("Answer briefly."));
    QVERIFY(r.settings.chat);
    // Same seed and settings: the same tokens (reproducible runs).
    const RunReport again = runOnce(3);
    QCOMPARE(again.output_text, r.output_text);
    s.sampler.temperature = 0.0f;
    s.system_prompt.clear();
    w_->runControls()->setSettings(s);
  }

  void shortcutsRunAndStop() {
    w_->runControls()->maxTokens()->setValue(200);
    w_->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(w_.get()));
    w_->prompt()->setFocus();
    QSignalSpy done(w_.get(), &flux::ui::MainWindow::runCompleted);
    QTest::keyClick(w_->prompt(), Qt::Key_Return, Qt::ControlModifier);
    QVERIFY(w_->isRunning());
    QVERIFY(!w_->prompt()->toPlainText().contains(QLatin1Char('\n')));  // the shortcut, not a newline
    QTest::keyClick(w_->prompt(), Qt::Key_Escape);
    QVERIFY(done.wait(kRunTimeoutMs));
    QCOMPARE(QString::fromStdString(done.takeFirst().at(0).value<RunReport>().status), QStringLiteral("cancelled"));
    QVERIFY(!w_->isRunning());
  }

  void logFileHasEngineLines() {
    // The engine's own spdlog line for the load made in initTestCase, after this run's marker.
    const QString text = flux::ui::readLogTail(8 << 20);
    const qsizetype marker = text.lastIndexOf(marker_);
    QVERIFY2(marker >= 0, qPrintable(flux::ui::logFilePath()));
    QVERIFY(text.indexOf(QStringLiteral("loaded ") + kModel, marker) > marker);
    QVERIFY(text.indexOf(QStringLiteral("Model loaded"), marker) > marker);  // and the app's own lines
  }

  // Hostile prompts reach the engine through the same path as a normal run; the engine's message is what the error
  // dialog shows (errorShown carries it), no run is added, and the window stays usable (docs/reliability.md).
  void hostilePromptsShowTheEngineError() {
    QSignalSpy errors(w_.get(), &flux::ui::MainWindow::errorShown);
    QSignalSpy done(w_.get(), &flux::ui::MainWindow::runCompleted);
    const int runs = w_->history()->count();
    w_->setPrompt(QStringLiteral("  \n\t "));
    w_->startRun();
    QVERIFY(errors.wait(kRunTimeoutMs));
    QCOMPARE(errors.takeFirst().at(0).toString(), QStringLiteral("the prompt is empty"));
    QVERIFY(!w_->isRunning());
    w_->setPrompt(QStringLiteral("word ").repeated(9000));  // ~9000 tokens; SmolLM2's context holds 8192
    w_->startRun();
    QVERIFY(errors.wait(kRunTimeoutMs));
    const QString over = errors.takeFirst().at(0).toString();
    QVERIFY2(over.contains(QStringLiteral("but the context holds")), qPrintable(over));
    QVERIFY(!w_->isRunning());
    QVERIFY(done.isEmpty());
    QCOMPARE(w_->history()->count(), runs);
    w_->setPrompt(QStringLiteral("Name three colours of the rainbow."));
    const RunReport after = runOnce(2);
    QCOMPARE(QString::fromStdString(after.status), QStringLiteral("ok"));
  }

  void cleanupTestCase() { w_.reset(); }
};

int runMainWindowTest(int argc, char** argv) {
  MainWindowTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "main_window_test.moc"
