// Test helpers of the Qt Tests that drive real runs: a window (no error dialogs) with a model loaded and its runs
// folder read (that read runs on a pool thread: history counts start after it), one run of the current prompt, and
// the check that a normal run still works after a cancelled or failed action.
#pragma once

#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>

#include <memory>

#include "engine/runtime/run_report.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"

namespace flux::test {

inline const QString kDemoModel = QStringLiteral(FLUX_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf");

// `shown`: the window is shown first (tests that read widget geometry or rich-text rendering need it).
inline std::unique_ptr<ui::MainWindow> loadedWindow(const QString& model, int timeout_ms, bool shown = false) {
  auto w = std::make_unique<ui::MainWindow>();
  w->setErrorDialogs(false);
  if (shown) w->show();
  QSignalSpy ready(w.get(), &ui::MainWindow::modelReady);
  w->openModel(model);
  [&] { QVERIFY(ready.wait(timeout_ms)); }();
  [&] { QTRY_VERIFY_WITH_TIMEOUT(w->historyReady(), timeout_ms); }();
  return w;
}

inline std::unique_ptr<ui::MainWindow> loadedDemoWindow(int timeout_ms, bool shown = false) {
  return loadedWindow(kDemoModel, timeout_ms, shown);
}

// Runs the current prompt (with `max_new_tokens` when > 0, else the window's setting) and returns the finished
// report; an empty report (and a failed check) when the run does not finish in time.
inline engine::RunReport runOnce(ui::MainWindow& w, int timeout_ms, int max_new_tokens = 0) {
  if (max_new_tokens > 0) w.runControls()->maxTokens()->setValue(max_new_tokens);
  QSignalSpy done(&w, &ui::MainWindow::runCompleted);
  w.startRun();
  [&] { QVERIFY(done.wait(timeout_ms)); }();
  return done.isEmpty() ? engine::RunReport{} : done.takeFirst().at(0).value<engine::RunReport>();
}

// After a Stop or an error: the window is idle and a short run of a plain prompt finishes "ok".
inline void checkANormalRunWorks(ui::MainWindow& w, int timeout_ms) {
  QVERIFY(!w.isRunning());
  w.setPrompt(QStringLiteral("Say hello."));
  const engine::RunReport r = runOnce(w, timeout_ms, 2);
  QCOMPARE(QString::fromStdString(r.status), QStringLiteral("ok"));
}

}  // namespace flux::test
