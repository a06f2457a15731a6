// Runs persist (issue 15 point 7) and Repeat ×N (point 4), with real runs on the demo model: the history (prompt,
// settings, plan, report) survives a restart as one JSON file per run in the runs folder; a corrupt file there is
// skipped with a warning; File → Open Report round-trips an exported report and refuses a wrong file clearly;
// Repeat ×3 keeps one entry with a median and spread, also after a restart; the context and threads controls
// reload the model keeping the prompt and the history.
#include <QDir>
#include <QFile>
#include <QItemSelectionModel>
#include <QListView>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QThread>
#include <QTest>

#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/app_log.h"
#include "ui/comparison_view.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"
#include "ui/run_store.h"

using flux::engine::RunReport;
using flux::ui::MainWindow;

namespace {

constexpr int kTimeoutMs = 180'000;

std::unique_ptr<MainWindow> loadedWindow() {
  auto w = flux::test::loadedDemoWindow(kTimeoutMs);
  w->runControls()->maxTokens()->setValue(2);
  w->runControls()->repeat()->setValue(1);
  return w;
}

RunReport runOnce(MainWindow& w) { return flux::test::runOnce(w, kTimeoutMs); }

int jsonFiles(const QString& folder) {
  return int(QDir(folder).entryList({QStringLiteral("*.json")}, QDir::Files).size());
}

}  // namespace

class RunPersistenceTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;

 private slots:
  void historySurvivesARestart() {
    const QString prompt = QStringLiteral("Name three colours of the rainbow.");
    std::string first_json;
    QString folder;
    {
      auto w = loadedWindow();
      folder = w->runStore().folder();
      QCOMPARE(w->history()->count(), 0);  // test_main gives every class an empty runs folder
      w->setPrompt(prompt);
      const RunReport r = runOnce(*w);
      QCOMPARE(QString::fromStdString(r.status), QStringLiteral("ok"));
      QCOMPARE(jsonFiles(folder), 1);
      first_json = r.to_json().dump();
    }
    MainWindow again;  // a restart: no model needed to see the history (read on a pool thread)
    QTRY_VERIFY(again.historyReady());
    QCOMPARE(again.history()->count(), 1);
    const flux::ui::RunEntry& e = again.history()->entry(0);
    QCOMPARE(QString::fromStdString(e.prompt), prompt);
    QCOMPARE(e.shown().to_json().dump(), first_json);  // settings, plan and report as they were
    QVERIFY(!e.shown().settings.route.empty());
  }

  void corruptFileIsSkippedWithAWarning() {
    const QString folder = flux::ui::RunStore::defaultFolder();
    int before = 0;
    {
      MainWindow first;
      QTRY_VERIFY(first.historyReady());  // the history is read on a pool thread
      before = first.history()->count();
    }
    QFile junk(QDir(folder).filePath(QStringLiteral("0000-junk.json")));
    QVERIFY(junk.open(QIODevice::WriteOnly));
    junk.write("{\"schema_version\": 2, \"status\": ");  // cut short
    junk.close();
    QFile other(QDir(folder).filePath(QStringLiteral("0001-other.json")));
    QVERIFY(other.open(QIODevice::WriteOnly));
    other.write("{\"hello\": 1}");  // JSON, but not a report
    other.close();
    MainWindow w;
    QTRY_VERIFY(w.historyReady());  // the warnings are written by the pool thread that reads the folder
    QCOMPARE(w.history()->count(), before);
    const QString log = flux::ui::readLogTail(1 << 16);
    QVERIFY2(log.contains(QStringLiteral("0000-junk.json")) && log.contains(QStringLiteral("[warning]")),
             qPrintable(log.right(2000)));
    QVERIFY(log.contains(QStringLiteral("0001-other.json")));
    QVERIFY(QFile::remove(junk.fileName()));
    QVERIFY(QFile::remove(other.fileName()));
  }

  // Runs of one second (started_at has whole seconds; names break ties by a random id) come back in the order
  // they were saved, and a Repeat's runs stay one entry.
  void sameSecondRunsKeepTheirOrderAndGroups() {
    QTemporaryDir dir;
    const flux::ui::RunStore store(dir.filePath(QStringLiteral("runs")));
    RunReport r;
    r.started_at = "2026-01-01T10:00:00Z";
    for (int i = 0; i < 6; ++i) {
      QCOMPARE(store.save(flux::ui::RunEntry{"single " + std::to_string(i), {r}, {}}), QString());
      QThread::msleep(3);
    }
    QCOMPARE(store.save(flux::ui::RunEntry{"repeat", {r, r, r}, "group-1"}), QString());
    const flux::ui::RunStore::Loaded loaded = store.load(100);
    QCOMPARE(int(loaded.entries.size()), 7);
    for (int i = 0; i < 6; ++i) QCOMPARE(loaded.entries[std::size_t(i)].prompt, "single " + std::to_string(i));
    QCOMPARE(loaded.entries.back().prompt, std::string("repeat"));
    QCOMPARE(loaded.entries.back().size(), 3);
  }

  void runsFolderKeepsTheNewestN() {
    const QString class_folder = flux::ui::RunStore::defaultFolder();
    QTemporaryDir dir;
    const flux::ui::RunStore store(dir.filePath(QStringLiteral("runs")));
    for (int i = 0; i < 5; ++i) {
      RunReport r;
      r.started_at = QStringLiteral("2026-01-0%1T10:00:00Z").arg(i + 1).toStdString();
      r.output_text = std::to_string(i);
      QCOMPARE(store.save(flux::ui::RunEntry{"prompt " + std::to_string(i), {r}, {}}), QString());
    }
    flux::ui::NeedleGrid grid;  // a needle grid in the folder is neither read as a run nor pruned
    grid.started_at = "2025-12-31T10:00:00Z";
    QVERIFY(!store.saveGrid(grid).isEmpty());
    const flux::ui::RunStore::Loaded loaded = store.load(3);
    QCOMPARE(loaded.removed, 2);
    QCOMPARE(int(loaded.entries.size()), 3);
    QCOMPARE(loaded.entries.front().prompt, std::string("prompt 2"));  // the newest three, oldest first
    QCOMPARE(loaded.entries.back().prompt, std::string("prompt 4"));
    QCOMPARE(jsonFiles(store.folder()), 3 + 1);
    QCOMPARE(store.grids().size(), 1);
    // The window reads it on a pool thread with the setting, and says what it removed.
    QSettings().setValue(QStringLiteral("runs/keep"), 2);
    flux::ui::RunStore::setDefaultFolder(store.folder());
    {
      MainWindow w;
      QSignalSpy loaded_spy(&w, &MainWindow::historyLoaded);
      QTRY_VERIFY(w.historyReady());
      QCOMPARE(w.history()->count(), 2);
      QCOMPARE(w.history()->entry(0).prompt, std::string("prompt 3"));
    }
    QSettings().remove(QStringLiteral("runs/keep"));
    QCOMPARE(jsonFiles(store.folder()), 2 + 1);
    flux::ui::RunStore::setDefaultFolder(class_folder);
  }

  void openReportRoundTripsAFile() {
    auto w = loadedWindow();
    w->setPrompt(QStringLiteral("Say hello."));
    const RunReport r = runOnce(*w);
    const QString path = dir_.filePath(QStringLiteral("exported.json"));
    QCOMPARE(w->exportReportTo(path), QString());
    MainWindow fresh;
    QTRY_VERIFY(fresh.historyReady());
    const int n = fresh.history()->count();
    QCOMPARE(fresh.openReportFile(path), QString());
    QCOMPARE(fresh.history()->count(), n + 1);
    QCOMPARE(fresh.history()->report(n).to_json().dump(), r.to_json().dump());
    QVERIFY(fresh.exportReportAction()->isEnabled());  // the opened report is shown and can be exported
    // Wrong files: clear messages naming the file, nothing added.
    const QString png = dir_.filePath(QStringLiteral("picture.json"));
    QFile p(png);
    QVERIFY(p.open(QIODevice::WriteOnly));
    p.write(QByteArray::fromHex("89504e470d0a1a0a0000000d49484452"));
    p.close();
    const QString not_json = fresh.openReportFile(png);
    QVERIFY2(not_json.contains(QStringLiteral("picture.json")) && not_json.contains(QStringLiteral("not a JSON")),
             qPrintable(not_json));
    const QString other = dir_.filePath(QStringLiteral("settings.json"));
    QFile o(other);
    QVERIFY(o.open(QIODevice::WriteOnly));
    o.write("{\"theme\": \"dark\"}");
    o.close();
    const QString not_report = fresh.openReportFile(other);
    QVERIFY2(not_report.contains(QStringLiteral("not a FluxScope run report")), qPrintable(not_report));
    QCOMPARE(fresh.history()->count(), n + 1);
  }

  void repeatThreeGivesMedianAndSpread() {
    auto w = loadedWindow();
    const QString folder = w->runStore().folder();
    const int files = jsonFiles(folder);
    const int entries = w->history()->count();
    w->setPrompt(QStringLiteral("Count to three."));
    QSignalSpy done(w.get(), &MainWindow::runCompleted);
    w->startRepeat(3);
    QVERIFY(done.wait(kTimeoutMs));
    QCOMPARE(done.size(), 1);  // one entry when all three are done
    QCOMPARE(w->history()->count(), entries + 1);
    const flux::ui::RunEntry e = w->history()->entry(entries);
    QCOMPARE(e.size(), 3);
    const flux::ui::Spread p = e.prefillMs();
    QCOMPARE(p.n, 3);
    QVERIFY(p.min <= p.median && p.median <= p.max);
    std::vector<double> values;
    for (const auto& r : e.runs) values.push_back(r.summary.prefill_ms);
    std::sort(values.begin(), values.end());
    QCOMPARE(p.median, values[1]);
    QCOMPARE(p.min, values[0]);
    QCOMPARE(p.max, values[2]);
    QCOMPARE(int(e.layerPrefillMs().size()), 30);
    const flux::ui::Spread attention = e.layerAttentionMs()[0];  // the attention op alone (engine's attention_ms)
    QCOMPARE(attention.n, 3);
    QVERIFY(attention.median > 0.0 && attention.max <= e.layerPrefillMs()[0].max);
    qInfo("repeat x3: prefill median %.1f ms (min %.1f, max %.1f)", p.median, p.min, p.max);
    const QString row = w->history()->data(w->history()->index(entries)).toString();
    QVERIFY2(row.contains(QStringLiteral("×3")), qPrintable(row));
    QCOMPARE(jsonFiles(folder), files + 3);  // one file per run
    // After a restart the three runs are one entry again.
    w.reset();
    MainWindow again;
    QTRY_VERIFY(again.historyReady());
    QCOMPARE(again.history()->count(), entries + 1);
    QCOMPARE(again.history()->entry(entries).size(), 3);
  }

  void repeatedEntriesCompareByTheirMedians() {
    auto w = loadedWindow();
    w->show();
    w->setPrompt(QStringLiteral("Name three colours of the rainbow."));
    const int first = w->history()->count();
    QSignalSpy done(w.get(), &MainWindow::runCompleted);
    w->setRoute(QStringLiteral("fa"), QString());
    w->startRepeat(3);
    QVERIFY(done.wait(kTimeoutMs));
    w->setRoute(QStringLiteral("sa"), QStringLiteral("0-3=FA"));
    w->startRepeat(3);
    QVERIFY(done.wait(kTimeoutMs));
    QCOMPARE(w->history()->count(), first + 2);
    QListView* view = w->historyView();
    view->selectionModel()->select(w->history()->index(first), QItemSelectionModel::ClearAndSelect);
    view->selectionModel()->select(w->history()->index(first + 1), QItemSelectionModel::Select);
    const flux::ui::RunComparison& c = w->comparison()->current();
    QCOMPARE(c.runs_a, 3);
    QCOMPARE(c.runs_b, 3);
    QVERIFY(c.prefill_comparable);  // same prompt, same setup: only the routing differs
    const flux::ui::RunEntry& a = w->history()->entry(first);
    const flux::ui::RunEntry& b = w->history()->entry(first + 1);
    QCOMPARE(c.prefill_speedup, a.prefillMs().median / b.prefillMs().median);
    QCOMPARE(c.layers[10].ms_a, a.layerPrefillMs()[10].median);
    for (const auto& d : c.layers) QVERIFY(d.noise != flux::ui::Noise::Unknown);
    int within = 0;
    for (const auto& d : c.layers) within += d.noise == flux::ui::Noise::Within;
    qInfo("FA x3 vs SA x3: prefill x%.2f (medians), %d of 30 layer deltas within noise", c.prefill_speedup, within);
    QVERIFY(w->comparison()->summaryText().contains(QStringLiteral("medians of 3 and 3 runs")));
    // FLUX_UI_GRAB_DIR=dir saves the window with this comparison shown (docs/app.md).
    if (const QByteArray grab_dir = qgetenv("FLUX_UI_GRAB_DIR"); !grab_dir.isEmpty()) {
      QCoreApplication::processEvents();
      QVERIFY(w->grab().save(QString::fromLocal8Bit(grab_dir) + QStringLiteral("/trusted-comparison.png")));
    }
    w->setRoute(QStringLiteral("fa"), QString());
  }

  void contextAndThreadsReloadKeepingPromptAndHistory() {
    auto w = loadedWindow();
    const QString prompt = QStringLiteral("Tell me a short fact about the moon.");
    w->setPrompt(prompt);
    runOnce(*w);
    const int entries = w->history()->count();
    QSignalSpy ready(w.get(), &MainWindow::modelReady);
    w->runControls()->contextSize()->setValue(1024);
    QVERIFY(ready.wait(kTimeoutMs));
    QCOMPARE(w->prompt()->toPlainText(), prompt);
    QCOMPARE(w->history()->count(), entries);
    const RunReport r = runOnce(*w);
    QCOMPARE(r.settings.context_length, 1024);
    w->runControls()->threads()->setValue(1);
    QVERIFY(ready.wait(kTimeoutMs));
    QCOMPARE(w->prompt()->toPlainText(), prompt);
    const RunReport one_thread = runOnce(*w);
    QCOMPARE(QString::fromStdString(one_thread.status), QStringLiteral("ok"));
    QCOMPARE(one_thread.settings.context_length, 1024);
    // Back to the defaults (saved settings are shared with the classes after this one).
    w->runControls()->contextSize()->setValue(0);
    QVERIFY(ready.wait(kTimeoutMs));
    w->runControls()->threads()->setValue(0);
    QVERIFY(ready.wait(kTimeoutMs));
    QCOMPARE(runOnce(*w).settings.context_length, 8192);
  }
};

int runRunPersistenceTest(int argc, char** argv) {
  RunPersistenceTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "run_persistence_test.moc"
